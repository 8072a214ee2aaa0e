//! Spam policies: the seven presets (seeded once) and admin-made ones.

use super::changelog::{snapshot, Change};
use super::error::duplicate_or;
use super::{rows, Bind, Store, StoreError};
use crate::access::Scope;
use crate::model::{policy, SpamPolicy};
use sqlx::Row;

impl Store {
    /// Inserts the presets on first start. Presets an admin changed or deleted later are not
    /// brought back: the seed runs once, remembered in `settings`.
    pub(super) async fn seed_presets(&self) -> Result<(), StoreError> {
        if self.setting("presets_seeded").await?.is_some() {
            return Ok(());
        }
        for preset in policy::presets() {
            if self.policy_by_name(&preset.name).await?.is_none() {
                self.add_policy("system", &preset).await?;
            }
        }
        self.set_setting("presets_seeded", "1").await
    }

    pub async fn add_policy(&self, actor: &str, p: &SpamPolicy) -> Result<SpamPolicy, StoreError> {
        let mut tx = self.begin().await?;
        if sqlx::query(self.sql("SELECT id FROM spam_policies WHERE name = ?")).bind(p.name.clone()).fetch_optional(&mut *tx).await?.is_some() {
            return Err(StoreError::Duplicate { kind: "policy", name: p.name.clone() });
        }
        let sql = format!(
            "INSERT INTO spam_policies (name, tag, tag2, kill_level, modifies_subject, subject_tag, spam_lover, virus_lover, builtin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {}",
            rows::POLICY_COLUMNS
        );
        let row = sqlx::query(self.sql(&sql))
            .bind(p.name.clone())
            .bind(p.tag)
            .bind(p.tag2)
            .bind(p.kill)
            .bind(p.modifies_subject.map(i64::from))
            .bind(p.subject_tag.clone())
            .bind(p.spam_lover.map(i64::from))
            .bind(p.virus_lover.map(i64::from))
            .bind(p.builtin as i64)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| duplicate_or(e, "policy", &p.name))?;
        let stored = rows::policy(&row)?;
        self.append_change(&mut tx, Change { actor, action: "policy.add", object_kind: "policy", object: &stored.name, scope: Scope::default(), old: None, new: snapshot(&stored) })
            .await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub async fn policy_by_name(&self, name: &str) -> Result<Option<SpamPolicy>, StoreError> {
        let sql = format!("SELECT {} FROM spam_policies WHERE name = ?", rows::POLICY_COLUMNS);
        self.fetch_optional(&sql, vec![Bind::Text(name.to_string())]).await?.as_ref().map(rows::policy).transpose()
    }

    pub async fn list_policies(&self) -> Result<Vec<SpamPolicy>, StoreError> {
        let sql = format!("SELECT {} FROM spam_policies ORDER BY id", rows::POLICY_COLUMNS);
        self.fetch_all(&sql, vec![]).await?.iter().map(rows::policy).collect()
    }

    pub async fn update_policy(&self, actor: &str, old: &SpamPolicy, new: &SpamPolicy) -> Result<SpamPolicy, StoreError> {
        let mut tx = self.begin().await?;
        let sql = "UPDATE spam_policies SET tag = ?, tag2 = ?, kill_level = ?, modifies_subject = ?, subject_tag = ?, spam_lover = ?, virus_lover = ? WHERE id = ?";
        sqlx::query(self.sql(sql))
            .bind(new.tag)
            .bind(new.tag2)
            .bind(new.kill)
            .bind(new.modifies_subject.map(i64::from))
            .bind(new.subject_tag.clone())
            .bind(new.spam_lover.map(i64::from))
            .bind(new.virus_lover.map(i64::from))
            .bind(old.id)
            .execute(&mut *tx)
            .await?;
        self.append_change(&mut tx, Change { actor, action: "policy.set", object_kind: "policy", object: &old.name, scope: Scope::default(), old: snapshot(old), new: snapshot(new) })
            .await?;
        tx.commit().await?;
        Ok(new.clone())
    }

    /// Deletes a policy no domain or mailbox uses.
    pub async fn delete_policy(&self, actor: &str, p: &SpamPolicy) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (table, what) in [("domains", "domains"), ("mailboxes", "mailboxes")] {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE policy_id = ?");
            let n: i64 = sqlx::query(self.sql(&sql)).bind(p.id).fetch_one(&mut *tx).await?.try_get("n")?;
            if n > 0 {
                return Err(StoreError::InUse { kind: "policy", name: p.name.clone(), by: format!("{n} {what}") });
            }
        }
        sqlx::query(self.sql("DELETE FROM spam_policies WHERE id = ?")).bind(p.id).execute(&mut *tx).await?;
        self.append_change(&mut tx, Change { actor, action: "policy.del", object_kind: "policy", object: &p.name, scope: Scope::default(), old: snapshot(p), new: None })
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
