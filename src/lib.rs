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
//! - `autoconfig` (pure core, edge in `autoconfig::http`): Thunderbird autoconfig, Outlook
//!   autodiscover (POX and the JSON stub) and Apple profiles, answered from an in-memory
//!   `autoconfig::Snapshot` that the daemon swaps into `AutoconfigState` after store changes.
//!   Key types: `Snapshot`, `AutoconfigState`, `Settings`, `router`. Invariants: requests never
//!   touch the store; the request parser expands no DTD or entity and caps body (8 KiB) and
//!   depth; answers are written with quick-xml's escaping writer; headers are never logged;
//!   existing and unknown addresses of a hosted domain get the same answer unless configured.
//! - `dns` (pure): `dns::records::mail_domain_records`, the records a mail domain needs
//!   (autoconfig/autodiscover names, autodiscover and RFC 6186/8314 SRV with `.` targets for
//!   services not offered, MX, SPF), as zone lines or JSON; `dns::for_domain::mail_records_for`
//!   picks the domain and its server set out of the store's `MailSnapshot`.
//! - `check` (edge, pure parser in `check::document`): `mailward check autoconfig ADDRESS`,
//!   which resolves and fetches what Thunderbird and Outlook would, in their order, and reports
//!   per client the configuration it ends up with. Invariant: the document parser accepts every
//!   ISPDB file and reports problems as diagnostics, never by failing.
//! - `password` (pure): Dovecot-verifiable password hashes (`{ARGON2ID}`) and one-time passwords.

/// `println!` that ignores a closed pipe (`mailward log | head`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod access;
pub mod autoconfig;
pub mod check;
pub mod cli;
pub mod config;
pub mod control;
pub mod dns;
pub mod model;
pub mod password;
pub mod serve;
pub mod store;
