//! DNS zones and records of customers, with their limits.

use super::changelog::{snapshot, Change};
use super::error::duplicate_or;
use super::{rows, Bind, Store, StoreError};
use crate::access::Scope;
use crate::model::{DnsRecord, DnsZone, LimitKind};

impl Store {
    pub async fn add_dns_zone(&self, actor: &str, customer_id: i64, name: &str) -> Result<DnsZone, StoreError> {
        let mut tx = self.begin().await?;
        let holders = self.lock_holders(&mut tx, customer_id).await?;
        if sqlx::query(self.sql("SELECT id FROM dns_zones WHERE name = ?")).bind(name.to_string()).fetch_optional(&mut *tx).await?.is_some() {
            return Err(StoreError::Duplicate { kind: "DNS zone", name: name.to_string() });
        }
        self.ensure_room(&mut tx, &holders, LimitKind::DnsZones, 1).await?;
        let row = sqlx::query(self.sql("INSERT INTO dns_zones (customer_id, name) VALUES (?, ?) RETURNING id, customer_id, name"))
            .bind(customer_id)
            .bind(name.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| duplicate_or(e, "DNS zone", name))?;
        let zone = rows::dns_zone(&row)?;
        let scope = Scope { reseller: holders.reseller_id(), customer: Some(customer_id), mailbox: None };
        self.append_change(&mut tx, Change { actor, action: "dns.zone.add", object_kind: "dnszone", object: name, scope, old: None, new: snapshot(&zone) }).await?;
        tx.commit().await?;
        Ok(zone)
    }

    pub async fn dns_zone_by_name(&self, name: &str) -> Result<Option<DnsZone>, StoreError> {
        self.fetch_optional("SELECT id, customer_id, name FROM dns_zones WHERE name = ?", vec![Bind::Text(name.into())])
            .await?
            .as_ref()
            .map(rows::dns_zone)
            .transpose()
    }

    pub async fn list_dns_zones(&self, scope: Scope) -> Result<Vec<DnsZone>, StoreError> {
        let mut sql = "SELECT id, customer_id, name FROM dns_zones WHERE 1 = 1".to_string();
        let mut binds = Vec::new();
        super::push_scope(&mut sql, &mut binds, scope, "customer_id");
        sql.push_str(" ORDER BY name");
        self.fetch_all(&sql, binds).await?.iter().map(rows::dns_zone).collect()
    }

    pub async fn delete_dns_zone(&self, actor: &str, zone: &DnsZone) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("DELETE FROM dns_records WHERE zone_id = ?")).bind(zone.id).execute(&mut *tx).await?;
        sqlx::query(self.sql("DELETE FROM dns_zones WHERE id = ?")).bind(zone.id).execute(&mut *tx).await?;
        let scope = self.scope_in_tx(&mut tx, zone.customer_id).await?;
        self.append_change(&mut tx, Change { actor, action: "dns.zone.del", object_kind: "dnszone", object: &zone.name, scope, old: snapshot(zone), new: None }).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_dns_record(&self, actor: &str, zone: &DnsZone, record: &DnsRecord) -> Result<DnsRecord, StoreError> {
        let mut tx = self.begin().await?;
        let holders = self.lock_holders(&mut tx, zone.customer_id).await?;
        self.ensure_room(&mut tx, &holders, LimitKind::DnsRecords, 1).await?;
        let row = sqlx::query(self.sql("INSERT INTO dns_records (zone_id, name, rtype, ttl, data) VALUES (?, ?, ?, ?, ?) RETURNING id, zone_id, name, rtype, ttl, data"))
            .bind(zone.id)
            .bind(record.name.clone())
            .bind(record.rtype.clone())
            .bind(record.ttl)
            .bind(record.data.clone())
            .fetch_one(&mut *tx)
            .await?;
        let stored = rows::dns_record(&row)?;
        let scope = Scope { reseller: holders.reseller_id(), customer: Some(zone.customer_id), mailbox: None };
        let object = format!("{} {} {}", stored.name, zone.name, stored.rtype);
        self.append_change(&mut tx, Change { actor, action: "dns.record.add", object_kind: "dnsrecord", object: &object, scope, old: None, new: snapshot(&stored) })
            .await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub async fn list_dns_records(&self, zone_id: i64) -> Result<Vec<DnsRecord>, StoreError> {
        self.fetch_all("SELECT id, zone_id, name, rtype, ttl, data FROM dns_records WHERE zone_id = ? ORDER BY name, rtype, id", vec![Bind::Int(zone_id)])
            .await?
            .iter()
            .map(rows::dns_record)
            .collect()
    }

    pub async fn delete_dns_record(&self, actor: &str, zone: &DnsZone, record: &DnsRecord) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("DELETE FROM dns_records WHERE id = ? AND zone_id = ?")).bind(record.id).bind(zone.id).execute(&mut *tx).await?;
        let scope = self.scope_in_tx(&mut tx, zone.customer_id).await?;
        let object = format!("{} {} {}", record.name, zone.name, record.rtype);
        self.append_change(&mut tx, Change { actor, action: "dns.record.del", object_kind: "dnsrecord", object: &object, scope, old: snapshot(record), new: None })
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
