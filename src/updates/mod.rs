//! Rule updates, compatible with SpamAssassin's `sa-update` protocol in both directions: the
//! client installs channels that exist today (and that Debian's SpamAssassin loads), and the
//! publisher builds channels that Debian's `sa-update` installs.
//!
//! The protocol, per channel: a TXT lookup of `<reversed SpamAssassin version>.<channel>`
//! gives the newest version N; TXT `mirrors.<channel>` gives the URL of `MIRRORED.BY`, a
//! weighted list of base URLs; a mirror serves `N.tar.gz` with `N.tar.gz.sha512` /
//! `.sha256` (and `.asc`, a detached OpenPGP signature); the installed `<channel>.cf` starts
//! with `# UPDATE version N`.
//!
//! Pure parts: [`channel`] (names, DNS names, include files), [`mirrors`], [`verify`],
//! [`signature`] (OpenPGP detached signatures with rPGP),
//! [`extract`] (unpacking from memory: nothing reaches the disk before every entry passed).
//! Edges: [`after`] (Rspamd ruleset, hooks, reload commands), [`dns`], [`download`], [`lint`], [`install`], [`update`], [`publish`], [`schedule`],
//! [`cli`].

pub mod after;
pub mod channel;
pub mod cli;
pub mod dns;
pub mod download;
pub mod extract;
pub mod install;
pub mod lint;
pub mod mirrors;
pub mod publish;
pub mod schedule;
pub mod signature;
pub mod update;
pub mod verify;

pub use schedule::schedule;
pub use update::{UpdateOptions, UpdateReport, update};
