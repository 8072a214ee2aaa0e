//! Accounts and the ownership tree: admin > reseller > customer > domain > mailbox.

use serde::{Deserialize, Serialize};

/// The kind of a login account stored in `accounts`. Mailbox users are not rows here: they
/// log in with their address against `mailboxes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Admin,
    Reseller,
    Customer,
    Api,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Admin => "admin",
            AccountKind::Reseller => "reseller",
            AccountKind::Customer => "customer",
            AccountKind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "admin" => AccountKind::Admin,
            "reseller" => AccountKind::Reseller,
            "customer" => AccountKind::Customer,
            "api" => AccountKind::Api,
            _ => return None,
        })
    }
}

/// Resource limits of a reseller or customer. `-1` means unlimited, as in ISPConfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub customers: i64,
    pub domains: i64,
    pub mailboxes: i64,
    pub aliases: i64,
    /// Total mailbox quota in MiB.
    pub quota_mb: i64,
    pub dns_zones: i64,
    pub dns_records: i64,
}

pub const UNLIMITED: i64 = -1;

impl Limits {
    pub const UNLIMITED: Limits = Limits {
        customers: UNLIMITED,
        domains: UNLIMITED,
        mailboxes: UNLIMITED,
        aliases: UNLIMITED,
        quota_mb: UNLIMITED,
        dns_zones: UNLIMITED,
        dns_records: UNLIMITED,
    };

    pub fn get(&self, kind: LimitKind) -> i64 {
        match kind {
            LimitKind::Customers => self.customers,
            LimitKind::Domains => self.domains,
            LimitKind::Mailboxes => self.mailboxes,
            LimitKind::Aliases => self.aliases,
            LimitKind::QuotaMb => self.quota_mb,
            LimitKind::DnsZones => self.dns_zones,
            LimitKind::DnsRecords => self.dns_records,
        }
    }

    pub fn set(&mut self, kind: LimitKind, value: i64) {
        let slot = match kind {
            LimitKind::Customers => &mut self.customers,
            LimitKind::Domains => &mut self.domains,
            LimitKind::Mailboxes => &mut self.mailboxes,
            LimitKind::Aliases => &mut self.aliases,
            LimitKind::QuotaMb => &mut self.quota_mb,
            LimitKind::DnsZones => &mut self.dns_zones,
            LimitKind::DnsRecords => &mut self.dns_records,
        };
        *slot = value;
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::UNLIMITED
    }
}

/// One countable resource that a limit bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LimitKind {
    Customers,
    Domains,
    Mailboxes,
    Aliases,
    QuotaMb,
    DnsZones,
    DnsRecords,
}

impl LimitKind {
    pub const ALL: [LimitKind; 7] = [
        LimitKind::Customers,
        LimitKind::Domains,
        LimitKind::Mailboxes,
        LimitKind::Aliases,
        LimitKind::QuotaMb,
        LimitKind::DnsZones,
        LimitKind::DnsRecords,
    ];

    /// What users call the limit, in errors and on the CLI (`--limit-mailboxes`).
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::Customers => "customers",
            LimitKind::Domains => "domains",
            LimitKind::Mailboxes => "mailboxes",
            LimitKind::Aliases => "aliases/forwards",
            LimitKind::QuotaMb => "total quota (MiB)",
            LimitKind::DnsZones => "DNS zones",
            LimitKind::DnsRecords => "DNS records",
        }
    }
}

/// A reseller, customer, admin or API account as read paths return it: never a password.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub id: i64,
    pub kind: AccountKind,
    pub name: String,
    /// The reseller a customer belongs to; `None` for customers of the admin and for others.
    pub parent_id: Option<i64>,
    pub limits: Limits,
    /// For API users: the functions they may call (`domain.add`, `mailbox.*`, ...).
    pub api_functions: Vec<String>,
    pub active: bool,
    pub created_at: i64,
}
