//! One consistent read of everything the mail-side parts need: the autoconfig snapshot, the
//! milter's policy directory and `apply` build their own views from it.

use super::{rows, MailboxCredentials, Store, StoreError};
use crate::model::{Alias, AliasDomain, Domain, MailFilter, ServerSet, SpamPolicy};
use sqlx::Row;

#[derive(Debug, Clone, Default)]
pub struct MailSnapshot {
    pub domains: Vec<Domain>,
    /// With their hashes: only `apply` (the Dovecot passdb) uses those.
    pub mailboxes: Vec<MailboxCredentials>,
    pub aliases: Vec<Alias>,
    pub alias_domains: Vec<AliasDomain>,
    pub filters: Vec<MailFilter>,
    pub policies: Vec<SpamPolicy>,
    pub server_sets: Vec<ServerSet>,
    /// The newest change-log id when the snapshot was read.
    pub change_id: i64,
}

impl std::fmt::Debug for MailboxCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash stays out of debug output and therefore out of logs.
        f.debug_struct("MailboxCredentials").field("mailbox", &self.mailbox).finish_non_exhaustive()
    }
}

impl Clone for MailboxCredentials {
    fn clone(&self) -> Self {
        MailboxCredentials { mailbox: self.mailbox.clone(), password_hash: self.password_hash.clone() }
    }
}

impl Store {
    /// Reads the mail objects in one transaction. With `node`, only domains this node serves
    /// (their server set names this node or no node, or they have no server set), and what
    /// belongs to those domains.
    pub async fn mail_snapshot(&self, node: Option<&str>) -> Result<MailSnapshot, StoreError> {
        let mut tx = self.begin().await?;
        let fetch = |sql: String| sqlx::query(self.sql(&sql));
        let change_id: i64 = fetch(format!("SELECT {} AS n FROM change_log", self.int_expr("COALESCE(MAX(id), 0)"))).fetch_one(&mut *tx).await?.try_get("n")?;
        let server_sets = fetch(format!("SELECT {} FROM server_sets ORDER BY name", rows::SERVER_SET_COLUMNS))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(rows::server_set)
            .collect::<Result<Vec<_>, _>>()?;
        let mut domains = fetch(format!("SELECT {} FROM domains ORDER BY name", rows::DOMAIN_COLUMNS))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(rows::domain)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(node) = node {
            domains.retain(|d| match d.server_set_id.and_then(|id| server_sets.iter().find(|s| s.id == id)) {
                Some(set) => set.node.as_deref().is_none_or(|n| n == node),
                None => true,
            });
        }
        let domain_ids: std::collections::HashSet<i64> = domains.iter().map(|d| d.id).collect();
        let mailboxes = fetch(format!("SELECT {}, password_hash FROM mailboxes ORDER BY address", rows::MAILBOX_COLUMNS))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| Ok(MailboxCredentials { mailbox: rows::mailbox(row)?, password_hash: row.try_get("password_hash")? }))
            .collect::<Result<Vec<_>, StoreError>>()?
            .into_iter()
            .filter(|m| domain_ids.contains(&m.mailbox.domain_id))
            .collect::<Vec<_>>();
        let mailbox_ids: std::collections::HashSet<i64> = mailboxes.iter().map(|m| m.mailbox.id).collect();
        let aliases = fetch(format!("SELECT {} FROM aliases ORDER BY source", rows::ALIAS_COLUMNS))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(rows::alias)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|a| domain_ids.contains(&a.domain_id))
            .collect();
        let alias_domains = fetch("SELECT id, source, target_domain_id, customer_id, active FROM alias_domains ORDER BY source".into())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(super::domains::alias_domain_row)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|a| domain_ids.contains(&a.target_domain_id))
            .collect();
        let filters = fetch(format!("SELECT {} FROM mail_filters ORDER BY mailbox_id, position, id", rows::FILTER_COLUMNS))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(rows::filter)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|f| mailbox_ids.contains(&f.mailbox_id))
            .collect();
        let policies = fetch(format!("SELECT {} FROM spam_policies ORDER BY id", rows::POLICY_COLUMNS))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(rows::policy)
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await?;
        Ok(MailSnapshot { domains, mailboxes, aliases, alias_domains, filters, policies, server_sets, change_id })
    }
}
