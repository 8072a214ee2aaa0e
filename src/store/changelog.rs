//! The append-only change log. Entries are written inside the transaction of the change they
//! record, so the log and the data never disagree.

use super::{now, Bind, Store, StoreError, Tx};
use crate::access::Scope;
use crate::model::ChangeEntry;
use serde::Serialize;
use sqlx::Row;

/// What a change is, before it gets its sequence number.
pub(crate) struct Change<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object: &'a str,
    pub scope: Scope,
    pub old: Option<serde_json::Value>,
    pub new: Option<serde_json::Value>,
}

/// Serialises a model value for the log. Model read types carry no password, so neither does
/// the log.
pub(crate) fn snapshot<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Only entries with a larger id (the replication cursor).
    pub after: Option<i64>,
    pub limit: i64,
    /// Only entries under this reseller / customer (what non-admins may read).
    pub reseller: Option<i64>,
    pub customer: Option<i64>,
    pub object: Option<String>,
}

impl Store {
    pub(crate) async fn append_change(&self, tx: &mut Tx<'_>, change: Change<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO change_log (at, actor, action, object_kind, object, scope_reseller, scope_customer, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
        sqlx::query(self.sql(sql))
            .bind(now())
            .bind(change.actor.to_string())
            .bind(change.action.to_string())
            .bind(change.object_kind.to_string())
            .bind(change.object.to_string())
            .bind(change.scope.reseller)
            .bind(change.scope.customer)
            .bind(change.old.map(|v| v.to_string()))
            .bind(change.new.map(|v| v.to_string()))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn read_log(&self, query: &LogQuery) -> Result<Vec<ChangeEntry>, StoreError> {
        let mut sql = "SELECT id, at, actor, action, object_kind, object, old_value, new_value FROM change_log WHERE 1 = 1".to_string();
        let mut binds = Vec::new();
        if let Some(after) = query.after {
            sql.push_str(" AND id > ?");
            binds.push(Bind::Int(after));
        }
        if let Some(r) = query.reseller {
            sql.push_str(" AND scope_reseller = ?");
            binds.push(Bind::Int(r));
        }
        if let Some(c) = query.customer {
            sql.push_str(" AND scope_customer = ?");
            binds.push(Bind::Int(c));
        }
        if let Some(o) = &query.object {
            sql.push_str(" AND object = ?");
            binds.push(Bind::Text(o.clone()));
        }
        // Newest entries when reading the audit trail, oldest first when following a cursor.
        let limit = if query.limit > 0 { query.limit } else { 100 };
        if query.after.is_some() {
            sql.push_str(&format!(" ORDER BY id ASC LIMIT {limit}"));
        } else {
            sql = format!("SELECT * FROM ({sql} ORDER BY id DESC LIMIT {limit}) newest ORDER BY id ASC");
        }
        let rows = self.fetch_all(&sql, binds).await?;
        rows.iter()
            .map(|row| {
                let parse = |col: &str| -> Result<Option<serde_json::Value>, StoreError> {
                    let text: Option<String> = row.try_get(col)?;
                    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("change_log.{col}: {e}")))).transpose()
                };
                Ok(ChangeEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    object_kind: row.try_get("object_kind")?,
                    object: row.try_get("object")?,
                    old: parse("old_value")?,
                    new: parse("new_value")?,
                })
            })
            .collect()
    }

    /// The newest change-log id: what `serve` compares to notice that something changed.
    pub async fn last_change_id(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT {} AS n FROM change_log", self.int_expr("COALESCE(MAX(id), 0)"));
        let row = sqlx::query(self.sql(&sql)).fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }
}

/// Object counts for `/metrics`.
pub struct ObjectCounts {
    pub domains: i64,
    pub mailboxes: i64,
    pub aliases: i64,
    pub last_change: i64,
}

impl Store {
    pub async fn object_counts(&self) -> Result<ObjectCounts, StoreError> {
        let count = |table: &'static str| async move {
            let row = self.fetch_optional(&format!("SELECT COUNT(*) AS n FROM {table}"), vec![]).await?;
            Ok::<i64, StoreError>(row.map(|r| r.try_get::<i64, _>("n")).transpose()?.unwrap_or(0))
        };
        Ok(ObjectCounts { domains: count("domains").await?, mailboxes: count("mailboxes").await?, aliases: count("aliases").await?, last_change: self.last_change_id().await? })
    }
}
