//! The rule engine as the milter's scorer, and the loader that (re)builds it from the
//! configured rule paths on start, SIGHUP and rule file changes.

use super::server::{Scorer, ScorerLoader};
use crate::rules::{Environment, NetworkFacts, RuleSet};
use crate::spam::verdict::{ScoreReport, ScoredTest};
use std::path::PathBuf;
use std::sync::Arc;

pub struct RuleEngineScorer {
    rules: RuleSet,
}

impl Scorer for RuleEngineScorer {
    fn score(&self, message: &[u8]) -> ScoreReport {
        let report = self.rules.score(message, &NetworkFacts::default());
        ScoreReport { score: report.score, tests: report.hits.into_iter().map(|h| ScoredTest { name: h.name, score: h.score }).collect() }
    }
}

/// Loads the rules under `paths` as SpamAssassin 4.0.1 with Debian's plugins would. A load that
/// finds no rule at all is an error (a reload then keeps the rules in use); diagnostics are
/// logged, as `spamassassin --lint` would print them.
pub fn rule_loader(paths: Vec<PathBuf>) -> ScorerLoader {
    Arc::new(move || {
        let (rules, diagnostics) = RuleSet::load(&paths, &Environment::spamassassin_4_0_1());
        for d in diagnostics.iter().take(20) {
            tracing::debug!("rules: {d:?}");
        }
        if rules.rules.is_empty() {
            return Err(format!("no rules found under {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
        }
        tracing::info!("loaded {} rules ({} diagnostics)", rules.rules.len(), diagnostics.len());
        Ok(Arc::new(RuleEngineScorer { rules }) as Arc<dyn Scorer>)
    })
}

/// Scores nothing: what the milter uses when no rule could be loaded at start, so mail still
/// flows (with the recipients' policies) while the admin fixes the rules.
pub struct NoRules;

impl Scorer for NoRules {
    fn score(&self, _message: &[u8]) -> ScoreReport {
        ScoreReport { score: 0.0, tests: Vec::new() }
    }
}
