//! The records a hosted mail domain needs so that clients and other servers find us: the
//! `autoconfig`/`autodiscover` names, the `_autodiscover._tcp` SRV, RFC 6186 / RFC 8314 SRV for
//! IMAP, POP3 and submission, MX and SPF. Pure: the caller passes the domain and its server set.
//!
//! A service the set does not offer is published as SRV with target `.` (RFC 2782: "decidedly
//! not available"), so a client stops looking instead of guessing a plain-text port.

use serde::Serialize;

use crate::model::{Protocol, Security, ServerSet};

pub const DEFAULT_TTL: u32 = 3600;

/// Everything the record list depends on.
#[derive(Debug, Clone)]
pub struct RecordInput<'a> {
    /// Canonical domain name (punycode, no trailing dot).
    pub domain: &'a str,
    pub server_set: &'a ServerSet,
    /// The host that serves autoconfig and autodiscover over HTTPS (mailward's public name).
    pub autoconfig_host: &'a str,
    /// Inbound mail exchangers in preference order; empty means the set's first SMTP host.
    pub mx_hosts: &'a [String],
}

/// One record; `name` and host names in `data` are absolute (trailing dot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailRecord {
    pub name: String,
    pub ttl: u32,
    #[serde(rename = "type")]
    pub rtype: &'static str,
    pub data: String,
    /// One line for the admin: why the record is there.
    pub purpose: &'static str,
}

/// The SRV services of RFC 6186 and RFC 8314, with the endpoint kinds each one announces.
const MAIL_SRV: &[(&str, Protocol, &[Security], &str)] = &[
    ("_imaps", Protocol::Imap, &[Security::Tls], "IMAP with implicit TLS (RFC 8314)"),
    ("_imap", Protocol::Imap, &[Security::Starttls, Security::Plain], "IMAP with STARTTLS (RFC 6186)"),
    ("_pop3s", Protocol::Pop3, &[Security::Tls], "POP3 with implicit TLS (RFC 8314)"),
    ("_pop3", Protocol::Pop3, &[Security::Starttls, Security::Plain], "POP3 with STARTTLS (RFC 6186)"),
    ("_submissions", Protocol::Smtp, &[Security::Tls], "mail submission with implicit TLS (RFC 8314)"),
    ("_submission", Protocol::Smtp, &[Security::Starttls, Security::Plain], "mail submission with STARTTLS (RFC 6186)"),
];

pub fn mail_domain_records(input: &RecordInput) -> Vec<MailRecord> {
    let domain = input.domain.trim_end_matches('.');
    let fqdn = |host: &str| format!("{}.", host.trim_end_matches('.'));
    let autoconfig_host = fqdn(input.autoconfig_host);
    let record = |name: String, rtype, data: String, purpose| MailRecord { name, ttl: DEFAULT_TTL, rtype, data, purpose };
    let mut out = Vec::new();

    let mx_hosts: Vec<String> = if input.mx_hosts.is_empty() {
        input.server_set.endpoints.iter().find(|e| e.protocol == Protocol::Smtp).map(|e| vec![e.host.clone()]).unwrap_or_default()
    } else {
        input.mx_hosts.to_vec()
    };
    for (i, host) in mx_hosts.iter().enumerate() {
        out.push(record(fqdn(domain), "MX", format!("{} {}", 10 * (i + 1), fqdn(host)), "where other servers deliver mail for the domain"));
    }
    // SPF: the MX hosts send too; a separate submission host is named explicitly.
    let mut spf = String::from("v=spf1 mx");
    for e in input.server_set.endpoints.iter().filter(|e| e.protocol == Protocol::Smtp) {
        let term = format!(" a:{}", e.host);
        if !mx_hosts.iter().any(|m| m.eq_ignore_ascii_case(&e.host)) && !spf.contains(&term) {
            spf.push_str(&term);
        }
    }
    spf.push_str(" -all");
    out.push(record(fqdn(domain), "TXT", format!("\"{spf}\""), "SPF: which hosts may send mail for the domain"));

    out.push(record(fqdn(&format!("autoconfig.{domain}")), "CNAME", autoconfig_host.clone(), "Thunderbird, K-9, Evolution and GNOME fetch autoconfig here"));
    out.push(record(fqdn(&format!("autodiscover.{domain}")), "CNAME", autoconfig_host.clone(), "Outlook fetches autodiscover here"));
    out.push(record(
        fqdn(&format!("_autodiscover._tcp.{domain}")),
        "SRV",
        format!("0 0 443 {autoconfig_host}"),
        "Outlook's autodiscover fallback, works for any number of domains on one certificate",
    ));

    for (service, protocol, kinds, purpose) in MAIL_SRV {
        let name = fqdn(&format!("{service}._tcp.{domain}"));
        // Priority follows the admin's order across all incoming (IMAP and POP3) or all
        // submission endpoints, because clients compare `_imap`, `_imaps`, `_pop3` and `_pop3s`
        // priorities with each other (RFC 6186 section 3.4).
        let incoming = |p: Protocol| p != Protocol::Smtp;
        let same_protocol: Vec<_> = input.server_set.endpoints.iter().filter(|e| incoming(e.protocol) == incoming(*protocol)).collect();
        let mut offered = false;
        for (position, endpoint) in same_protocol.iter().enumerate() {
            if endpoint.protocol == *protocol && kinds.contains(&endpoint.security) {
                offered = true;
                out.push(record(name.clone(), "SRV", format!("{} 1 {} {}", position, endpoint.port, fqdn(&endpoint.host)), purpose));
            }
        }
        if !offered {
            out.push(record(name, "SRV", "0 0 0 .".to_string(), "service not offered: clients must not look further"));
        }
    }
    out
}

/// Zone-file lines (`name ttl IN type data`), with each record's purpose as a comment.
pub fn render_zone(records: &[MailRecord]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&format!("; {}\n{} {} IN {} {}\n", r.purpose, r.name, r.ttl, r.rtype, r.data));
    }
    out
}

pub fn render_json(records: &[MailRecord]) -> String {
    serde_json::to_string_pretty(records).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuthMethod, Endpoint};

    fn set(endpoints: &[(Protocol, &str, u16, Security)]) -> ServerSet {
        ServerSet {
            id: 1,
            name: "main".into(),
            provider_id: "example.net".into(),
            display_name: "Example".into(),
            display_short_name: "Ex".into(),
            node: None,
            endpoints: endpoints
                .iter()
                .map(|(protocol, host, port, security)| Endpoint { protocol: *protocol, host: host.to_string(), port: *port, security: *security, auth: vec![AuthMethod::PasswordCleartext] })
                .collect(),
            oauth2: None,
            caldav_url: None,
            carddav_url: None,
        }
    }

    fn find<'a>(records: &'a [MailRecord], name: &str) -> Vec<&'a str> {
        records.iter().filter(|r| r.name == name).map(|r| r.data.as_str()).collect()
    }

    #[test]
    fn offered_services_get_srv_and_missing_ones_a_dot_target() {
        let s = set(&[(Protocol::Imap, "imap.example.net", 993, Security::Tls), (Protocol::Smtp, "smtp.example.net", 465, Security::Tls), (Protocol::Smtp, "smtp.example.net", 587, Security::Starttls)]);
        let records = mail_domain_records(&RecordInput { domain: "example.org", server_set: &s, autoconfig_host: "mail.example.net", mx_hosts: &[] });
        assert_eq!(find(&records, "_imaps._tcp.example.org."), ["0 1 993 imap.example.net."]);
        assert_eq!(find(&records, "_imap._tcp.example.org."), ["0 0 0 ."]);
        assert_eq!(find(&records, "_pop3s._tcp.example.org."), ["0 0 0 ."]);
        assert_eq!(find(&records, "_submissions._tcp.example.org."), ["0 1 465 smtp.example.net."]);
        assert_eq!(find(&records, "_submission._tcp.example.org."), ["1 1 587 smtp.example.net."]);
        assert_eq!(find(&records, "_autodiscover._tcp.example.org."), ["0 0 443 mail.example.net."]);
        assert_eq!(find(&records, "autoconfig.example.org."), ["mail.example.net."]);
        assert_eq!(find(&records, "autodiscover.example.org."), ["mail.example.net."]);
        let apex = find(&records, "example.org.");
        assert!(apex.contains(&"10 smtp.example.net."), "{apex:?}");
        assert!(apex.contains(&"\"v=spf1 mx -all\""), "{apex:?}");
    }

    #[test]
    fn a_submission_host_outside_the_mx_list_is_named_in_spf() {
        let s = set(&[(Protocol::Smtp, "out.example.net", 465, Security::Tls)]);
        let mx = vec!["mx1.example.net".to_string()];
        let records = mail_domain_records(&RecordInput { domain: "example.org", server_set: &s, autoconfig_host: "mail.example.net", mx_hosts: &mx });
        assert!(find(&records, "example.org.").contains(&"\"v=spf1 mx a:out.example.net -all\""));
    }
}
