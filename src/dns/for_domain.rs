//! The record list for one hosted domain, from the store's mail snapshot: what
//! `mailward dns records <domain>` and the admin API's JSON answer print.

use super::records::{MailRecord, RecordInput, mail_domain_records};
use crate::model::DomainName;
use crate::store::MailSnapshot;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordsError {
    #[error("{0}")]
    Name(#[from] crate::model::NameError),
    #[error("domain '{0}' is not hosted here")]
    NotHosted(String),
    #[error("domain '{0}' has no server set, so clients have nothing to be told")]
    NoServerSet(String),
}

/// `autoconfig_host` is the server's public hostname (`server.public_hostname`); MX hosts
/// default to the set's first SMTP host.
pub fn mail_records_for(mail: &MailSnapshot, domain: &str, autoconfig_host: &str) -> Result<Vec<MailRecord>, RecordsError> {
    let name = DomainName::parse(domain)?;
    let hosted = mail.domains.iter().find(|d| d.name == name.as_str()).ok_or_else(|| RecordsError::NotHosted(name.to_string()))?;
    let set = hosted
        .server_set_id
        .and_then(|id| mail.server_sets.iter().find(|s| s.id == id))
        .ok_or_else(|| RecordsError::NoServerSet(name.to_string()))?;
    Ok(mail_domain_records(&RecordInput { domain: name.as_str(), server_set: set, autoconfig_host, mx_hosts: &[] }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuthMethod, Domain, Endpoint, Protocol, Security, ServerSet};

    fn mail() -> MailSnapshot {
        let domain = |id, name: &str, set| Domain { id, name: name.into(), customer_id: 1, active: true, server_set_id: set, policy_id: None, created_at: 0 };
        let set = ServerSet {
            id: 7,
            name: "main".into(),
            provider_id: "p".into(),
            display_name: "P".into(),
            display_short_name: "P".into(),
            node: None,
            endpoints: vec![Endpoint { protocol: Protocol::Smtp, host: "smtp.example.net".into(), port: 465, security: Security::Tls, auth: vec![AuthMethod::PasswordCleartext] }],
            oauth2: None,
            caldav_url: None,
            carddav_url: None,
        };
        MailSnapshot { domains: vec![domain(1, "example.org", Some(7)), domain(2, "bare.example", None)], server_sets: vec![set], ..MailSnapshot::default() }
    }

    #[test]
    fn records_come_from_the_domains_server_set() {
        let records = mail_records_for(&mail(), "Example.ORG", "mail.example.net").unwrap();
        assert!(records.iter().any(|r| r.name == "_submissions._tcp.example.org." && r.data == "0 1 465 smtp.example.net."));
        assert!(records.iter().any(|r| r.name == "autoconfig.example.org." && r.data == "mail.example.net."));
    }

    #[test]
    fn unknown_or_setless_domains_are_errors() {
        assert_eq!(mail_records_for(&mail(), "other.example", "h.example").unwrap_err().to_string(), "domain 'other.example' is not hosted here");
        assert_eq!(mail_records_for(&mail(), "bare.example", "h.example").unwrap_err(), RecordsError::NoServerSet("bare.example".into()));
        assert!(mail_records_for(&mail(), "not a domain", "h.example").unwrap_err().to_string().starts_with("invalid domain name"));
    }
}
