//! Private instances of the real programs the integration tests talk to.

pub mod dovecot;
