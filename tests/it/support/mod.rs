//! Helpers shared by the integration tests, and private instances of the real programs.

pub mod db;
// A private Dovecot (LMTP, IMAP, Pigeonhole) reading the files `apply` wrote.
pub mod dovecot;
pub mod postfix;
