//! mailward: the mail half of a hosting control panel, as one daemon and CLI next to Postfix
//! and Dovecot.
//!
//! # Code map
//!
//! The layout follows the parts in `DESIGN.md`. Modules are either **pure** (plain data in,
//! plain data out: no files, sockets, clocks or databases) or **edges** (they do I/O and call
//! the pure ones). `tests/architecture.rs` checks that pure modules import no tokio, sqlx,
//! axum, reqwest, hickory or indymilter.
//!
//! - `model` (pure): the product's data: accounts and limits, domains, mailboxes, aliases,
//!   filters, spam policies (with the seven ISPConfig presets), server sets, sites, DNS zones,
//!   change-log entries; and `model::names`, which validates and canonicalises domain names and
//!   addresses (lowercase, punycode). Invariant: no read type carries a password or hash.
//! - `access` (pure): who may do what. `access::authorize(actor, operation, scope)` is the only
//!   privilege decision; `access::check_limit` is the only limit decision. Invariant: knows
//!   nothing of storage; callers pass the ownership scope and the current counts.
//! - `config` (pure parse + one file read at the edge): the TOML file, a serde mirror
//!   (`RawConfig`) validated into `Config`; every error is collected with its key.
//! - `store` (edge): every SQL statement of the project, for SQLite, PostgreSQL and MariaDB
//!   through sqlx's `Any` driver, with per-backend migrations. Invariant: each write runs in one
//!   transaction that checks limits (via `access::check_limit`) and appends to the change log;
//!   nothing outside `store` builds SQL.
//! - `control` (edge, thin): the operations the CLI, API and panel share: validate input, load
//!   the ownership scope, `access::authorize`, then call the store. Invariant: every write path
//!   goes through it, so privileges and limits are enforced in one place.
//! - `cli` (edge): `mailward <noun> <verb>` argument parsing and output (`--json`).
//! - `serve` (edge): the daemon: data directory, first-start admin, listeners, shutdown.
//! - `password` (pure): Dovecot-verifiable password hashes (`{ARGON2ID}`) and one-time passwords.
//! - `updates` (pure core + edges): sa-update compatible rule channels. `updates::update` (the
//!   client), `updates::publish::publish` (a channel from a rule directory), `updates::schedule`
//!   (the hourly check for `serve`), `updates::cli` (`rules update|publish|rollback`). Pure:
//!   `channel`, `mirrors`, `verify`, `signature`, `extract`. Invariants: a tarball is unpacked
//!   in memory and checked whole (flat, safe names, caps, no links) before anything is
//!   written; a channel is written and linted in a staging directory and switched in by
//!   renames, so every failure leaves the installed rules as they were; the previous version
//!   is kept for rollback; linting goes through the `updates::lint::RuleLint` trait.

/// `println!` that ignores a closed pipe (`mailward log | head`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod access;
pub mod cli;
pub mod config;
pub mod control;
pub mod model;
pub mod password;
pub mod serve;
pub mod store;
pub mod updates;
