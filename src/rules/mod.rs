//! A SpamAssassin-compatible rule engine.
//!
//! `RuleSet::from_sources` parses `.cf` text (pure; `include` goes through a caller's loader) into
//! compiled rules plus diagnostics; `RuleSet::load` (in `load.rs`, the one file that reads files)
//! does the same from paths. `RuleSet::score` scores one message: it builds a `MessageView`
//! (SpamAssassin's presentation of headers, body lines, raw body, full text and URIs), runs every
//! supported rule with a non-zero score in score set 0 (no Bayes, no network) or 1 (network facts
//! given), evaluates `meta` rules over the hit counts, and sums the scores.
//!
//! Where things are: `parse.rs` reads `.cf` text into a `RawConfig` (definitions, scores, the
//! `util_rb_*` TLD registry, `redirector_pattern`s); `engine.rs` compiles and scores; `message.rs`
//! builds the `MessageView` (headers, MIME parts and nodes, rendered and decoded bodies) with
//! `charset.rs` turning each declared charset into UTF-8 as Perl's Encode does for SpamAssassin;
//! `html.rs` renders HTML and collects its link targets and HTMLEval results; `uri.rs` builds the
//! URI list `uri` rules match (text scanner, canonicalisation, redirectors) with `registry.rs`'s
//! TLD boundaries; `header_get.rs` answers header requests and modifiers; `header_slots.rs` numbers
//! a rule set's header requests at load and keeps each message's answers, one per request, for
//! rules to borrow; `mime_header.rs` serves `mimeheader` rules; `evals/` holds the native `eval:`
//! functions, one file per plugin family, with their regex arguments compiled at load and what
//! several of them derive from a message (`evals::Memo`) derived once per message.
//!
//! Design decisions:
//! - Separate compiled regexes, not one `RegexSet`: a set over SpamAssassin's counted repetitions
//!   blows the lazy DFA's cache and measured ~70x slower. The exception is small groups: the body
//!   rules the prefilter cannot filter, and the header and `mimeheader` rules reading the same
//!   request, are matched sixteen patterns at a time, one lazy DFA scan per group and haystack
//!   (`rule_groups.rs`), which falls back to the rules' own regexes whenever a group does not
//!   build or its DFA gives up.
//! - A literal prefilter (`prefilter.rs`) runs first: each pattern's required literals (taken from
//!   its syntax tree at load) sit in one Aho-Corasick automaton per haystack (body lines, raw body
//!   lines, full text, each requested header); one scan per message leaves the rules, and for body
//!   rules the lines, whose regexes can match. A rule with no usable literals, or one the prefilter
//!   does not know (a new target, a negated or `[if-unset]` header test), always runs.
//! - Fast regexes are parsed at load (syntax errors are load diagnostics) and compiled on first use;
//!   backtracking ones are compiled at load, and very large ones have their compiled size checked
//!   there (their NFAs are built, not their search engines), so every compile error a lint can
//!   report is still reported at load. Definitions are compiled on every core, biggest first.
//! - Rules the engine cannot run like SpamAssassin (unknown `eval:` functions,
//!   network lists, patterns that do not translate) are kept as `Unsupported` with a reason and never
//!   hit; metas that depend on them are reported as partially supported, so a comparison against
//!   SpamAssassin can restrict itself to rules whose whole dependency tree is supported.
//! - One message's rules can be counted on several cores (`split_scoring.rs`, with the helper
//!   threads of `scoring_pool.rs`): only while fewer scorings are in flight than there are cores,
//!   so a busy milter scores each message on its own thread, as before, and loses no throughput.
//! - Time and memory per message are bounded: messages are cut at `max_message_size` (as spamc cuts
//!   at 500 KiB), body parts at SpamAssassin's scan sizes, and backtracking regexes at a step limit.
//! - SpamAssassin's side effects that change what rules see are reproduced, not fixed: FreeMail's
//!   reply-to check rewrites the rendered body lines in place, so body rules from its priority on
//!   match the rewritten lines (`evals/freemail_body.rs`).
//! - The relay model (`relays.rs`) is SpamAssassin's Received parser with the trust boundary it
//!   infers when `trusted_networks` is not set; `pseudo_headers.rs` answers `X-Spam-Relays-*`,
//!   `ALL-TRUSTED`... and `EnvelopeFrom` from it. Both are computed once per message, on the first
//!   rule that asks. Configured `trusted_networks`/`internal_networks`/`msa_networks` are not applied
//!   (a load-time note says so).
//!
//! Invariant: nothing here except `load.rs` and `cli.rs` touches files or the network.
//! Invariant: the prefilter only skips work; a rule skipped by it could not have hit (the corpus
//! fingerprint printed by `benches/rules_vs_spamassassin.rs` is unchanged by it).

pub mod charset;
pub mod cli;
pub mod engine;
pub mod evals;
pub mod expr;
pub mod header_get;
pub mod header_slots;
pub mod html;
pub mod load;
pub mod message;
pub mod mime_header;
pub mod parse;
pub mod perl_regex;
pub mod registry;
pub mod pseudo_headers;
pub mod relays;
pub mod rule_groups;
pub mod prefilter;
pub mod rspamd;
pub mod scoring_pool;
mod split_scoring;
pub mod uri;

pub use engine::{Hit, NetworkFacts, Report, Rule, RuleBody, RuleSet, Target};
pub use parse::Environment;
pub use scoring_pool::ScoringPool;

/// Where a definition or problem is: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A feature this engine does not run (the rule never hits); lint does not fail on it.
    Note,
    /// Suspicious but usable.
    Warning,
    /// Something was skipped because it is malformed.
    Error,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    pub location: Location,
    pub severity: Severity,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}: {sev}: {}", self.location, self.message)
    }
}
