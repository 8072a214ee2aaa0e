//! `mailward spam explain`: what the seed how-to does by hand with a message's spam headers.
//! Each test with its points, the positive and negative sums, whether they add up to the
//! reported score, and for one recipient which levels the score crosses and what happens.

use serde::Serialize;

use super::headers::SpamHeaders;
use super::policy::{EffectivePolicy, fmt_score};
use super::verdict::{Outcome, outcome};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelCrossing {
    /// `tag`, `tag2` or `kill`.
    pub level: &'static str,
    pub value: f64,
    pub crossed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecipientExplanation {
    pub policy: EffectivePolicy,
    pub levels: Vec<LevelCrossing>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub headers: SpamHeaders,
    /// Sum of the tests with points above zero.
    pub positive_sum: f64,
    /// Sum of the tests with points below zero.
    pub negative_sum: f64,
    /// Sum of all points, when every test has points.
    pub tests_total: Option<f64>,
    /// Whether `tests_total` equals the reported score (to the precision the points were
    /// written with); `None` when either is missing.
    pub adds_up: Option<bool>,
    /// The score policies are compared with: the reported one, else the tests' total.
    pub score: Option<f64>,
    pub recipient: Option<RecipientExplanation>,
}

pub fn explain(headers: &SpamHeaders, policy: Option<&EffectivePolicy>) -> Explanation {
    let scored: Vec<f64> = headers.tests.iter().filter_map(|t| t.score).collect();
    let round = |x: f64| (x * 1e6).round() / 1e6;
    let positive_sum = round(scored.iter().filter(|s| **s > 0.0).sum());
    let negative_sum = round(scored.iter().filter(|s| **s < 0.0).sum());
    let complete = !headers.tests.is_empty() && scored.len() == headers.tests.len();
    let tests_total = complete.then(|| round(positive_sum + negative_sum));
    let adds_up = match (tests_total, headers.score) {
        (Some(total), Some(reported)) => {
            // Each point value is rounded to its printed decimals; allow half a unit each.
            let tolerance: f64 = headers.tests.iter().map(|t| 0.5 * 10f64.powi(-(t.decimals as i32))).sum::<f64>().max(0.0005) + 0.0005;
            Some((total - reported).abs() <= tolerance)
        }
        _ => None,
    };
    let score = headers.score.or(tests_total);
    let recipient = match (policy, score) {
        (Some(p), Some(score)) => {
            let levels = vec![
                LevelCrossing { level: "tag", value: p.tag.value, crossed: score >= p.tag.value },
                LevelCrossing { level: "tag2", value: p.tag2.value, crossed: score >= p.tag2.value },
                LevelCrossing { level: "kill", value: p.kill.value, crossed: score >= p.kill.value },
            ];
            Some(RecipientExplanation { policy: p.clone(), levels, outcome: outcome(score, &p.values()) })
        }
        _ => None,
    };
    Explanation { headers: headers.clone(), positive_sum, negative_sum, tests_total, adds_up, score, recipient }
}

pub fn render_explanation(e: &Explanation) -> String {
    let h = &e.headers;
    let mut s = String::new();
    let format = match h.format {
        Some(super::headers::HeaderFormat::SpamAssassin) => "SpamAssassin",
        Some(super::headers::HeaderFormat::Amavis) => "amavis",
        Some(super::headers::HeaderFormat::Rspamd) => "Rspamd",
        None => "no status header",
    };
    if h.score.is_none() && h.tests.is_empty() && h.is_spam.is_none() {
        s += "no X-Spam-* headers found\n";
    } else {
        s += &format!("format:    {format}\n");
        s += &format!("spam:      {}\n", match h.is_spam { Some(true) => "yes", Some(false) => "no", None => "not said" });
        s += &format!("score:     {}\n", h.score.map(fmt_score).unwrap_or_else(|| "not said".into()));
        if let Some(r) = h.required {
            s += &format!("required:  {} (the spam level, ISPConfig's \"SPAM tag2 level\")\n", fmt_score(r));
        }
        if let Some(t) = h.tagged_above {
            s += &format!("tagged above: {} (ISPConfig's \"SPAM tag level\")\n", fmt_score(t));
        }
        if let Some(stars) = h.level_stars {
            s += &format!("level:     {stars} stars\n");
        }
    }
    if !h.tests.is_empty() {
        s += "tests:\n";
        let width = h.tests.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for t in &h.tests {
            let pts = t.score.map(|v| format!("{v:>+9.3}")).unwrap_or_else(|| "        ?".into());
            s += &format!("  {:<width$} {pts}\n", t.name);
        }
        s += &format!("positive:  {}\n", fmt_signed(e.positive_sum));
        s += &format!("negative:  {}\n", fmt_signed(e.negative_sum));
        match (e.tests_total, e.adds_up, h.score) {
            (Some(total), Some(true), _) => s += &format!("total:     {} = reported score\n", fmt_score(total)),
            (Some(total), Some(false), Some(reported)) => {
                s += &format!("total:     {} but the reported score is {} (difference {})\n", fmt_score(total), fmt_score(reported), fmt_signed(reported - total))
            }
            (Some(total), _, _) => s += &format!("total:     {}\n", fmt_score(total)),
            (None, _, _) => s += "total:     unknown (some tests have no points in the headers)\n",
        }
    }
    if let Some(r) = &e.recipient {
        s += &format!("for {}:\n", r.policy.address);
        for l in &r.levels {
            let source = match l.level {
                "tag" => &r.policy.tag.source,
                "tag2" => &r.policy.tag2.source,
                _ => &r.policy.kill.source,
            };
            s += &format!("  {:<5} {:>8}  {}  (from {source})\n", l.level, fmt_score(l.value), if l.crossed { "reached" } else { "not reached" });
        }
        if r.policy.spam_lover.value {
            s += "  spam lover: yes (never refused)\n";
        }
        s += &format!("  outcome: {}\n", r.outcome.describe());
    }
    for d in &h.diagnostics {
        s += &format!("note: {d}\n");
    }
    s
}

fn fmt_signed(x: f64) -> String {
    let v = fmt_score(x);
    if x > 0.0 { format!("+{v}") } else { v }
}
