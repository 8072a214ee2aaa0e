//! Spam policies: levels are SpamAssassin scores. A `None` field inherits from the next level
//! (mailbox -> domain -> server default); resolution lives in `spam::policy`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpamPolicy {
    pub id: i64,
    pub name: String,
    /// Score from which X-Spam-* headers are added ("SPAM tag level").
    pub tag: Option<f64>,
    /// Score from which the message is spam: flag, subject tag, Junk ("SPAM tag2 level").
    pub tag2: Option<f64>,
    /// Score from which the message is refused ("SPAM kill level").
    pub kill: Option<f64>,
    pub modifies_subject: Option<bool>,
    /// Text put in front of the subject of spam, e.g. `***SPAM*** `.
    pub subject_tag: Option<String>,
    pub spam_lover: Option<bool>,
    pub virus_lover: Option<bool>,
    /// One of the seven ISPConfig presets seeded at first start.
    pub builtin: bool,
}

/// The presets from ISPConfig: (name, tag, tag2, kill, modifies subject, spam lover, virus lover).
pub const PRESETS: [(&str, f64, f64, f64, bool, bool, bool); 7] = [
    ("Non-paying", 3.0, 7.0, 10.0, true, false, false),
    ("Uncensored", 3.0, 999.0, 999.0, false, true, true),
    ("Wants all spam", 3.0, 999.0, 999.0, true, true, false),
    ("Wants viruses", 3.0, 6.9, 6.9, true, false, true),
    ("Normal", 1.0, 4.5, 50.0, true, false, false),
    ("Trigger happy", 3.0, 5.0, 5.0, true, false, false),
    ("Permissive", 3.0, 10.0, 20.0, true, false, false),
];

pub const DEFAULT_SUBJECT_TAG: &str = "***SPAM*** ";

/// The presets as complete policies (ids are assigned by the store).
pub fn presets() -> Vec<SpamPolicy> {
    PRESETS
        .iter()
        .map(|&(name, tag, tag2, kill, modifies_subject, spam_lover, virus_lover)| SpamPolicy {
            id: 0,
            name: name.to_string(),
            tag: Some(tag),
            tag2: Some(tag2),
            kill: Some(kill),
            modifies_subject: Some(modifies_subject),
            subject_tag: Some(DEFAULT_SUBJECT_TAG.to_string()),
            spam_lover: Some(spam_lover),
            virus_lover: Some(virus_lover),
            builtin: true,
        })
        .collect()
}
