//! User mail filters.

use super::changelog::{snapshot, Change};
use super::{rows, Bind, Store, StoreError};
use crate::access::Scope;
use crate::model::{MailFilter, Mailbox};
use sqlx::Row;

impl Store {
    async fn mailbox_scope(&self, tx: &mut super::Tx<'_>, mailbox: &Mailbox) -> Result<Scope, StoreError> {
        let customer_id: i64 =
            sqlx::query(self.sql("SELECT customer_id FROM domains WHERE id = ?")).bind(mailbox.domain_id).fetch_one(&mut **tx).await?.try_get("customer_id")?;
        let mut scope = self.scope_in_tx(tx, customer_id).await?;
        scope.mailbox = Some(mailbox.id);
        Ok(scope)
    }

    /// Adds a filter at the end of the mailbox's list (`position` is assigned here).
    pub async fn add_filter(&self, actor: &str, mailbox: &Mailbox, filter: &MailFilter) -> Result<MailFilter, StoreError> {
        let mut tx = self.begin().await?;
        let next = format!("SELECT {} AS n FROM mail_filters WHERE mailbox_id = ?", self.int_expr("COALESCE(MAX(position), 0) + 1"));
        let position: i64 = sqlx::query(self.sql(&next)).bind(mailbox.id).fetch_one(&mut *tx).await?.try_get("n")?;
        let sql = format!(
            "INSERT INTO mail_filters (mailbox_id, name, field, header_name, matching, value, action, argument, position, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {}",
            rows::FILTER_COLUMNS
        );
        let row = sqlx::query(self.sql(&sql))
            .bind(mailbox.id)
            .bind(filter.name.clone())
            .bind(filter.field.as_str())
            .bind(filter.header.clone())
            .bind(filter.matching.as_str())
            .bind(filter.value.clone())
            .bind(filter.action.as_str())
            .bind(filter.argument.clone())
            .bind(position)
            .bind(filter.active as i64)
            .fetch_one(&mut *tx)
            .await?;
        let stored = rows::filter(&row)?;
        let scope = self.mailbox_scope(&mut tx, mailbox).await?;
        let object = format!("{}#{}", mailbox.address, stored.name);
        self.append_change(&mut tx, Change { actor, action: "filter.add", object_kind: "filter", object: &object, scope, old: None, new: snapshot(&stored) })
            .await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub async fn list_filters(&self, mailbox_id: i64) -> Result<Vec<MailFilter>, StoreError> {
        let sql = format!("SELECT {} FROM mail_filters WHERE mailbox_id = ? ORDER BY position, id", rows::FILTER_COLUMNS);
        self.fetch_all(&sql, vec![Bind::Int(mailbox_id)]).await?.iter().map(rows::filter).collect()
    }

    /// Every filter of every mailbox, for the Sieve writer.
    pub async fn all_filters(&self) -> Result<Vec<MailFilter>, StoreError> {
        let sql = format!("SELECT {} FROM mail_filters ORDER BY mailbox_id, position, id", rows::FILTER_COLUMNS);
        self.fetch_all(&sql, vec![]).await?.iter().map(rows::filter).collect()
    }

    pub async fn update_filter(&self, actor: &str, mailbox: &Mailbox, old: &MailFilter, new: &MailFilter) -> Result<MailFilter, StoreError> {
        let mut tx = self.begin().await?;
        let sql = "UPDATE mail_filters SET name = ?, field = ?, header_name = ?, matching = ?, value = ?, action = ?, argument = ?, position = ?, active = ? WHERE id = ? AND mailbox_id = ?";
        sqlx::query(self.sql(sql))
            .bind(new.name.clone())
            .bind(new.field.as_str())
            .bind(new.header.clone())
            .bind(new.matching.as_str())
            .bind(new.value.clone())
            .bind(new.action.as_str())
            .bind(new.argument.clone())
            .bind(new.position)
            .bind(new.active as i64)
            .bind(old.id)
            .bind(mailbox.id)
            .execute(&mut *tx)
            .await?;
        let scope = self.mailbox_scope(&mut tx, mailbox).await?;
        let object = format!("{}#{}", mailbox.address, old.name);
        self.append_change(&mut tx, Change { actor, action: "filter.set", object_kind: "filter", object: &object, scope, old: snapshot(old), new: snapshot(new) })
            .await?;
        tx.commit().await?;
        Ok(new.clone())
    }

    pub async fn delete_filter(&self, actor: &str, mailbox: &Mailbox, filter: &MailFilter) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("DELETE FROM mail_filters WHERE id = ? AND mailbox_id = ?")).bind(filter.id).bind(mailbox.id).execute(&mut *tx).await?;
        let scope = self.mailbox_scope(&mut tx, mailbox).await?;
        let object = format!("{}#{}", mailbox.address, filter.name);
        self.append_change(&mut tx, Change { actor, action: "filter.del", object_kind: "filter", object: &object, scope, old: snapshot(filter), new: None })
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
