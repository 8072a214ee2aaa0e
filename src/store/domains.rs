//! Domains and alias domains.

use super::changelog::{snapshot, Change};
use super::error::duplicate_or;
use super::{now, rows, Bind, Store, StoreError};
use crate::access::Scope;
use crate::model::{AliasDomain, Domain, LimitKind};
use sqlx::Row;

pub struct NewDomain {
    pub name: String,
    pub customer_id: i64,
    pub server_set_id: Option<i64>,
    pub policy_id: Option<i64>,
    pub active: bool,
}

impl Store {
    /// The ownership scope of everything under a customer.
    pub async fn customer_scope(&self, customer_id: i64) -> Result<Scope, StoreError> {
        let account = self.account(customer_id).await?;
        Ok(Scope { reseller: account.parent_id, customer: Some(customer_id), mailbox: None })
    }

    async fn name_taken(&self, tx: &mut super::Tx<'_>, name: &str) -> Result<bool, StoreError> {
        let sql = "SELECT name FROM domains WHERE name = ? UNION ALL SELECT source FROM alias_domains WHERE source = ?";
        Ok(sqlx::query(self.sql(sql)).bind(name.to_string()).bind(name.to_string()).fetch_optional(&mut **tx).await?.is_some())
    }

    pub async fn add_domain(&self, actor: &str, new: NewDomain) -> Result<Domain, StoreError> {
        let mut tx = self.begin().await?;
        let holders = self.lock_holders(&mut tx, new.customer_id).await?;
        if self.name_taken(&mut tx, &new.name).await? {
            return Err(StoreError::Duplicate { kind: "domain", name: new.name });
        }
        self.ensure_room(&mut tx, &holders, LimitKind::Domains, 1).await?;
        let sql = format!(
            "INSERT INTO domains (name, customer_id, active, server_set_id, policy_id, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {}",
            rows::DOMAIN_COLUMNS
        );
        let row = sqlx::query(self.sql(&sql))
            .bind(new.name.clone())
            .bind(new.customer_id)
            .bind(new.active as i64)
            .bind(new.server_set_id)
            .bind(new.policy_id)
            .bind(now())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| duplicate_or(e, "domain", &new.name))?;
        let domain = rows::domain(&row)?;
        let scope = Scope { reseller: holders.reseller_id(), customer: Some(holders.customer.id), mailbox: None };
        self.append_change(&mut tx, Change { actor, action: "domain.add", object_kind: "domain", object: &domain.name, scope, old: None, new: snapshot(&domain) })
            .await?;
        tx.commit().await?;
        Ok(domain)
    }

    pub async fn domain_by_name(&self, name: &str) -> Result<Option<Domain>, StoreError> {
        let sql = format!("SELECT {} FROM domains WHERE name = ?", rows::DOMAIN_COLUMNS);
        self.fetch_optional(&sql, vec![Bind::Text(name.to_string())]).await?.as_ref().map(rows::domain).transpose()
    }

    pub async fn domain(&self, id: i64) -> Result<Domain, StoreError> {
        let sql = format!("SELECT {} FROM domains WHERE id = ?", rows::DOMAIN_COLUMNS);
        self.fetch_optional(&sql, vec![Bind::Int(id)])
            .await?
            .as_ref()
            .map(rows::domain)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("domain", id.to_string()))
    }

    /// Domains in a scope: all of them, one reseller's, or one customer's.
    pub async fn list_domains(&self, scope: Scope) -> Result<Vec<Domain>, StoreError> {
        let mut sql = format!("SELECT {} FROM domains WHERE 1 = 1", rows::DOMAIN_COLUMNS);
        let mut binds = Vec::new();
        super::push_scope(&mut sql, &mut binds, scope, "customer_id");
        sql.push_str(" ORDER BY name");
        self.fetch_all(&sql, binds).await?.iter().map(rows::domain).collect()
    }

    /// Writes every changeable field of `new` (active, server set, policy); the name and the
    /// owner of a domain do not change.
    pub async fn update_domain(&self, actor: &str, new: &Domain) -> Result<Domain, StoreError> {
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {} FROM domains WHERE id = ?{}", rows::DOMAIN_COLUMNS, self.for_update());
        let old = sqlx::query(self.sql(&sql)).bind(new.id).fetch_optional(&mut *tx).await?;
        let old = old.as_ref().map(rows::domain).transpose()?.ok_or_else(|| StoreError::not_found("domain", &new.name))?;
        sqlx::query(self.sql("UPDATE domains SET active = ?, server_set_id = ?, policy_id = ? WHERE id = ?"))
            .bind(new.active as i64)
            .bind(new.server_set_id)
            .bind(new.policy_id)
            .bind(new.id)
            .execute(&mut *tx)
            .await?;
        let scope = self.scope_in_tx(&mut tx, old.customer_id).await?;
        self.append_change(&mut tx, Change { actor, action: "domain.set", object_kind: "domain", object: &old.name, scope, old: snapshot(&old), new: snapshot(new) })
            .await?;
        tx.commit().await?;
        Ok(new.clone())
    }

    pub(crate) async fn scope_in_tx(&self, tx: &mut super::Tx<'_>, customer_id: i64) -> Result<Scope, StoreError> {
        let row = sqlx::query(self.sql("SELECT parent_id FROM accounts WHERE id = ?")).bind(customer_id).fetch_one(&mut **tx).await?;
        Ok(Scope { reseller: row.try_get("parent_id")?, customer: Some(customer_id), mailbox: None })
    }

    /// Deletes a domain that has no mailboxes, aliases or alias domains left.
    pub async fn delete_domain(&self, actor: &str, domain: &Domain) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (table, column, what) in
            [("mailboxes", "domain_id", "mailboxes"), ("aliases", "domain_id", "aliases"), ("alias_domains", "target_domain_id", "alias domains")]
        {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = ?");
            let n: i64 = sqlx::query(self.sql(&sql)).bind(domain.id).fetch_one(&mut *tx).await?.try_get("n")?;
            if n > 0 {
                return Err(StoreError::InUse { kind: "domain", name: domain.name.clone(), by: format!("{n} {what}") });
            }
        }
        let deleted = sqlx::query(self.sql("DELETE FROM domains WHERE id = ?")).bind(domain.id).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::not_found("domain", &domain.name));
        }
        let scope = self.scope_in_tx(&mut tx, domain.customer_id).await?;
        self.append_change(&mut tx, Change { actor, action: "domain.del", object_kind: "domain", object: &domain.name, scope, old: snapshot(domain), new: None })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_alias_domain(&self, actor: &str, source: &str, target: &Domain) -> Result<AliasDomain, StoreError> {
        let mut tx = self.begin().await?;
        let holders = self.lock_holders(&mut tx, target.customer_id).await?;
        if self.name_taken(&mut tx, source).await? {
            return Err(StoreError::Duplicate { kind: "domain", name: source.to_string() });
        }
        self.ensure_room(&mut tx, &holders, LimitKind::Domains, 1).await?;
        let row = sqlx::query(self.sql(
            "INSERT INTO alias_domains (source, target_domain_id, customer_id, active) VALUES (?, ?, ?, 1) RETURNING id, source, target_domain_id, customer_id, active",
        ))
        .bind(source.to_string())
        .bind(target.id)
        .bind(target.customer_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| duplicate_or(e, "domain", source))?;
        let alias_domain = alias_domain_row(&row)?;
        let scope = Scope { reseller: holders.reseller_id(), customer: Some(holders.customer.id), mailbox: None };
        self.append_change(&mut tx, Change { actor, action: "aliasdomain.add", object_kind: "aliasdomain", object: source, scope, old: None, new: snapshot(&alias_domain) })
            .await?;
        tx.commit().await?;
        Ok(alias_domain)
    }

    pub async fn list_alias_domains(&self, scope: Scope) -> Result<Vec<AliasDomain>, StoreError> {
        let mut sql = "SELECT id, source, target_domain_id, customer_id, active FROM alias_domains WHERE 1 = 1".to_string();
        let mut binds = Vec::new();
        super::push_scope(&mut sql, &mut binds, scope, "customer_id");
        sql.push_str(" ORDER BY source");
        self.fetch_all(&sql, binds).await?.iter().map(alias_domain_row).collect()
    }

    pub async fn delete_alias_domain(&self, actor: &str, alias_domain: &AliasDomain) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("DELETE FROM alias_domains WHERE id = ?")).bind(alias_domain.id).execute(&mut *tx).await?;
        let scope = self.scope_in_tx(&mut tx, alias_domain.customer_id).await?;
        let change = Change {
            actor,
            action: "aliasdomain.del",
            object_kind: "aliasdomain",
            object: &alias_domain.source,
            scope,
            old: snapshot(alias_domain),
            new: None,
        };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(super) fn alias_domain_row(row: &sqlx::any::AnyRow) -> Result<AliasDomain, StoreError> {
    Ok(AliasDomain {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        target_domain_id: row.try_get("target_domain_id")?,
        customer_id: row.try_get("customer_id")?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}
