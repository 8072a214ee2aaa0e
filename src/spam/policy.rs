//! The effective spam policy of an address, and where each of its values came from.
//!
//! The rule is ISPConfig's ("Mailbox overwrites domain ... If you use an alias, the policy for
//! the domain applies"), extended field by field: a policy may leave a level empty, and an empty
//! field inherits from the next level down: mailbox policy -> domain policy -> server default.
//! An address of an alias domain resolves as the same address in the target domain.
//!
//! [`PolicyDirectory`] is built from plain model values (the store fills it and the milter
//! swaps in a fresh one when the data changes); it does no I/O.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::model::{Alias, AliasDomain, Domain, Mailbox, SpamPolicy};

/// A complete set of policy values: what every level falls back to at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyValues {
    pub tag: f64,
    pub tag2: f64,
    pub kill: f64,
    pub modifies_subject: bool,
    pub subject_tag: String,
    pub spam_lover: bool,
    pub virus_lover: bool,
}

impl Default for PolicyValues {
    /// The server default when the configuration names none: headers on every message,
    /// SpamAssassin's own spam threshold, and no rejection (ISPConfig's "Normal" kills at 50).
    fn default() -> Self {
        PolicyValues {
            tag: -999.0,
            tag2: 5.0,
            kill: 50.0,
            modifies_subject: true,
            subject_tag: crate::model::policy::DEFAULT_SUBJECT_TAG.to_string(),
            spam_lover: false,
            virus_lover: false,
        }
    }
}

impl PolicyValues {
    /// A stored policy as the server default (`server.default_policy`); its empty fields take
    /// the built-in defaults.
    pub fn from_policy(policy: &SpamPolicy) -> PolicyValues {
        let d = PolicyValues::default();
        PolicyValues {
            tag: policy.tag.unwrap_or(d.tag),
            tag2: policy.tag2.unwrap_or(d.tag2),
            kill: policy.kill.unwrap_or(d.kill),
            modifies_subject: policy.modifies_subject.unwrap_or(d.modifies_subject),
            subject_tag: policy.subject_tag.clone().unwrap_or(d.subject_tag),
            spam_lover: policy.spam_lover.unwrap_or(d.spam_lover),
            virus_lover: policy.virus_lover.unwrap_or(d.virus_lover),
        }
    }
}

/// Where one effective value was taken from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "level", rename_all = "lowercase")]
pub enum ValueSource {
    /// The policy assigned to the mailbox.
    Mailbox { address: String, policy: String },
    /// The policy assigned to the domain (also for aliases and unknown addresses of the domain).
    Domain { domain: String, policy: String },
    /// The server's default policy.
    Default,
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::Mailbox { address, policy } => write!(f, "mailbox {address} (policy \"{policy}\")"),
            ValueSource::Domain { domain, policy } => write!(f, "domain {domain} (policy \"{policy}\")"),
            ValueSource::Default => f.write_str("server default"),
        }
    }
}

/// What an address is in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipientKind {
    Mailbox,
    /// An alias, forward or catch-all of a hosted domain: uses the domain's policy.
    Alias,
    /// An address of a hosted domain that is neither (Postfix will refuse it later).
    UnknownInDomain,
    /// Not a hosted domain (relayed or outgoing mail).
    NotHosted,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: ValueSource,
}

/// The resolved policy of one address: every value with its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectivePolicy {
    /// The canonical address that was resolved (after alias-domain rewriting).
    pub address: String,
    pub kind: RecipientKind,
    pub tag: Sourced<f64>,
    pub tag2: Sourced<f64>,
    pub kill: Sourced<f64>,
    pub modifies_subject: Sourced<bool>,
    pub subject_tag: Sourced<String>,
    pub spam_lover: Sourced<bool>,
    pub virus_lover: Sourced<bool>,
}

impl EffectivePolicy {
    /// The values without their sources: two recipients with equal values get the same
    /// treatment, whatever policy they came from.
    pub fn values(&self) -> PolicyValues {
        PolicyValues {
            tag: self.tag.value,
            tag2: self.tag2.value,
            kill: self.kill.value,
            modifies_subject: self.modifies_subject.value,
            subject_tag: self.subject_tag.value.clone(),
            spam_lover: self.spam_lover.value,
            virus_lover: self.virus_lover.value,
        }
    }
}

/// Everything policy resolution needs, indexed by name. Immutable once built.
#[derive(Debug, Clone, Default)]
pub struct PolicyDirectory {
    server_default: PolicyValues,
    policies: HashMap<i64, SpamPolicy>,
    /// Domain name -> (domain policy id).
    domains: HashMap<String, Option<i64>>,
    /// Alias-domain name -> target domain name.
    alias_domains: HashMap<String, String>,
    /// Address -> mailbox policy id.
    mailboxes: HashMap<String, Option<i64>>,
    aliases: HashMap<String, ()>,
    /// What was inconsistent in the input (dangling ids), for the log.
    pub diagnostics: Vec<String>,
}

impl PolicyDirectory {
    pub fn new(
        server_default: PolicyValues,
        policies: &[SpamPolicy],
        domains: &[Domain],
        alias_domains: &[AliasDomain],
        mailboxes: &[Mailbox],
        aliases: &[Alias],
    ) -> PolicyDirectory {
        let mut dir = PolicyDirectory { server_default, ..Default::default() };
        dir.policies = policies.iter().map(|p| (p.id, p.clone())).collect();
        let mut domain_names = HashMap::new();
        for d in domains.iter().filter(|d| d.active) {
            domain_names.insert(d.id, d.name.to_ascii_lowercase());
            dir.domains.insert(d.name.to_ascii_lowercase(), d.policy_id);
            dir.check_policy(d.policy_id, &format!("domain {}", d.name));
        }
        for a in alias_domains.iter().filter(|a| a.active) {
            match domain_names.get(&a.target_domain_id) {
                Some(target) => {
                    dir.alias_domains.insert(a.source.to_ascii_lowercase(), target.clone());
                }
                None => dir.diagnostics.push(format!("alias domain {} points to a missing or inactive domain", a.source)),
            }
        }
        for m in mailboxes.iter().filter(|m| m.active) {
            dir.mailboxes.insert(m.address.to_ascii_lowercase(), m.policy_id);
            dir.check_policy(m.policy_id, &format!("mailbox {}", m.address));
        }
        for a in aliases.iter().filter(|a| a.active) {
            dir.aliases.insert(a.source.to_ascii_lowercase(), ());
        }
        dir
    }

    fn check_policy(&mut self, id: Option<i64>, whose: &str) {
        if let Some(id) = id {
            if !self.policies.contains_key(&id) {
                self.diagnostics.push(format!("{whose} names spam policy {id}, which does not exist: its levels come from the next level down"));
            }
        }
    }

    pub fn server_default(&self) -> &PolicyValues {
        &self.server_default
    }

    /// Resolves the policy of `address` (any case; `<...>` and a `+detail` are tolerated).
    pub fn effective_policy(&self, address: &str) -> EffectivePolicy {
        let address = canonical_address(address);
        let (local, domain) = match address.rsplit_once('@') {
            Some((l, d)) => (l.to_string(), d.to_string()),
            None => (address.clone(), String::new()),
        };
        let domain = self.alias_domains.get(&domain).cloned().unwrap_or(domain);
        let address = format!("{local}@{domain}");
        // `user+detail@domain` is delivered to `user@domain` by Postfix's recipient_delimiter.
        let base = match local.split_once('+') {
            Some((user, _)) if !user.is_empty() => format!("{user}@{domain}"),
            _ => address.clone(),
        };

        let mut levels: Vec<(&SpamPolicy, ValueSource)> = Vec::new();
        let kind;
        if let Some(policy_id) = self.mailboxes.get(&address).or_else(|| self.mailboxes.get(&base)) {
            kind = RecipientKind::Mailbox;
            if let Some(p) = policy_id.and_then(|id| self.policies.get(&id)) {
                levels.push((p, ValueSource::Mailbox { address: address.clone(), policy: p.name.clone() }));
            }
        } else if self.aliases.contains_key(&address) || self.aliases.contains_key(&base) || self.aliases.contains_key(&format!("@{domain}")) {
            kind = RecipientKind::Alias;
        } else if self.domains.contains_key(&domain) {
            kind = RecipientKind::UnknownInDomain;
        } else {
            kind = RecipientKind::NotHosted;
        }
        if let Some(Some(id)) = self.domains.get(&domain) {
            if let Some(p) = self.policies.get(id) {
                levels.push((p, ValueSource::Domain { domain: domain.clone(), policy: p.name.clone() }));
            }
        }

        fn pick<T: Clone>(levels: &[(&SpamPolicy, ValueSource)], field: impl Fn(&SpamPolicy) -> Option<T>, default: T) -> Sourced<T> {
            for (policy, source) in levels {
                if let Some(v) = field(policy) {
                    return Sourced { value: v, source: source.clone() };
                }
            }
            Sourced { value: default, source: ValueSource::Default }
        }
        let d = &self.server_default;
        EffectivePolicy {
            address,
            kind,
            tag: pick(&levels, |p| p.tag, d.tag),
            tag2: pick(&levels, |p| p.tag2, d.tag2),
            kill: pick(&levels, |p| p.kill, d.kill),
            modifies_subject: pick(&levels, |p| p.modifies_subject, d.modifies_subject),
            subject_tag: pick(&levels, |p| p.subject_tag.clone(), d.subject_tag.clone()),
            spam_lover: pick(&levels, |p| p.spam_lover, d.spam_lover),
            virus_lover: pick(&levels, |p| p.virus_lover, d.virus_lover),
        }
    }
}

/// `<User@Example.ORG>` -> `user@example.org`.
pub fn canonical_address(address: &str) -> String {
    let a = address.trim();
    let a = a.strip_prefix('<').unwrap_or(a);
    let a = a.strip_suffix('>').unwrap_or(a);
    a.trim().to_ascii_lowercase()
}

/// The text of `mailward policy explain ADDRESS`.
pub fn render_policy_explanation(p: &EffectivePolicy) -> String {
    let kind = match p.kind {
        RecipientKind::Mailbox => "mailbox",
        RecipientKind::Alias => "alias (uses its domain's policy)",
        RecipientKind::UnknownInDomain => "no mailbox or alias of a hosted domain (uses the domain's policy)",
        RecipientKind::NotHosted => "not in a hosted domain (uses the server default)",
    };
    let mut s = format!("{}: {kind}\n", p.address);
    let row = |name: &str, value: String, source: &ValueSource| format!("  {name:<17}{value:<14}from {source}\n");
    s += &row("tag level", fmt_score(p.tag.value), &p.tag.source);
    s += &row("tag2 level", fmt_score(p.tag2.value), &p.tag2.source);
    s += &row("kill level", fmt_score(p.kill.value), &p.kill.source);
    s += &row("modifies subject", yes_no(p.modifies_subject.value), &p.modifies_subject.source);
    s += &row("subject tag", format!("{:?}", p.subject_tag.value), &p.subject_tag.source);
    s += &row("spam lover", yes_no(p.spam_lover.value), &p.spam_lover.source);
    s += &row("virus lover", yes_no(p.virus_lover.value), &p.virus_lover.source);
    s
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

/// Scores as amavis writes them: at most three decimals, no trailing zeros (`7.039`, `5`).
pub fn fmt_score(score: f64) -> String {
    let s = format!("{:.3}", score);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}
