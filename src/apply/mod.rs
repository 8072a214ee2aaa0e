//! `apply`: what Postfix and Dovecot read, written from the store's data.
//!
//! Two halves:
//! - [`Plan::build`] (pure, `plan.rs`): from an [`ApplyInput`] (domains, mailboxes with their
//!   password hashes and effective tag2, aliases, alias domains, filters) and the
//!   [`ApplyPaths`] layout, the full text of every generated file plus diagnostics for the
//!   objects that had to be left out. One bad mailbox is left out and reported; the others stay.
//! - [`write`] (edge, `write.rs`): puts the plan on disk. Each file is written to a temporary
//!   file in the same directory and renamed over the old one (readers never see half a file),
//!   skipped when its content is unchanged (so an incremental apply touches only what changed),
//!   and keeps everything below [`MARKER`] that the admin added by hand. Postfix maps are
//!   rebuilt with `postmap` when their source changed; Sieve scripts are checked with `sievec`
//!   (each distinct script text once) and a script that does not compile is reported and not
//!   installed, the previous one stays.
//!
//! # Files (the choice: plain files, not a socketmap)
//! - `<postfix_dir>/virtual_domains` (`hash:`, for `virtual_mailbox_domains`): hosted domains
//!   and alias domains.
//! - `<postfix_dir>/virtual_mailboxes` (`hash:`, for `virtual_mailbox_maps`): mailboxes.
//! - `<postfix_dir>/virtual_aliases` (`hash:`, for `virtual_alias_maps`): aliases, forwards,
//!   catch-alls (`@domain`), alias-domain addresses spelled out one by one (a wildcard
//!   `@alias.org @example.org` would make Postfix accept every address of the alias domain),
//!   and an identity line per mailbox so a catch-all never swallows a real mailbox's mail.
//! - `<dovecot_passwd>`: Dovecot passwd-file (passdb and userdb): `{ARGON2ID}` hash, uid, gid,
//!   home, and the userdb fields `quota_rule` and `sieve` (the mailbox's script).
//! - `<sieve_dir>/<domain>/<local>.sieve` (+ `.svbin`): the mailbox's script from
//!   [`crate::sieve::render_sieve`]. Local parts are file-name-encoded (`=2f` for `/`).
//!
//! Invariant: `plan.rs` and `input.rs` do no I/O; only `write.rs` touches the disk and runs
//! programs.

pub mod cli;
mod from_store;
mod input;
mod plan;
pub mod purge;
mod write;

pub use from_store::{apply_from_store, follow_and_apply, tag2_resolver};
pub use input::{ApplyInput, ApplyPaths, MailboxInput};
pub use plan::{FileKind, Plan, PlanDiagnostic, PlannedFile, encode_file_name};
pub use write::{ApplyReport, FileOutcome, WriteError, merge_manual_additions, write};

/// The line in every generated file below which the admin's own lines survive every rewrite.
pub const MARKER: &str = "# ---- mailward: manual additions below this line are kept ----";
