//! The Postfix milter (edge): Postfix hands each message to mailward, which scores it once,
//! applies the recipients' spam policies and answers with header edits or a rejection.
//!
//! Layers, after glts's dkim-milter: `server` owns the sockets and the indymilter callbacks;
//! each callback is a one-liner on the per-connection [`Session`], which decides what to do
//! with the pure functions of `crate::spam` (`decide`, `effective_policy`). Scoring runs on a
//! blocking thread under `scoring_timeout`; any internal error ends in the configured
//! [`FailureAction`] with the queue id in the log.
//!
//! Invariants:
//! - one recipient's policy never decides for another: headers, subject tag and rejection are
//!   only what every recipient's policy agrees on (`spam::verdict`); with
//!   `one_policy_per_transaction` recipients with a different policy are deferred (452 4.5.3);
//!   without it RCPT is declared no-reply, like every stage before end of message, so the MTA
//!   waits for one answer per message;
//! - `X-Spam*` headers from anyone but a trusted relay are deleted before ours are added;
//! - memory per message is bounded by `max_message_size` (larger messages are passed unscored
//!   with an `X-Mailward-Scan` header);
//! - the scorer and the policy directory are swapped whole (`MilterState::replace_*`), so a
//!   reload (SIGHUP) never drops a connection or mixes two rule sets in one message.

pub mod engine;
pub mod rule_scorer;
pub mod server;
pub mod session;
pub mod settings;

pub use engine::{rule_loader, NoRules};
pub use rule_scorer::load_rule_scorer;
pub use server::{MilterListener, MilterState, Scorer, ScorerLoader, reload_on_rule_change, reload_on_sighup, run};
pub use session::{EomPlan, RcptAnswer, Session};
pub use settings::{FailureAction, MilterConfig, MilterSettings, MilterSocket};
