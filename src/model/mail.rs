//! Mail objects: domains, mailboxes, aliases/forwards/catch-alls, alias domains, filters.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Domain {
    pub id: i64,
    /// Canonical (punycode) name.
    pub name: String,
    pub customer_id: i64,
    pub active: bool,
    pub server_set_id: Option<i64>,
    /// Assigned spam policy; `None` inherits the server default.
    pub policy_id: Option<i64>,
    pub created_at: i64,
}

/// Where the "move spam to Junk" step runs relative to the user's own filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpamMove {
    Before,
    After,
    Off,
}

impl SpamMove {
    pub fn as_str(self) -> &'static str {
        match self {
            SpamMove::Before => "before",
            SpamMove::After => "after",
            SpamMove::Off => "off",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "before" => SpamMove::Before,
            "after" => SpamMove::After,
            "off" => SpamMove::Off,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Autoresponder {
    pub enabled: bool,
    pub subject: String,
    pub text: String,
    /// Unix seconds; `None` = open-ended.
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// A mailbox as read paths return it. The password hash is deliberately not a field: only
/// the store's credential lookups and the Dovecot writer see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mailbox {
    pub id: i64,
    pub domain_id: i64,
    pub address: String,
    pub display_name: String,
    pub quota_mb: i64,
    pub spam_move: SpamMove,
    /// Junk older than this many days is purged; 0 = never.
    pub junk_purge_days: i64,
    pub trash_purge_days: i64,
    pub autoresponder: Autoresponder,
    /// Addresses that get a copy of every message.
    pub copy_to: Vec<String>,
    pub policy_id: Option<i64>,
    pub active: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AliasKind {
    /// An address in a hosted domain delivered to one or more local mailboxes.
    Alias,
    /// An address delivered to outside addresses.
    Forward,
    /// `@domain`: every address of the domain without its own mailbox or alias.
    Catchall,
}

impl AliasKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AliasKind::Alias => "alias",
            AliasKind::Forward => "forward",
            AliasKind::Catchall => "catchall",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "alias" => AliasKind::Alias,
            "forward" => AliasKind::Forward,
            "catchall" => AliasKind::Catchall,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alias {
    pub id: i64,
    pub domain_id: i64,
    pub kind: AliasKind,
    /// `local@domain`, or `@domain` for a catch-all.
    pub source: String,
    pub destinations: Vec<String>,
    pub active: bool,
}

/// `source` domain delivers as `target` domain (`info@alias.org` -> `info@example.org`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AliasDomain {
    pub id: i64,
    pub source: String,
    pub target_domain_id: i64,
    pub customer_id: i64,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterField {
    Subject,
    From,
    To,
    /// Any header named by the filter's `header` value, e.g. `List-Id`.
    Header,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterMatch {
    Contains,
    Is,
    Begins,
    Ends,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterAction {
    /// Move into the folder named by `argument`.
    Move,
    Discard,
    /// Reject with the reason in `argument`.
    Reject,
    /// Forward to the address in `argument`.
    Forward,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident = $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str { match self { $(<$t>::$v => $s),* } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some(<$t>::$v),)* _ => None } }
            pub const NAMES: &'static [&'static str] = &[$($s),*];
        }
    };
}
str_enum!(FilterField { Subject = "subject", From = "from", To = "to", Header = "header" });
str_enum!(FilterMatch { Contains = "contains", Is = "is", Begins = "begins", Ends = "ends" });
str_enum!(FilterAction { Move = "move", Discard = "discard", Reject = "reject", Forward = "forward" });

/// One user mail filter, applied by the mailbox's Sieve script in `position` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailFilter {
    pub id: i64,
    pub mailbox_id: i64,
    pub name: String,
    pub field: FilterField,
    /// Header name when `field` is `header`.
    pub header: String,
    pub matching: FilterMatch,
    pub value: String,
    pub action: FilterAction,
    pub argument: String,
    pub position: i64,
    pub active: bool,
}
