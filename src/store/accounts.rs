//! Admin, reseller, customer and API accounts.

use super::changelog::{snapshot, Change};
use super::error::duplicate_or;
use super::{now, rows, Bind, Store, StoreError};
use crate::access::Scope;
use crate::model::{Account, AccountKind, Limits};
use sqlx::Row;

pub struct NewAccount {
    pub kind: AccountKind,
    pub name: String,
    pub password_hash: String,
    /// The reseller of a customer, or the reseller an API user is confined to.
    pub parent_id: Option<i64>,
    pub limits: Limits,
    pub api_functions: Vec<String>,
}

/// A change to an existing account; `None` leaves the field as it is.
#[derive(Default)]
pub struct AccountChange {
    pub limits: Option<Limits>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub api_functions: Option<Vec<String>>,
}

/// The ownership scope of an account, for the change log and privilege checks.
pub fn account_scope(account: &Account) -> Scope {
    match account.kind {
        AccountKind::Reseller => Scope { reseller: Some(account.id), customer: None, mailbox: None },
        AccountKind::Customer => Scope { reseller: account.parent_id, customer: Some(account.id), mailbox: None },
        AccountKind::Api => Scope { reseller: account.parent_id, customer: None, mailbox: None },
        AccountKind::Admin => Scope::default(),
    }
}

impl Store {
    pub async fn create_account(&self, actor: &str, new: NewAccount) -> Result<Account, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(parent) = new.parent_id {
            let reseller = self.lock_account(&mut tx, parent).await?;
            if reseller.kind != AccountKind::Reseller {
                return Err(StoreError::Invalid(format!("'{}' is not a reseller", reseller.name)));
            }
            if new.kind == AccountKind::Customer {
                self.ensure_customer_room(&mut tx, &reseller).await?;
            }
        }
        let exists = sqlx::query(self.sql("SELECT id FROM accounts WHERE name = ?")).bind(new.name.clone()).fetch_optional(&mut *tx).await?;
        if exists.is_some() {
            return Err(StoreError::Duplicate { kind: "account", name: new.name });
        }
        let l = new.limits;
        let sql = format!(
            "INSERT INTO accounts (kind, name, password_hash, parent_id, limit_customers, limit_domains, limit_mailboxes, limit_aliases, limit_quota_mb, limit_dns_zones, limit_dns_records, api_functions, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING {}",
            rows::ACCOUNT_COLUMNS
        );
        let row = sqlx::query(self.sql(&sql))
            .bind(new.kind.as_str())
            .bind(new.name.clone())
            .bind(new.password_hash)
            .bind(new.parent_id)
            .bind(l.customers)
            .bind(l.domains)
            .bind(l.mailboxes)
            .bind(l.aliases)
            .bind(l.quota_mb)
            .bind(l.dns_zones)
            .bind(l.dns_records)
            .bind(serde_json::to_string(&new.api_functions).unwrap_or_else(|_| "[]".into()))
            .bind(now())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| duplicate_or(e, "account", &new.name))?;
        let account = rows::account(&row)?;
        let change = Change {
            actor,
            action: &format!("{}.add", account.kind.as_str()),
            object_kind: account.kind.as_str(),
            object: &account.name,
            scope: account_scope(&account),
            old: None,
            new: snapshot(&account),
        };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(account)
    }

    pub async fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {} FROM accounts WHERE name = ?", rows::ACCOUNT_COLUMNS);
        self.fetch_optional(&sql, vec![Bind::Text(name.to_string())]).await?.as_ref().map(rows::account).transpose()
    }

    pub async fn account(&self, id: i64) -> Result<Account, StoreError> {
        let sql = format!("SELECT {} FROM accounts WHERE id = ?", rows::ACCOUNT_COLUMNS);
        self.fetch_optional(&sql, vec![Bind::Int(id)])
            .await?
            .as_ref()
            .map(rows::account)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("account", id.to_string()))
    }

    /// Accounts of one kind, optionally only those under one reseller.
    pub async fn list_accounts(&self, kind: AccountKind, parent: Option<i64>) -> Result<Vec<Account>, StoreError> {
        let mut sql = format!("SELECT {} FROM accounts WHERE kind = ?", rows::ACCOUNT_COLUMNS);
        let mut binds = vec![Bind::Text(kind.as_str().into())];
        if let Some(p) = parent {
            sql.push_str(" AND parent_id = ?");
            binds.push(Bind::Int(p));
        }
        sql.push_str(" ORDER BY name");
        self.fetch_all(&sql, binds).await?.iter().map(rows::account).collect()
    }

    pub async fn update_account(&self, actor: &str, id: i64, change: AccountChange) -> Result<Account, StoreError> {
        let mut tx = self.begin().await?;
        let old = self.lock_account(&mut tx, id).await?;
        let mut new = old.clone();
        if let Some(l) = change.limits {
            new.limits = l;
        }
        if let Some(a) = change.active {
            new.active = a;
        }
        if let Some(f) = change.api_functions {
            new.api_functions = f;
        }
        let l = new.limits;
        let sql = "UPDATE accounts SET limit_customers = ?, limit_domains = ?, limit_mailboxes = ?, limit_aliases = ?, limit_quota_mb = ?, limit_dns_zones = ?, limit_dns_records = ?, api_functions = ?, active = ? WHERE id = ?";
        sqlx::query(self.sql(sql))
            .bind(l.customers)
            .bind(l.domains)
            .bind(l.mailboxes)
            .bind(l.aliases)
            .bind(l.quota_mb)
            .bind(l.dns_zones)
            .bind(l.dns_records)
            .bind(serde_json::to_string(&new.api_functions).unwrap_or_else(|_| "[]".into()))
            .bind(new.active as i64)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let password_changed = change.password_hash.is_some();
        if let Some(hash) = change.password_hash {
            sqlx::query(self.sql("UPDATE accounts SET password_hash = ? WHERE id = ?")).bind(hash).bind(id).execute(&mut *tx).await?;
        }
        let mut new_value = snapshot(&new);
        if password_changed {
            // The log records that the password changed, never what it is.
            if let Some(serde_json::Value::Object(map)) = new_value.as_mut() {
                map.insert("password".into(), "changed".into());
            }
        }
        let change = Change {
            actor,
            action: &format!("{}.set", new.kind.as_str()),
            object_kind: new.kind.as_str(),
            object: &new.name,
            scope: account_scope(&new),
            old: snapshot(&old),
            new: new_value,
        };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Deletes an account that owns nothing any more; otherwise names what it still owns.
    pub async fn delete_account(&self, actor: &str, id: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let account = self.lock_account(&mut tx, id).await?;
        for (table, column, what) in [
            ("accounts", "parent_id", "accounts"),
            ("domains", "customer_id", "domains"),
            ("alias_domains", "customer_id", "alias domains"),
            ("sites", "customer_id", "sites"),
            ("dns_zones", "customer_id", "DNS zones"),
        ] {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = ?");
            let n: i64 = sqlx::query(self.sql(&sql)).bind(id).fetch_one(&mut *tx).await?.try_get("n")?;
            if n > 0 {
                return Err(StoreError::InUse { kind: "account", name: account.name, by: format!("{n} {what}") });
            }
        }
        sqlx::query(self.sql("DELETE FROM accounts WHERE id = ?")).bind(id).execute(&mut *tx).await?;
        let change = Change {
            actor,
            action: &format!("{}.del", account.kind.as_str()),
            object_kind: account.kind.as_str(),
            object: &account.name,
            scope: account_scope(&account),
            old: snapshot(&account),
            new: None,
        };
        self.append_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The one read path that returns a password hash: for logins.
    pub async fn account_credentials(&self, name: &str) -> Result<Option<(Account, String)>, StoreError> {
        let sql = format!("SELECT {}, password_hash FROM accounts WHERE name = ?", rows::ACCOUNT_COLUMNS);
        match self.fetch_optional(&sql, vec![Bind::Text(name.to_string())]).await? {
            Some(row) => Ok(Some((rows::account(&row)?, row.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    pub async fn count_accounts(&self, kind: AccountKind) -> Result<i64, StoreError> {
        let row = self.fetch_optional("SELECT COUNT(*) AS n FROM accounts WHERE kind = ?", vec![Bind::Text(kind.as_str().into())]).await?;
        Ok(row.map(|r| r.try_get::<i64, _>("n")).transpose()?.unwrap_or(0))
    }
}
