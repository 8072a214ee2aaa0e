//! The one integration-test binary. Each module tests one part of the product against real
//! peers (databases, Postfix, Dovecot, SpamAssassin, Rspamd) that `scripts/test` installs and starts.

mod support;

// The pure modules do no I/O.
mod architecture;
// The store suite on SQLite, PostgreSQL and MariaDB.
mod store;
// Every role against every write operation.
mod privileges;
// The CLI as a user runs it: one-line errors, nothing written on bad input, serve.
mod cli;
// The REST API on the admin listener.
mod api;
// Thunderbird/Outlook/Apple answers, their DNS records and the connectivity checker.
mod autoconfig;
// The milter in-process (indymilter-test) and behind a private Postfix (swaks).
mod milter;
// `spam explain` / `policy explain` output, golden files.
mod spam;
// Sieve scripts (sievec, sieve-test), the apply writer (postmap, sievec), delivery through a
// private Dovecot.
mod mailstack;
// The rule engine against SpamAssassin as the oracle, and hostile input.
mod rules;
// The Rspamd export loaded into a private Rspamd 3.4.
mod rspamd;
// Rule channels: `rules update`/`publish` against loopback DNS and HTTP, SpamAssassin, sa-update.
mod updates;
