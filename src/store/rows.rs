//! Column lists and row decoding for each model type. Hash columns are never in these lists.

use super::StoreError;
use crate::model::*;
use sqlx::any::AnyRow;
use sqlx::Row;

pub(crate) const ACCOUNT_COLUMNS: &str = "id, kind, name, parent_id, limit_customers, limit_domains, limit_mailboxes, limit_aliases, limit_quota_mb, limit_dns_zones, limit_dns_records, api_functions, active, created_at";
pub(crate) const DOMAIN_COLUMNS: &str = "id, name, customer_id, active, server_set_id, policy_id, created_at";
pub(crate) const MAILBOX_COLUMNS: &str = "id, domain_id, address, display_name, quota_mb, spam_move, junk_purge_days, trash_purge_days, autoresponder_enabled, autoresponder_subject, autoresponder_text, autoresponder_start, autoresponder_end, copy_to, policy_id, active, created_at";
pub(crate) const ALIAS_COLUMNS: &str = "id, domain_id, kind, source, destinations, active";
pub(crate) const POLICY_COLUMNS: &str = "id, name, tag, tag2, kill_level, modifies_subject, subject_tag, spam_lover, virus_lover, builtin";
pub(crate) const SERVER_SET_COLUMNS: &str = "id, name, provider_id, display_name, display_short_name, node, endpoints, oauth2, caldav_url, carddav_url";
pub(crate) const FILTER_COLUMNS: &str = "id, mailbox_id, name, field, header_name, matching, value, action, argument, position, active";

fn json_list(text: &str, what: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn opt_bool(row: &AnyRow, col: &str) -> Result<Option<bool>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(|v| v != 0))
}

pub(crate) fn account(row: &AnyRow) -> Result<Account, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Account {
        id: row.try_get("id")?,
        kind: AccountKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("account kind '{kind}'")))?,
        name: row.try_get("name")?,
        parent_id: row.try_get("parent_id")?,
        limits: Limits {
            customers: row.try_get("limit_customers")?,
            domains: row.try_get("limit_domains")?,
            mailboxes: row.try_get("limit_mailboxes")?,
            aliases: row.try_get("limit_aliases")?,
            quota_mb: row.try_get("limit_quota_mb")?,
            dns_zones: row.try_get("limit_dns_zones")?,
            dns_records: row.try_get("limit_dns_records")?,
        },
        api_functions: json_list(&row.try_get::<String, _>("api_functions")?, "api_functions")?,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn domain(row: &AnyRow) -> Result<Domain, StoreError> {
    Ok(Domain {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        customer_id: row.try_get("customer_id")?,
        active: row.try_get::<i64, _>("active")? != 0,
        server_set_id: row.try_get("server_set_id")?,
        policy_id: row.try_get("policy_id")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn mailbox(row: &AnyRow) -> Result<Mailbox, StoreError> {
    let spam_move: String = row.try_get("spam_move")?;
    Ok(Mailbox {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        address: row.try_get("address")?,
        display_name: row.try_get("display_name")?,
        quota_mb: row.try_get("quota_mb")?,
        spam_move: SpamMove::parse(&spam_move).ok_or_else(|| StoreError::Corrupt(format!("spam_move '{spam_move}'")))?,
        junk_purge_days: row.try_get("junk_purge_days")?,
        trash_purge_days: row.try_get("trash_purge_days")?,
        autoresponder: Autoresponder {
            enabled: row.try_get::<i64, _>("autoresponder_enabled")? != 0,
            subject: row.try_get("autoresponder_subject")?,
            text: row.try_get("autoresponder_text")?,
            start: row.try_get("autoresponder_start")?,
            end: row.try_get("autoresponder_end")?,
        },
        copy_to: json_list(&row.try_get::<String, _>("copy_to")?, "copy_to")?,
        policy_id: row.try_get("policy_id")?,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn alias(row: &AnyRow) -> Result<Alias, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Alias {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        kind: AliasKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("alias kind '{kind}'")))?,
        source: row.try_get("source")?,
        destinations: json_list(&row.try_get::<String, _>("destinations")?, "destinations")?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

pub(crate) fn policy(row: &AnyRow) -> Result<SpamPolicy, StoreError> {
    Ok(SpamPolicy {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        tag: row.try_get("tag")?,
        tag2: row.try_get("tag2")?,
        kill: row.try_get("kill_level")?,
        modifies_subject: opt_bool(row, "modifies_subject")?,
        subject_tag: row.try_get("subject_tag")?,
        spam_lover: opt_bool(row, "spam_lover")?,
        virus_lover: opt_bool(row, "virus_lover")?,
        builtin: row.try_get::<i64, _>("builtin")? != 0,
    })
}

pub(crate) fn server_set(row: &AnyRow) -> Result<ServerSet, StoreError> {
    let endpoints: String = row.try_get("endpoints")?;
    let oauth2: Option<String> = row.try_get("oauth2")?;
    Ok(ServerSet {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        provider_id: row.try_get("provider_id")?,
        display_name: row.try_get("display_name")?,
        display_short_name: row.try_get("display_short_name")?,
        node: row.try_get("node")?,
        endpoints: serde_json::from_str(&endpoints).map_err(|e| StoreError::Corrupt(format!("endpoints: {e}")))?,
        oauth2: oauth2.map(|o| serde_json::from_str(&o)).transpose().map_err(|e| StoreError::Corrupt(format!("oauth2: {e}")))?,
        caldav_url: row.try_get("caldav_url")?,
        carddav_url: row.try_get("carddav_url")?,
    })
}

pub(crate) fn filter(row: &AnyRow) -> Result<MailFilter, StoreError> {
    let field: String = row.try_get("field")?;
    let matching: String = row.try_get("matching")?;
    let action: String = row.try_get("action")?;
    Ok(MailFilter {
        id: row.try_get("id")?,
        mailbox_id: row.try_get("mailbox_id")?,
        name: row.try_get("name")?,
        field: FilterField::parse(&field).ok_or_else(|| StoreError::Corrupt(format!("filter field '{field}'")))?,
        header: row.try_get("header_name")?,
        matching: FilterMatch::parse(&matching).ok_or_else(|| StoreError::Corrupt(format!("filter match '{matching}'")))?,
        value: row.try_get("value")?,
        action: FilterAction::parse(&action).ok_or_else(|| StoreError::Corrupt(format!("filter action '{action}'")))?,
        argument: row.try_get("argument")?,
        position: row.try_get("position")?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

pub(crate) fn site(row: &AnyRow) -> Result<Site, StoreError> {
    Ok(Site {
        id: row.try_get("id")?,
        customer_id: row.try_get("customer_id")?,
        name: row.try_get("name")?,
        log_retention_days: row.try_get("log_retention_days")?,
        statistics: row.try_get::<i64, _>("statistics")? != 0,
    })
}

pub(crate) fn dns_zone(row: &AnyRow) -> Result<DnsZone, StoreError> {
    Ok(DnsZone { id: row.try_get("id")?, customer_id: row.try_get("customer_id")?, name: row.try_get("name")? })
}

pub(crate) fn dns_record(row: &AnyRow) -> Result<DnsRecord, StoreError> {
    Ok(DnsRecord {
        id: row.try_get("id")?,
        zone_id: row.try_get("zone_id")?,
        name: row.try_get("name")?,
        rtype: row.try_get("rtype")?,
        ttl: row.try_get("ttl")?,
        data: row.try_get("data")?,
    })
}
