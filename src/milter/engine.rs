//! The scorer loader `serve` hands to start-up, SIGHUP and rule-file reloads, and the scorer
//! used when no rules could be loaded at start.

use super::rule_scorer::load_rule_scorer;
use super::server::{Scorer, ScorerLoader};
use crate::spam::verdict::ScoreReport;
use std::path::PathBuf;
use std::sync::Arc;

pub fn rule_loader(paths: Vec<PathBuf>, update_dir: PathBuf) -> ScorerLoader {
    // The effective paths are worked out on every load: the first installed channel changes them.
    Arc::new(move || load_rule_scorer(&crate::rules::load::effective_paths(&paths, &update_dir)))
}

/// Scores nothing: what the milter uses when no rule could be loaded at start, so mail still
/// flows (with the recipients' policies) while the admin fixes the rules.
pub struct NoRules;

impl Scorer for NoRules {
    fn score(&self, _message: &[u8]) -> ScoreReport {
        ScoreReport { score: 0.0, tests: Vec::new() }
    }
}
