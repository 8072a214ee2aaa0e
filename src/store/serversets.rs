//! Mail server sets (what autoconfig announces), assigned to domains.

use super::changelog::{snapshot, Change};
use super::error::duplicate_or;
use super::{rows, Bind, Store, StoreError};
use crate::access::Scope;
use crate::model::ServerSet;
use sqlx::Row;

impl Store {
    pub async fn add_server_set(&self, actor: &str, s: &ServerSet) -> Result<ServerSet, StoreError> {
        let mut tx = self.begin().await?;
        if sqlx::query(self.sql("SELECT id FROM server_sets WHERE name = ?")).bind(s.name.clone()).fetch_optional(&mut *tx).await?.is_some() {
            return Err(StoreError::Duplicate { kind: "server set", name: s.name.clone() });
        }
        let sql = format!(
            "INSERT INTO server_sets (name, provider_id, display_name, display_short_name, node, endpoints, oauth2, caldav_url, carddav_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {}",
            rows::SERVER_SET_COLUMNS
        );
        let row = self
            .bind_server_set(sqlx::query(self.sql(&sql)), s)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| duplicate_or(e, "server set", &s.name))?;
        let stored = rows::server_set(&row)?;
        let change = Change { actor, action: "serverset.add", object_kind: "serverset", object: &stored.name, scope: Scope::default(), old: None, new: snapshot(&stored) };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(stored)
    }

    fn bind_server_set<'q>(
        &self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
        s: &ServerSet,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        q.bind(s.name.clone())
            .bind(s.provider_id.clone())
            .bind(s.display_name.clone())
            .bind(s.display_short_name.clone())
            .bind(s.node.clone())
            .bind(serde_json::to_string(&s.endpoints).unwrap_or_else(|_| "[]".into()))
            .bind(s.oauth2.as_ref().and_then(|o| serde_json::to_string(o).ok()))
            .bind(s.caldav_url.clone())
            .bind(s.carddav_url.clone())
    }

    pub async fn server_set_by_name(&self, name: &str) -> Result<Option<ServerSet>, StoreError> {
        let sql = format!("SELECT {} FROM server_sets WHERE name = ?", rows::SERVER_SET_COLUMNS);
        self.fetch_optional(&sql, vec![Bind::Text(name.to_string())]).await?.as_ref().map(rows::server_set).transpose()
    }

    pub async fn list_server_sets(&self) -> Result<Vec<ServerSet>, StoreError> {
        let sql = format!("SELECT {} FROM server_sets ORDER BY name", rows::SERVER_SET_COLUMNS);
        self.fetch_all(&sql, vec![]).await?.iter().map(rows::server_set).collect()
    }

    pub async fn update_server_set(&self, actor: &str, old: &ServerSet, new: &ServerSet) -> Result<ServerSet, StoreError> {
        let mut tx = self.begin().await?;
        let sql = "UPDATE server_sets SET name = ?, provider_id = ?, display_name = ?, display_short_name = ?, node = ?, endpoints = ?, oauth2 = ?, caldav_url = ?, carddav_url = ? WHERE id = ?";
        self.bind_server_set(sqlx::query(self.sql(sql)), new).bind(old.id).execute(&mut *tx).await.map_err(|e| duplicate_or(e, "server set", &new.name))?;
        let change = Change { actor, action: "serverset.set", object_kind: "serverset", object: &old.name, scope: Scope::default(), old: snapshot(old), new: snapshot(new) };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(new.clone())
    }

    pub async fn delete_server_set(&self, actor: &str, s: &ServerSet) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n: i64 = sqlx::query(self.sql("SELECT COUNT(*) AS n FROM domains WHERE server_set_id = ?")).bind(s.id).fetch_one(&mut *tx).await?.try_get("n")?;
        if n > 0 {
            return Err(StoreError::InUse { kind: "server set", name: s.name.clone(), by: format!("{n} domains") });
        }
        sqlx::query(self.sql("DELETE FROM server_sets WHERE id = ?")).bind(s.id).execute(&mut *tx).await?;
        let change = Change { actor, action: "serverset.del", object_kind: "serverset", object: &s.name, scope: Scope::default(), old: snapshot(s), new: None };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(())
    }
}
