//! Customers' websites, for their GDPR settings (log retention, statistics).

use super::changelog::{snapshot, Change};
use super::error::duplicate_or;
use super::{rows, Bind, Store, StoreError};
use crate::access::Scope;
use crate::model::Site;

impl Store {
    pub async fn add_site(&self, actor: &str, customer_id: i64, name: &str, log_retention_days: i64, statistics: bool) -> Result<Site, StoreError> {
        let mut tx = self.begin().await?;
        let holders = self.lock_holders(&mut tx, customer_id).await?;
        if sqlx::query(self.sql("SELECT id FROM sites WHERE name = ?")).bind(name.to_string()).fetch_optional(&mut *tx).await?.is_some() {
            return Err(StoreError::Duplicate { kind: "site", name: name.to_string() });
        }
        let row = sqlx::query(self.sql(
            "INSERT INTO sites (customer_id, name, log_retention_days, statistics) VALUES (?, ?, ?, ?) RETURNING id, customer_id, name, log_retention_days, statistics",
        ))
        .bind(customer_id)
        .bind(name.to_string())
        .bind(log_retention_days)
        .bind(statistics as i64)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| duplicate_or(e, "site", name))?;
        let site = rows::site(&row)?;
        let scope = Scope { reseller: holders.reseller_id(), customer: Some(customer_id), mailbox: None };
        self.append_change(&mut tx, Change { actor, action: "site.add", object_kind: "site", object: name, scope, old: None, new: snapshot(&site) }).await?;
        tx.commit().await?;
        Ok(site)
    }

    pub async fn site_by_name(&self, name: &str) -> Result<Option<Site>, StoreError> {
        self.fetch_optional("SELECT id, customer_id, name, log_retention_days, statistics FROM sites WHERE name = ?", vec![Bind::Text(name.into())])
            .await?
            .as_ref()
            .map(rows::site)
            .transpose()
    }

    pub async fn list_sites(&self, scope: Scope) -> Result<Vec<Site>, StoreError> {
        let mut sql = "SELECT id, customer_id, name, log_retention_days, statistics FROM sites WHERE 1 = 1".to_string();
        let mut binds = Vec::new();
        super::push_scope(&mut sql, &mut binds, scope, "customer_id");
        sql.push_str(" ORDER BY name");
        self.fetch_all(&sql, binds).await?.iter().map(rows::site).collect()
    }

    pub async fn update_site(&self, actor: &str, old: &Site, new: &Site) -> Result<Site, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("UPDATE sites SET log_retention_days = ?, statistics = ? WHERE id = ?"))
            .bind(new.log_retention_days)
            .bind(new.statistics as i64)
            .bind(old.id)
            .execute(&mut *tx)
            .await?;
        let scope = self.scope_in_tx(&mut tx, old.customer_id).await?;
        self.append_change(&mut tx, Change { actor, action: "site.set", object_kind: "site", object: &old.name, scope, old: snapshot(old), new: snapshot(new) }).await?;
        tx.commit().await?;
        Ok(new.clone())
    }

    pub async fn delete_site(&self, actor: &str, site: &Site) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("DELETE FROM sites WHERE id = ?")).bind(site.id).execute(&mut *tx).await?;
        let scope = self.scope_in_tx(&mut tx, site.customer_id).await?;
        self.append_change(&mut tx, Change { actor, action: "site.del", object_kind: "site", object: &site.name, scope, old: snapshot(site), new: None }).await?;
        tx.commit().await?;
        Ok(())
    }
}
