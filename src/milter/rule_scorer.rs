//! The rule engine behind the milter's [`Scorer`] trait.

use std::path::PathBuf;
use std::sync::Arc;

use tracing::warn;

use super::server::Scorer;
use crate::rules::{Environment, NetworkFacts, RuleSet, ScoringPool, Severity};
use crate::spam::{ScoreReport, ScoredTest};

/// The loaded rules, scored on the process's [`ScoringPool`]: a message's rules are shared out
/// with an idle core when there is one, and scored on the calling thread when every core is
/// busy with a message of its own.
struct RuleScorer {
    rules: Arc<RuleSet>,
    pool: &'static ScoringPool,
}

impl Scorer for RuleScorer {
    fn score(&self, message: &[u8]) -> ScoreReport {
        // No network tests from inside the milter: score set 0, like `spamassassin -L`.
        let report = self.rules.score_on(self.pool, message, &NetworkFacts::default(), None).expect("no deadline, no early stop");
        to_score_report(&report)
    }

    fn score_until(&self, message: &[u8], deadline: std::time::Instant) -> Option<ScoreReport> {
        self.rules.score_on(self.pool, message, &NetworkFacts::default(), Some(deadline)).map(|r| to_score_report(&r))
    }
}

fn to_score_report(report: &crate::rules::Report) -> ScoreReport {
    let tests = report.hits.iter().map(|h| ScoredTest { name: h.name.clone(), score: h.score * f64::from(h.count) }).collect();
    ScoreReport { score: report.score, tests }
}

/// Loads the rule files (`rules.paths`) as the milter's scorer. Problems in single rules are
/// logged and skipped; a load that yields no rule at all is an error, so a reload with a broken
/// rules directory keeps the rules in use.
pub fn load_rule_scorer(paths: &[PathBuf]) -> Result<Arc<dyn Scorer>, String> {
    let (set, diagnostics) = RuleSet::load(paths, &Environment::spamassassin_4_0_1());
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
    for d in errors.iter().take(20) {
        warn!("rules: {d}");
    }
    if set.rules.is_empty() {
        let first = errors.first().map(|d| d.to_string()).unwrap_or_else(|| "no rule files found".into());
        return Err(format!("no rules loaded from {}: {first}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
    }
    let set = Arc::new(set);
    // Patterns compile on first use; compiling them now, on one core beside the milter, spares
    // the first messages after a (re)load that cost. A pattern that does not compile never
    // matches, as lint reports.
    let warm = Arc::clone(&set);
    std::thread::Builder::new()
        .name("rules-compile".into())
        .spawn(move || {
            for d in warm.compile_now().iter().take(20) {
                warn!("rules: {d}");
            }
        })
        .map_err(|e| format!("cannot start the rule compiling thread: {e}"))?;
    Ok(Arc::new(RuleScorer { rules: set, pool: ScoringPool::for_this_machine() }))
}
