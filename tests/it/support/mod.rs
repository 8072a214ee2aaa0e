//! Helpers shared by the integration tests: fresh databases, and real peers as private
//! instances in a tempdir.

pub mod db;
// A private Postfix on loopback ports, in front of a milter.
pub mod postfix;
// A private Dovecot (LMTP, IMAP, Pigeonhole) reading the files `apply` wrote.
pub mod dovecot;
// A private Rspamd reading a SpamAssassin ruleset through the contrib spamassassin.conf.
pub mod rspamd;
