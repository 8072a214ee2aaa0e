//! DNS zones and records: resellers create them for their customers; only the admin touches
//! other owners' DNS; customers do not edit DNS.

use super::{Control, ControlError};
use crate::access::{Actor, Operation};
use crate::model::{dns, AccountKind, DnsRecord, DnsZone, DomainName};

impl Control {
    async fn zone_named(&self, name: &str) -> Result<DnsZone, ControlError> {
        let name = DomainName::parse(name)?;
        self.store.dns_zone_by_name(name.as_str()).await?.ok_or_else(|| ControlError::not_found("DNS zone", name.as_str()))
    }

    pub async fn add_dns_zone(&self, actor: &Actor, name: &str, customer: &str) -> Result<DnsZone, ControlError> {
        let name = DomainName::parse(name)?;
        let customer = self.account_of_kind(customer, AccountKind::Customer).await?;
        Self::check(actor, Operation::DnsWrite, self.store.customer_scope(customer.id).await?)?;
        Ok(self.store.add_dns_zone(&actor.label(), customer.id, name.as_str()).await?)
    }

    pub async fn delete_dns_zone(&self, actor: &Actor, name: &str) -> Result<(), ControlError> {
        let zone = self.zone_named(name).await?;
        Self::check(actor, Operation::DnsWrite, self.store.customer_scope(zone.customer_id).await?)?;
        Ok(self.store.delete_dns_zone(&actor.label(), &zone).await?)
    }

    pub async fn list_dns_zones(&self, actor: &Actor) -> Result<Vec<DnsZone>, ControlError> {
        let scope = Self::check_read(actor)?;
        if matches!(actor, Actor::Mailbox { .. }) {
            return Ok(vec![]);
        }
        Ok(self.store.list_dns_zones(scope).await?)
    }

    pub async fn add_dns_record(&self, actor: &Actor, zone: &str, record: DnsRecord) -> Result<DnsRecord, ControlError> {
        let zone = self.zone_named(zone).await?;
        Self::check(actor, Operation::DnsWrite, self.store.customer_scope(zone.customer_id).await?)?;
        let record = validate_record(record)?;
        Ok(self.store.add_dns_record(&actor.label(), &zone, &record).await?)
    }

    pub async fn delete_dns_record(&self, actor: &Actor, zone: &str, id: i64) -> Result<(), ControlError> {
        let zone = self.zone_named(zone).await?;
        Self::check(actor, Operation::DnsWrite, self.store.customer_scope(zone.customer_id).await?)?;
        let record = self.store.list_dns_records(zone.id).await?.into_iter().find(|r| r.id == id).ok_or_else(|| ControlError::not_found("DNS record", &id.to_string()))?;
        Ok(self.store.delete_dns_record(&actor.label(), &zone, &record).await?)
    }

    pub async fn list_dns_records(&self, actor: &Actor, zone: &str) -> Result<Vec<DnsRecord>, ControlError> {
        let zone = self.zone_named(zone).await?;
        Self::check(actor, Operation::Read, self.store.customer_scope(zone.customer_id).await?)?;
        Ok(self.store.list_dns_records(zone.id).await?)
    }
}

impl Control {
    /// The records `domain` needs so that clients and other servers find us (what
    /// `mailward dns records` prints and the API answers). Reading them needs read access to the
    /// domain. `autoconfig_host` is the server's public hostname.
    pub async fn dns_records(&self, actor: &Actor, domain: &str, autoconfig_host: &str) -> Result<Vec<crate::dns::records::MailRecord>, ControlError> {
        let domain = self.show_domain(actor, domain).await?;
        let set_id = domain.server_set_id.ok_or_else(|| {
            ControlError::Invalid(format!("domain {} has no server set, so clients have nothing to be told: assign one with `mailward domain set {} --server-set NAME`", domain.name, domain.name))
        })?;
        let set = self.store.list_server_sets().await?.into_iter().find(|s| s.id == set_id).ok_or_else(|| ControlError::not_found("server set", &set_id.to_string()))?;
        let input = crate::dns::records::RecordInput { domain: &domain.name, server_set: &set, autoconfig_host, mx_hosts: &[] };
        Ok(crate::dns::records::mail_domain_records(&input))
    }
}

fn validate_record(mut r: DnsRecord) -> Result<DnsRecord, ControlError> {
    r.rtype = r.rtype.to_ascii_uppercase();
    if !dns::RECORD_TYPES.contains(&r.rtype.as_str()) {
        return Err(ControlError::Invalid(format!("unsupported record type '{}'; supported: {}", crate::model::names::printable(&r.rtype), dns::RECORD_TYPES.join(" "))));
    }
    let name_ok = r.name == "@"
        || (!r.name.is_empty() && r.name.len() <= 253 && r.name.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*')));
    if !name_ok {
        return Err(ControlError::Invalid(format!("invalid record name '{}'", crate::model::names::printable(&r.name))));
    }
    if !(60..=604_800).contains(&r.ttl) {
        return Err(ControlError::Invalid("ttl must be 60 to 604800 seconds".into()));
    }
    if r.data.is_empty() || r.data.len() > 4096 || r.data.chars().any(char::is_control) {
        return Err(ControlError::Invalid("record data must be 1-4096 printable characters".into()));
    }
    match r.rtype.as_str() {
        "A" => {
            r.data.parse::<std::net::Ipv4Addr>().map_err(|_| ControlError::Invalid(format!("'{}' is not an IPv4 address", r.data)))?;
        }
        "AAAA" => {
            r.data.parse::<std::net::Ipv6Addr>().map_err(|_| ControlError::Invalid(format!("'{}' is not an IPv6 address", r.data)))?;
        }
        _ => {}
    }
    Ok(r)
}
