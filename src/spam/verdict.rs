//! What happens to a scored message, given its recipients' policies.
//!
//! Per recipient ([`outcome`]): below tag nothing, from tag the `X-Spam-*` headers, from tag2
//! spam (flag, subject tag, Junk), from kill refused unless the recipient is a spam lover.
//!
//! Per message ([`decide`]): headers are shared by all recipients of a transaction, so the
//! milter only applies what every recipient agrees on. The message is flagged spam (and its
//! subject tagged) only when every recipient's tag2 is reached (and every policy asks for the
//! same subject tag); it is refused only when every recipient's kill level is reached and none
//! is a spam lover. A recipient with a lower tag2 than the others still gets `X-Spam-Score`,
//! which their Sieve script compares with their own level at delivery.

use serde::Serialize;

use super::headers::stars_for;
use super::policy::{PolicyValues, fmt_score};

/// A test that hit, with its points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredTest {
    pub name: String,
    pub score: f64,
}

/// The rule engine's answer, reduced to what headers and policies need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    pub score: f64,
    pub tests: Vec<ScoredTest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Below the tag level: delivered without spam headers.
    Clean,
    /// Tag level reached: delivered with `X-Spam-*` headers, not spam.
    Tagged,
    /// Tag2 level reached: flagged as spam, subject tagged if the policy says so, moved to Junk.
    Spam,
    /// Kill level reached and no spam lover: refused with 550 5.7.1 (when every recipient agrees).
    Refused,
}

impl Outcome {
    pub fn describe(self) -> &'static str {
        match self {
            Outcome::Clean => "delivered to the inbox without spam headers",
            Outcome::Tagged => "delivered to the inbox with X-Spam-* headers",
            Outcome::Spam => "flagged as spam (X-Spam-Flag: YES) and moved to Junk",
            Outcome::Refused => "refused at SMTP time with 550 5.7.1",
        }
    }
}

/// One recipient's outcome for `score`.
pub fn outcome(score: f64, policy: &PolicyValues) -> Outcome {
    if score >= policy.kill && !policy.spam_lover {
        Outcome::Refused
    } else if score >= policy.tag2 {
        Outcome::Spam
    } else if score >= policy.tag {
        Outcome::Tagged
    } else {
        Outcome::Clean
    }
}

/// What the milter does with one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Refuse with 550 5.7.1.
    pub reject: bool,
    /// Headers to add, in order (values may be folded with `\n\t`).
    pub headers: Vec<(String, String)>,
    /// Text to put in front of the subject.
    pub subject_tag: Option<String>,
    /// Every recipient had the same policy values.
    pub single_policy: bool,
}

/// Decides headers, subject and rejection for `report` sent to `recipients` (at least one;
/// with none, nothing is added).
pub fn decide(report: &ScoreReport, recipients: &[PolicyValues]) -> Verdict {
    let Some(first) = recipients.first() else {
        return Verdict { reject: false, headers: Vec::new(), subject_tag: None, single_policy: true };
    };
    let score = report.score;
    let single_policy = recipients.iter().all(|p| p == first);
    let tag = recipients.iter().map(|p| p.tag).fold(f64::INFINITY, f64::min);
    let tag2 = recipients.iter().map(|p| p.tag2).fold(f64::NEG_INFINITY, f64::max);
    let is_spam = score >= tag2;
    let reject = recipients.iter().all(|p| score >= p.kill && !p.spam_lover);
    let mut headers = Vec::new();
    if score >= tag || is_spam {
        if is_spam {
            headers.push(("X-Spam-Flag".to_string(), "YES".to_string()));
        }
        headers.push(("X-Spam-Score".to_string(), fmt_score(score)));
        headers.push(("X-Spam-Level".to_string(), "*".repeat(stars_for(score))));
        headers.push(("X-Spam-Status".to_string(), status_value(is_spam, score, tag, tag2, &report.tests)));
    }
    let subject_tag = if is_spam && recipients.iter().all(|p| p.modifies_subject && p.subject_tag == first.subject_tag) && !first.subject_tag.is_empty() {
        Some(first.subject_tag.clone())
    } else {
        None
    };
    Verdict { reject, headers, subject_tag, single_policy }
}

/// amavis's format, which ISPConfig's Sieve rules and the seed how-to read:
/// `Yes, score=7.039 tagged_above=3 required=5 tests=[BAYES_50=0.8, ...]`, folded.
pub fn status_value(is_spam: bool, score: f64, tagged_above: f64, required: f64, tests: &[ScoredTest]) -> String {
    let mut value = format!(
        "{}, score={} tagged_above={} required={} tests=[",
        if is_spam { "Yes" } else { "No" },
        fmt_score(score),
        fmt_score(tagged_above),
        fmt_score(required)
    );
    let mut line_len = value.len() + "X-Spam-Status: ".len();
    for (i, t) in tests.iter().enumerate() {
        let item = format!("{}={}", t.name, fmt_score(t.score));
        if i > 0 {
            value.push(',');
            line_len += 1;
            if line_len + item.len() + 2 > 78 {
                value.push_str("\n\t");
                line_len = 1;
            } else {
                value.push(' ');
                line_len += 1;
            }
        }
        line_len += item.len();
        value.push_str(&item);
    }
    value.push(']');
    value
}

/// `tag` + subject, without tagging twice.
pub fn tagged_subject(subject: &[u8], tag: &str) -> Vec<u8> {
    // bytes: a Subject in Latin-1 or raw UTF-8 keeps its bytes behind the tag
    if subject.starts_with(tag.trim_end().as_bytes()) { subject.to_vec() } else { [tag.as_bytes(), subject].concat() }
}
