//! Mailboxes and aliases (aliases, forwards, catch-alls): the addresses of a domain.

use super::changelog::{snapshot, Change};
use super::error::duplicate_or;
use super::{now, rows, Bind, Store, StoreError, Tx};
use crate::access::{LimitOwner, Scope};
use crate::model::{Alias, AliasKind, Autoresponder, Domain, LimitKind, Mailbox, SpamMove};
use sqlx::Row;

pub struct NewMailbox {
    pub address: String,
    pub password_hash: String,
    pub display_name: String,
    pub quota_mb: i64,
    pub spam_move: SpamMove,
    pub policy_id: Option<i64>,
}

/// A mailbox with its hash, for logins and for the Dovecot passdb writer only.
pub struct MailboxCredentials {
    pub mailbox: Mailbox,
    pub password_hash: String,
}

impl Store {
    /// An address may be a mailbox or an alias source, never both.
    async fn address_taken(&self, tx: &mut Tx<'_>, address: &str) -> Result<bool, StoreError> {
        let sql = "SELECT address FROM mailboxes WHERE address = ? UNION ALL SELECT source FROM aliases WHERE source = ?";
        Ok(sqlx::query(self.sql(sql)).bind(address.to_string()).bind(address.to_string()).fetch_optional(&mut **tx).await?.is_some())
    }

    pub async fn add_mailbox(&self, actor: &str, domain: &Domain, new: NewMailbox) -> Result<Mailbox, StoreError> {
        let mut tx = self.begin().await?;
        let holders = self.lock_holders(&mut tx, domain.customer_id).await?;
        if self.address_taken(&mut tx, &new.address).await? {
            return Err(StoreError::Duplicate { kind: "address", name: new.address });
        }
        self.ensure_room(&mut tx, &holders, LimitKind::Mailboxes, 1).await?;
        quota_required(&holders, new.quota_mb)?;
        self.ensure_room(&mut tx, &holders, LimitKind::QuotaMb, new.quota_mb).await?;
        let sql = format!(
            "INSERT INTO mailboxes (domain_id, address, password_hash, display_name, quota_mb, spam_move, junk_purge_days, trash_purge_days, autoresponder_enabled, autoresponder_subject, autoresponder_text, autoresponder_start, autoresponder_end, copy_to, policy_id, active, created_at) VALUES (?, ?, ?, ?, ?, ?, 30, 30, 0, '', '', NULL, NULL, '[]', ?, 1, ?) RETURNING {}",
            rows::MAILBOX_COLUMNS
        );
        let row = sqlx::query(self.sql(&sql))
            .bind(domain.id)
            .bind(new.address.clone())
            .bind(new.password_hash)
            .bind(new.display_name)
            .bind(new.quota_mb)
            .bind(new.spam_move.as_str())
            .bind(new.policy_id)
            .bind(now())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| duplicate_or(e, "address", &new.address))?;
        let mailbox = rows::mailbox(&row)?;
        let scope = Scope { reseller: holders.reseller_id(), customer: Some(holders.customer.id), mailbox: Some(mailbox.id) };
        let change = Change { actor, action: "mailbox.add", object_kind: "mailbox", object: &mailbox.address, scope, old: None, new: snapshot(&mailbox) };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(mailbox)
    }

    pub async fn mailbox_by_address(&self, address: &str) -> Result<Option<Mailbox>, StoreError> {
        let sql = format!("SELECT {} FROM mailboxes WHERE address = ?", rows::MAILBOX_COLUMNS);
        self.fetch_optional(&sql, vec![Bind::Text(address.to_string())]).await?.as_ref().map(rows::mailbox).transpose()
    }

    /// Mailboxes of one domain, or in a scope when `domain_id` is `None`.
    pub async fn list_mailboxes(&self, scope: Scope, domain_id: Option<i64>) -> Result<Vec<Mailbox>, StoreError> {
        let cols = rows::MAILBOX_COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ");
        let mut sql = format!("SELECT {cols} FROM mailboxes m JOIN domains d ON m.domain_id = d.id WHERE 1 = 1");
        let mut binds = Vec::new();
        if let Some(id) = domain_id {
            sql.push_str(" AND m.domain_id = ?");
            binds.push(Bind::Int(id));
        }
        if let Some(m) = scope.mailbox {
            sql.push_str(" AND m.id = ?");
            binds.push(Bind::Int(m));
        } else {
            super::push_scope(&mut sql, &mut binds, scope, "d.customer_id");
        }
        sql.push_str(" ORDER BY m.address");
        self.fetch_all(&sql, binds).await?.iter().map(rows::mailbox).collect()
    }

    /// Writes every changeable field of `new`; a quota increase is checked against limits.
    pub async fn update_mailbox(&self, actor: &str, new: &Mailbox, password_hash: Option<String>) -> Result<Mailbox, StoreError> {
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {} FROM mailboxes WHERE id = ?{}", rows::MAILBOX_COLUMNS, self.for_update());
        let old = sqlx::query(self.sql(&sql)).bind(new.id).fetch_optional(&mut *tx).await?;
        let old = old.as_ref().map(rows::mailbox).transpose()?.ok_or_else(|| StoreError::not_found("mailbox", &new.address))?;
        let customer_id: i64 =
            sqlx::query(self.sql("SELECT customer_id FROM domains WHERE id = ?")).bind(old.domain_id).fetch_one(&mut *tx).await?.try_get("customer_id")?;
        let holders = self.lock_holders(&mut tx, customer_id).await?;
        if new.quota_mb != old.quota_mb {
            quota_required(&holders, new.quota_mb)?;
            self.ensure_room(&mut tx, &holders, LimitKind::QuotaMb, new.quota_mb - old.quota_mb).await?;
        }
        let a: &Autoresponder = &new.autoresponder;
        let sql = "UPDATE mailboxes SET display_name = ?, quota_mb = ?, spam_move = ?, junk_purge_days = ?, trash_purge_days = ?, autoresponder_enabled = ?, autoresponder_subject = ?, autoresponder_text = ?, autoresponder_start = ?, autoresponder_end = ?, copy_to = ?, policy_id = ?, active = ? WHERE id = ?";
        sqlx::query(self.sql(sql))
            .bind(new.display_name.clone())
            .bind(new.quota_mb)
            .bind(new.spam_move.as_str())
            .bind(new.junk_purge_days)
            .bind(new.trash_purge_days)
            .bind(a.enabled as i64)
            .bind(a.subject.clone())
            .bind(a.text.clone())
            .bind(a.start)
            .bind(a.end)
            .bind(serde_json::to_string(&new.copy_to).unwrap_or_else(|_| "[]".into()))
            .bind(new.policy_id)
            .bind(new.active as i64)
            .bind(new.id)
            .execute(&mut *tx)
            .await?;
        let mut new_value = snapshot(new);
        if let Some(hash) = password_hash {
            sqlx::query(self.sql("UPDATE mailboxes SET password_hash = ? WHERE id = ?")).bind(hash).bind(new.id).execute(&mut *tx).await?;
            if let Some(serde_json::Value::Object(map)) = new_value.as_mut() {
                map.insert("password".into(), "changed".into());
            }
        }
        let scope = Scope { reseller: holders.reseller_id(), customer: Some(customer_id), mailbox: Some(new.id) };
        let change = Change { actor, action: "mailbox.set", object_kind: "mailbox", object: &old.address, scope, old: snapshot(&old), new: new_value };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(new.clone())
    }

    /// Deletes a mailbox and its filters.
    pub async fn delete_mailbox(&self, actor: &str, mailbox: &Mailbox) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("DELETE FROM mail_filters WHERE mailbox_id = ?")).bind(mailbox.id).execute(&mut *tx).await?;
        let deleted = sqlx::query(self.sql("DELETE FROM mailboxes WHERE id = ?")).bind(mailbox.id).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::not_found("mailbox", &mailbox.address));
        }
        let customer_id: i64 =
            sqlx::query(self.sql("SELECT customer_id FROM domains WHERE id = ?")).bind(mailbox.domain_id).fetch_one(&mut *tx).await?.try_get("customer_id")?;
        let mut scope = self.scope_in_tx(&mut tx, customer_id).await?;
        scope.mailbox = Some(mailbox.id);
        let change = Change { actor, action: "mailbox.del", object_kind: "mailbox", object: &mailbox.address, scope, old: snapshot(mailbox), new: None };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The one read path for a mailbox's hash: logins and the Dovecot passdb writer.
    pub async fn mailbox_credentials(&self, address: &str) -> Result<Option<MailboxCredentials>, StoreError> {
        let sql = format!("SELECT {}, password_hash FROM mailboxes WHERE address = ?", rows::MAILBOX_COLUMNS);
        match self.fetch_optional(&sql, vec![Bind::Text(address.to_string())]).await? {
            Some(row) => Ok(Some(MailboxCredentials { mailbox: rows::mailbox(&row)?, password_hash: row.try_get("password_hash")? })),
            None => Ok(None),
        }
    }

    /// Every mailbox with its hash, for the Dovecot passdb writer.
    pub async fn all_mailbox_credentials(&self) -> Result<Vec<MailboxCredentials>, StoreError> {
        let sql = format!("SELECT {}, password_hash FROM mailboxes ORDER BY address", rows::MAILBOX_COLUMNS);
        self.fetch_all(&sql, vec![])
            .await?
            .iter()
            .map(|row| Ok(MailboxCredentials { mailbox: rows::mailbox(row)?, password_hash: row.try_get("password_hash")? }))
            .collect()
    }

    pub async fn add_alias(&self, actor: &str, domain: &Domain, kind: AliasKind, source: &str, destinations: &[String]) -> Result<Alias, StoreError> {
        let mut tx = self.begin().await?;
        let holders = self.lock_holders(&mut tx, domain.customer_id).await?;
        if self.address_taken(&mut tx, source).await? {
            return Err(StoreError::Duplicate { kind: "address", name: source.to_string() });
        }
        self.ensure_room(&mut tx, &holders, LimitKind::Aliases, 1).await?;
        let sql = format!("INSERT INTO aliases (domain_id, kind, source, destinations, active) VALUES (?, ?, ?, ?, 1) RETURNING {}", rows::ALIAS_COLUMNS);
        let row = sqlx::query(self.sql(&sql))
            .bind(domain.id)
            .bind(kind.as_str())
            .bind(source.to_string())
            .bind(serde_json::to_string(destinations).unwrap_or_else(|_| "[]".into()))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| duplicate_or(e, "address", source))?;
        let alias = rows::alias(&row)?;
        let scope = Scope { reseller: holders.reseller_id(), customer: Some(holders.customer.id), mailbox: None };
        let action = format!("{}.add", kind.as_str());
        let change = Change { actor, action: &action, object_kind: kind.as_str(), object: source, scope, old: None, new: snapshot(&alias) };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(alias)
    }

    pub async fn alias_by_source(&self, source: &str) -> Result<Option<Alias>, StoreError> {
        let sql = format!("SELECT {} FROM aliases WHERE source = ?", rows::ALIAS_COLUMNS);
        self.fetch_optional(&sql, vec![Bind::Text(source.to_string())]).await?.as_ref().map(rows::alias).transpose()
    }

    pub async fn list_aliases(&self, scope: Scope, domain_id: Option<i64>) -> Result<Vec<Alias>, StoreError> {
        let cols = rows::ALIAS_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ");
        let mut sql = format!("SELECT {cols} FROM aliases a JOIN domains d ON a.domain_id = d.id WHERE 1 = 1");
        let mut binds = Vec::new();
        if let Some(id) = domain_id {
            sql.push_str(" AND a.domain_id = ?");
            binds.push(Bind::Int(id));
        }
        super::push_scope(&mut sql, &mut binds, scope, "d.customer_id");
        sql.push_str(" ORDER BY a.source");
        self.fetch_all(&sql, binds).await?.iter().map(rows::alias).collect()
    }

    pub async fn update_alias(&self, actor: &str, old: &Alias, new: &Alias) -> Result<Alias, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("UPDATE aliases SET destinations = ?, active = ? WHERE id = ?"))
            .bind(serde_json::to_string(&new.destinations).unwrap_or_else(|_| "[]".into()))
            .bind(new.active as i64)
            .bind(old.id)
            .execute(&mut *tx)
            .await?;
        let customer_id: i64 =
            sqlx::query(self.sql("SELECT customer_id FROM domains WHERE id = ?")).bind(old.domain_id).fetch_one(&mut *tx).await?.try_get("customer_id")?;
        let scope = self.scope_in_tx(&mut tx, customer_id).await?;
        let action = format!("{}.set", old.kind.as_str());
        let change = Change { actor, action: &action, object_kind: old.kind.as_str(), object: &old.source, scope, old: snapshot(old), new: snapshot(new) };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(new.clone())
    }

    pub async fn delete_alias(&self, actor: &str, alias: &Alias) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("DELETE FROM aliases WHERE id = ?")).bind(alias.id).execute(&mut *tx).await?;
        let customer_id: i64 =
            sqlx::query(self.sql("SELECT customer_id FROM domains WHERE id = ?")).bind(alias.domain_id).fetch_one(&mut *tx).await?.try_get("customer_id")?;
        let scope = self.scope_in_tx(&mut tx, customer_id).await?;
        let action = format!("{}.del", alias.kind.as_str());
        let change = Change { actor, action: &action, object_kind: alias.kind.as_str(), object: &alias.source, scope, old: snapshot(alias), new: None };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// With a total quota limit in force, an unlimited (0) mailbox quota would escape it.
fn quota_required(holders: &super::limits::LimitHolders, quota_mb: i64) -> Result<(), StoreError> {
    if quota_mb > 0 {
        return Ok(());
    }
    let owner = if holders.customer.limits.quota_mb >= 0 {
        Some(LimitOwner::Customer(holders.customer.name.clone()))
    } else {
        holders.reseller.as_ref().filter(|r| r.limits.quota_mb >= 0).map(|r| LimitOwner::Reseller(r.name.clone()))
    };
    match owner {
        Some(owner) => Err(StoreError::Invalid(format!("{owner} has a total quota limit: give the mailbox a quota in MiB (--quota)"))),
        None => Ok(()),
    }
}
