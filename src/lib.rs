//! mailward: the mail half of a hosting control panel, as one daemon and CLI next to Postfix
//! and Dovecot.
//!
//! # Code map
//!
//! The layout follows the parts in `DESIGN.md`. Modules are either **pure** (plain data in,
//! plain data out: no files, sockets, clocks or databases) or **edges** (they do I/O and call
//! the pure ones). `tests/it/architecture.rs` checks that pure modules import no tokio, sqlx,
//! axum, reqwest, hickory or indymilter.
//!
//! - `model` (pure): the product's data: accounts and limits, domains, mailboxes, aliases,
//!   filters, spam policies (with the seven ISPConfig presets), server sets, sites, DNS zones,
//!   change-log entries; and `model::names`, which validates and canonicalises domain names and
//!   addresses (lowercase, punycode). Invariant: no read type carries a password or hash.
//! - `access` (pure): who may do what. `access::authorize(actor, operation, scope)` is the only
//!   privilege decision; `access::check_limit` is the only limit decision. Invariant: knows
//!   nothing of storage; callers pass the ownership scope and the current counts.
//! - `config` (pure parse + one file read at the edge): the TOML file read into a table, then
//!   into the typed `Config` key by key (`config::reader`); every problem, unknown keys included,
//!   is collected with its dotted key and reported together.
//! - `store` (edge): every SQL statement of the project, for SQLite, PostgreSQL and MariaDB
//!   through sqlx's `Any` driver, with per-backend migrations. Invariant: each write runs in one
//!   transaction that checks limits (via `access::check_limit`) and appends to the change log;
//!   nothing outside `store` builds SQL.
//! - `control` (edge, thin): the operations the CLI, API and panel share: validate input, load
//!   the ownership scope, `access::authorize`, then call the store. Invariant: every write path
//!   goes through it, so privileges and limits are enforced in one place.
//! - `cli` (edge): `mailward <noun> <verb>` argument parsing and output (`--json`).
//! - `api` (edge): the REST API on the admin listener (`/api/v1/...`), HTTP Basic logins through
//!   `Control::authenticate`, every handler one `control` call. Invariant: no SQL, no privilege
//!   decision of its own; internal errors are logged and answered with a generic 500.
//! - `serve` (edge): the daemon: data directory, first-start admin, demo data, the public,
//!   admin and milter listeners, the change-log follower that rebuilds the autoconfig snapshot
//!   and the milter's policy directory (and applies, when enabled), graceful shutdown.
//! - `autoconfig` (pure core, edge in `autoconfig::http`): Thunderbird autoconfig, Outlook
//!   autodiscover (POX and the JSON stub) and Apple profiles, answered from an in-memory
//!   `autoconfig::Snapshot` that the daemon swaps into `AutoconfigState` after store changes.
//!   Key types: `Snapshot`, `AutoconfigState`, `Settings`, `router`. Invariants: requests never
//!   touch the store; the request parser expands no DTD or entity and caps body (8 KiB) and
//!   depth; answers are written with quick-xml's escaping writer; headers are never logged;
//!   existing and unknown addresses of a hosted domain get the same answer unless configured.
//! - `dns` (pure): `dns::records::mail_domain_records`, the records a mail domain needs
//!   (autoconfig/autodiscover names, autodiscover and RFC 6186/8314 SRV with `.` targets for
//!   services not offered, MX, SPF), as zone lines or JSON; `Control::dns_records` checks who
//!   may read a domain and builds its list with it.
//! - `check` (edge, pure parser in `check::document`): `mailward check autoconfig ADDRESS`,
//!   which resolves and fetches what Thunderbird and Outlook would, in their order, and reports
//!   per client the configuration it ends up with. Invariant: the document parser accepts every
//!   ISPDB file and reports problems as diagnostics, never by failing.
//! - `spam` (pure, except `spam::cli`): `X-Spam-*` / `X-Spamd-Result` parsing in SpamAssassin,
//!   amavis and Rspamd formats (`parse_spam_headers`, values plus diagnostics), the explanation
//!   printed by `mailward spam explain` (`explain`), effective policy resolution
//!   (`PolicyDirectory::effective_policy`: mailbox > domain > server default, field by field,
//!   each value with its `ValueSource`; an alias uses its domain's policy), and the milter's
//!   per-message `decide` (headers, subject tag, rejection). Invariant: one recipient's policy
//!   never decides for another: `decide` applies only what every recipient's policy agrees on.
//! - `milter` (edge): the Postfix milter on indymilter (`milter::run(listener, state,
//!   shutdown)`), a per-connection `Session`, scoring through the `Scorer` trait on a blocking
//!   thread under a timeout, one message per core at a time (the rest wait their turn, the wait
//!   counting against the timeout), the failure action with the queue id in the log, forged
//!   `X-Spam*` headers removed unless from a trusted relay (address, network, or the client name
//!   the MTA verified), reload by swapping an `Arc` (SIGHUP, rule file
//!   changes). Invariant: memory per message is bounded by `max_message_size`.
//! - `sieve` (pure): `render_sieve(&MailboxSieve) -> RenderedSieve`, one mailbox's Dovecot
//!   Sieve script: spam to Junk before/after/off decided by the mailbox's effective tag2 against
//!   the milter's `X-Spam-Score` in whole hundredths (negative scores never spam), user filters,
//!   the autoresponder (dates, aliases, never for spam), copies. Invariant: every user string
//!   goes through `sieve::quote`/`single_line`; unusable values become diagnostics, not errors.
//! - `apply` (pure plan + edge writer): `apply::Plan::build(&ApplyInput, &ApplyPaths)` renders
//!   every file Postfix and Dovecot read (hash maps, passwd-file, Sieve scripts);
//!   `apply::write(&plan, &paths) -> ApplyReport` writes them atomically, skips unchanged ones,
//!   keeps lines below `apply::MARKER`, runs postmap/sievec. Invariant: `apply/plan.rs` and
//!   `apply/input.rs` do no I/O; one bad mailbox is reported and never stops the others.
//! - `views` (pure): what the daemon and the CLI derive from one `store::MailSnapshot`: the
//!   milter's `spam::PolicyDirectory` and the server's default policy values.
//! - `error_chain` (pure): an error and its sources as one line, for the HTTP fetchers' messages.
//! - `password` (pure): Dovecot-verifiable password hashes (`{ARGON2ID}`) and one-time passwords.
//! - `rules` (pure engine, file reading only in `rules::load` and `rules::cli`): a
//!   SpamAssassin-compatible rule engine. `RuleSet::load(paths, env)` / `RuleSet::from_sources`
//!   parse `.cf` files into compiled rules plus `Diagnostic`s (file:line); `RuleSet::score(message,
//!   &NetworkFacts) -> Report` scores one message; `Arc<RuleSet>::score_on(&ScoringPool, ...)`
//!   scores it the same, sharing its rules out with idle cores (`ScoringPool::for_this_machine`,
//!   used by the milter and `rules test`), on the caller's thread alone when every core is
//!   scoring; `rules::rspamd::export` flattens a rule set for
//!   Rspamd 3.4's spamassassin module, leaving out (with a comment each) what that module cannot
//!   run or would crash on; `rules::cli::{RulesCommand, run}` are the `mailward rules ...` commands.
//!   Invariants: `RuleSet` is immutable and `Send + Sync` (share it as `Arc<RuleSet>`, swap on
//!   reload); scoring does no I/O and is bounded (message size cap, SpamAssassin's part scan
//!   sizes, backtracking step limit); a rule the engine cannot run exactly like SpamAssassin is
//!   `RuleBody::Unsupported` with a reason and never hits, and metas over it are not
//!   `fully_supported`. No network lookups: network results come in through `NetworkFacts`.
//!   Patterns are checked at load (syntax, backreferences, size estimate) and compiled on first
//!   use; `RuleSet::compile_now` compiles the rest and reports what does not compile (lint calls
//!   it; a pattern that does not compile never matches). Eval regex arguments are compiled at
//!   load (a bad one is a load error). Per-message work that several rules share is done once
//!   per message without locks: header requests are numbered at load (`rules::header_slots`)
//!   and each message answers each into a slot the rules borrow. Scoring walks only the rules
//!   that can count in the score set; the literal prefilter runs in two halves (body, headers),
//!   one per thread when scoring is shared; body rules without a literal, and header and
//!   `mimeheader` rules by the request they read, are matched sixteen at a time by one lazy
//!   DFA per group (`rules::rule_groups`), which never changes a result (a group that does not
//!   compile or gives up leaves its members to their own regexes).
//! - `updates` (pure core + edges): sa-update compatible rule channels. `updates::update` (the
//!   client), `updates::publish::publish` (a channel from a rule directory), `updates::schedule`
//!   (the hourly check for `serve`), `updates::after` (after an update: the flattened Rspamd
//!   ruleset, the hooks directory, reload commands; every step runs and reports even when one
//!   fails), `updates::cli` (`rules update|publish|rollback`, defaults from `[updates]`). Pure:
//!   `channel`, `mirrors`, `verify`, `signature`, `extract`. Invariants: a tarball is unpacked
//!   in memory and checked whole (flat, safe names, caps, no links) before anything is
//!   written; a channel is written and linted in a staging directory and switched in by
//!   renames, so every failure leaves the installed rules as they were; the previous version
//!   is kept for rollback; linting goes through the `updates::lint::RuleLint` trait (our
//!   engine, then `spamassassin --lint` when installed). The rules the milter loads follow the
//!   update directory as SpamAssassin's do (`rules::load::effective_paths`).

/// `println!` that ignores a closed pipe (`mailward log | head`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod access;
pub mod api;
pub mod autoconfig;
pub mod check;
pub mod apply;
pub mod cli;
pub mod config;
pub mod control;
pub mod dns;
pub mod error_chain;
pub mod milter;
pub mod model;
pub mod password;
pub mod rules;
pub mod serve;
pub mod spam;
pub mod sieve;
pub mod store;
pub mod updates;
pub mod views;
