//! Spam headers, their explanation, and the effective spam policy of an address.
//!
//! Pure: nothing here reads files, sockets or clocks (`cli` is the thin edge that reads the
//! message and prints). The milter and the CLI share these functions so that what
//! `mailward spam explain` says about a message is what the milter did to it.
//!
//! - [`headers`]: `X-Spam-*` / `X-Spamd-Result` in SpamAssassin, amavis and Rspamd formats.
//! - [`policy`]: [`PolicyDirectory::effective_policy`]: mailbox > domain > server default,
//!   field by field, each value with its source.
//! - [`verdict`]: one recipient's [`Outcome`], and the per-message [`Verdict`] (headers,
//!   subject tag, rejection) that only applies what every recipient's policy agrees on.
//! - [`explain`]: the sums and level crossings printed by `mailward spam explain`.

pub mod cli;
pub mod explain;
pub mod headers;
pub mod policy;
pub mod verdict;

#[cfg(test)]
mod tests;

pub use explain::{Explanation, explain, render_explanation};
pub use headers::{HeaderFormat, SpamHeaders, TestScore, parse_spam_headers};
pub use policy::{EffectivePolicy, PolicyDirectory, PolicyValues, ValueSource, render_policy_explanation};
pub use verdict::{Outcome, ScoreReport, ScoredTest, Verdict, decide, outcome};
