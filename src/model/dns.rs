//! DNS zones and records owned by customers.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsZone {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsRecord {
    pub id: i64,
    pub zone_id: i64,
    /// Owner name relative to the zone (`@` for the apex).
    pub name: String,
    pub rtype: String,
    pub ttl: i64,
    pub data: String,
}

/// Record types the store accepts.
pub const RECORD_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS", "CAA", "PTR"];
