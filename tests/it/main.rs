//! The one integration-test binary. Each module tests one part of the product against real
//! peers (databases, Postfix, Dovecot, SpamAssassin) that `scripts/test` installs and starts.

mod support;

// The pure modules do no I/O.
mod architecture;
// The store suite on SQLite, PostgreSQL and MariaDB.
mod store;
// Every role against every write operation.
mod privileges;
// The CLI as a user runs it: one-line errors, nothing written on bad input, serve.
mod cli;
// Rule channels: `rules update`/`publish` against loopback DNS and HTTP, SpamAssassin, sa-update.
mod updates;
