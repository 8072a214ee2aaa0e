//! The append-only change log: audit trail and replication cursor.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeEntry {
    /// Monotonic sequence number; other nodes remember the last one they applied.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who made the change, e.g. `admin`, `reseller:acme`, `mailbox:alice@example.org`.
    pub actor: String,
    /// What was done, `noun.verb`: `domain.add`, `mailbox.set`, ...
    pub action: String,
    /// The object's kind and its name (address, domain name, account name).
    pub object_kind: String,
    pub object: String,
    /// JSON of the object before and after the change; passwords never appear.
    pub old: Option<serde_json::Value>,
    pub new: Option<serde_json::Value>,
}
