//! Counting what an owner has, inside the write transaction, for `access::check_limit`.

use super::{rows, Store, StoreError, Tx};
use crate::access::{check_limit, LimitOwner};
use crate::model::{Account, LimitKind};
use sqlx::Row;

/// The accounts whose limits bound a write under one customer: the customer and its reseller.
pub(crate) struct LimitHolders {
    pub customer: Account,
    pub reseller: Option<Account>,
}

impl LimitHolders {
    pub fn reseller_id(&self) -> Option<i64> {
        self.reseller.as_ref().map(|r| r.id)
    }
}

impl Store {
    /// Loads (and on PostgreSQL/MariaDB row-locks) a customer and its reseller, so concurrent
    /// writes under the same owner serialise their limit checks.
    pub(crate) async fn lock_holders(&self, tx: &mut Tx<'_>, customer_id: i64) -> Result<LimitHolders, StoreError> {
        let customer = self.lock_account(tx, customer_id).await?;
        let reseller = match customer.parent_id {
            Some(id) => Some(self.lock_account(tx, id).await?),
            None => None,
        };
        Ok(LimitHolders { customer, reseller })
    }

    pub(crate) async fn lock_account(&self, tx: &mut Tx<'_>, id: i64) -> Result<Account, StoreError> {
        let sql = format!("SELECT {} FROM accounts WHERE id = ?{}", rows::ACCOUNT_COLUMNS, self.for_update());
        let row = sqlx::query(self.sql(&sql)).bind(id).fetch_optional(&mut **tx).await?;
        row.as_ref().map(rows::account).transpose()?.ok_or_else(|| StoreError::not_found("account", id.to_string()))
    }

    /// Refuses the write when adding `adding` of `kind` would exceed the customer's or the
    /// reseller's limit.
    pub(crate) async fn ensure_room(&self, tx: &mut Tx<'_>, holders: &LimitHolders, kind: LimitKind, adding: i64) -> Result<(), StoreError> {
        if adding <= 0 {
            return Ok(());
        }
        let mut owners = vec![(LimitOwner::Customer(holders.customer.name.clone()), &holders.customer, false)];
        if let Some(r) = &holders.reseller {
            owners.push((LimitOwner::Reseller(r.name.clone()), r, true));
        }
        for (owner, account, is_reseller) in owners {
            if account.limits.get(kind) < 0 {
                continue;
            }
            let current = self.count_owned(tx, kind, account.id, is_reseller).await?;
            check_limit(&owner, &account.limits, kind, current, adding)?;
        }
        Ok(())
    }

    /// Refuses a new customer beyond the reseller's customer limit.
    pub(crate) async fn ensure_customer_room(&self, tx: &mut Tx<'_>, reseller: &Account) -> Result<(), StoreError> {
        if reseller.limits.customers < 0 {
            return Ok(());
        }
        let current = self.count_owned(tx, LimitKind::Customers, reseller.id, true).await?;
        check_limit(&LimitOwner::Reseller(reseller.name.clone()), &reseller.limits, LimitKind::Customers, current, 1)?;
        Ok(())
    }

    pub(crate) async fn count_owned(&self, tx: &mut Tx<'_>, kind: LimitKind, owner: i64, is_reseller: bool) -> Result<i64, StoreError> {
        let customers = if is_reseller { "IN (SELECT id FROM accounts WHERE parent_id = ?)" } else { "= ?" };
        let (expr, from, binds) = match kind {
            LimitKind::Customers => ("COUNT(*)", "accounts WHERE kind = 'customer' AND parent_id = ?".to_string(), 1),
            LimitKind::Domains => (
                "COUNT(*)",
                format!("(SELECT customer_id FROM domains UNION ALL SELECT customer_id FROM alias_domains) owned WHERE customer_id {customers}"),
                1,
            ),
            LimitKind::Mailboxes => ("COUNT(*)", format!("mailboxes m JOIN domains d ON m.domain_id = d.id WHERE d.customer_id {customers}"), 1),
            LimitKind::QuotaMb => (
                "COALESCE(SUM(m.quota_mb), 0)",
                format!("mailboxes m JOIN domains d ON m.domain_id = d.id WHERE d.customer_id {customers}"),
                1,
            ),
            LimitKind::Aliases => ("COUNT(*)", format!("aliases a JOIN domains d ON a.domain_id = d.id WHERE d.customer_id {customers}"), 1),
            LimitKind::DnsZones => ("COUNT(*)", format!("dns_zones WHERE customer_id {customers}"), 1),
            LimitKind::DnsRecords => ("COUNT(*)", format!("dns_records r JOIN dns_zones z ON r.zone_id = z.id WHERE z.customer_id {customers}"), 1),
        };
        let sql = format!("SELECT {} AS n FROM {from}", self.int_expr(expr));
        let mut q = sqlx::query(self.sql(&sql));
        for _ in 0..binds {
            q = q.bind(owner);
        }
        let row = q.fetch_one(&mut **tx).await?;
        Ok(row.try_get::<i64, _>("n")?)
    }
}
