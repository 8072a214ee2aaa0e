//! Autoconfig, autodiscover, Apple profiles, the DNS records they need, and the checker.
//!
//! - `golden`: every answer type against files in `autoconfig/golden/` (`UPDATE_GOLDEN=1`
//!   rewrites them).
//! - `client_rules`: one test per interop rule of the issue, through the real router.
//! - `hostile`: XXE, billion laughs, oversized and deep bodies, broken XML, injection attempts.
//! - `exchangelib`: Python exchangelib 4.9 (a real autodiscover client) parses our answers.
//! - `ispdb`: the checker's document parser accepts every file of the Thunderbird ISPDB sample.
//! - `checker`: `mailward check autoconfig` against our server over TCP, with a hickory DNS
//!   server on loopback serving the zone `dns::records` renders; zones also go through
//!   `named-checkzone`.

mod checker;
mod client_rules;
mod exchangelib;
mod golden;
mod hostile;
mod ispdb;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use mailward::autoconfig::{AutoconfigState, Settings, Snapshot, router};
use mailward::model::{AliasDomain, AuthMethod, Domain, Endpoint, Protocol, Security, ServerSet};
use tower::ServiceExt;

pub const OUTLOOK_SCHEMA: &str = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

pub fn endpoint(protocol: Protocol, host: &str, port: u16, security: Security, auth: &[AuthMethod]) -> Endpoint {
    Endpoint { protocol, host: host.into(), port, security, auth: auth.to_vec() }
}

/// Set 1: implicit TLS and STARTTLS, OAuth2, CalDAV/CardDAV. Set 2: STARTTLS only, OAuth2
/// listed on an endpoint but no issuer configured. Set 3: a plain IMAP endpoint the admin chose.
pub fn server_sets() -> Vec<ServerSet> {
    use AuthMethod::*;
    use Protocol::*;
    use Security::*;
    vec![
        ServerSet {
            id: 1,
            name: "hosting".into(),
            provider_id: "mail.example.net".into(),
            display_name: "Example Hosting".into(),
            display_short_name: "Example".into(),
            node: None,
            endpoints: vec![
                endpoint(Imap, "mail.example.net", 993, Tls, &[PasswordCleartext, OAuth2]),
                endpoint(Imap, "mail.example.net", 143, Starttls, &[PasswordCleartext]),
                endpoint(Pop3, "mail.example.net", 995, Tls, &[PasswordCleartext]),
                endpoint(Smtp, "mail.example.net", 465, Tls, &[OAuth2, PasswordCleartext]),
                endpoint(Smtp, "mail.example.net", 587, Starttls, &[PasswordCleartext]),
            ],
            oauth2: Some(mailward::model::OAuth2 {
                issuer: "login.example.net".into(),
                scope: "mail offline_access".into(),
                auth_url: "https://login.example.net/authorize".into(),
                token_url: "https://login.example.net/token".into(),
            }),
            caldav_url: Some("https://dav.example.net/caldav/".into()),
            carddav_url: Some("https://dav.example.net/carddav/".into()),
        },
        ServerSet {
            id: 2,
            name: "shop".into(),
            provider_id: "shop-mail".into(),
            display_name: "Shop Mail".into(),
            display_short_name: "Shop".into(),
            node: None,
            endpoints: vec![
                endpoint(Imap, "imap.shop.example.com", 143, Starttls, &[OAuth2, PasswordCleartext]),
                endpoint(Smtp, "smtp.shop.example.com", 587, Starttls, &[PasswordCleartext]),
            ],
            oauth2: None,
            caldav_url: None,
            carddav_url: None,
        },
        ServerSet {
            id: 3,
            name: "legacy".into(),
            provider_id: "legacy".into(),
            display_name: "Legacy <Mail> & \"Co\"".into(),
            display_short_name: "Legacy".into(),
            node: None,
            endpoints: vec![
                endpoint(Imap, "legacy.example.net", 143, Plain, &[PasswordCleartext]),
                endpoint(Smtp, "legacy.example.net", 25, Plain, &[PasswordCleartext]),
            ],
            oauth2: None,
            caldav_url: None,
            carddav_url: None,
        },
    ]
}

pub fn domain(id: i64, name: &str, set: Option<i64>, active: bool) -> Domain {
    Domain { id, name: name.into(), customer_id: 1, active, server_set_id: set, policy_id: None, created_at: 0 }
}

pub fn snapshot() -> Snapshot {
    let domains = vec![
        domain(1, "example.org", Some(1), true),
        domain(2, "shop.example.com", Some(2), true),
        domain(3, "xn--bcher-kva.example", Some(1), true),
        domain(4, "inactive.example", Some(1), false),
        domain(5, "legacy.example", Some(3), true),
        domain(6, "orphan.example", None, true),
    ];
    let aliases = vec![AliasDomain { id: 1, source: "alias.example".into(), target_domain_id: 1, customer_id: 1, active: true }];
    Snapshot::build(&domains, &server_sets(), ["alice@example.org".to_string(), "info@shop.example.com".to_string(), "@legacy.example".to_string()], &aliases)
}

pub fn settings() -> Settings {
    let mut s = Settings::new("autoconfig.example.net");
    s.rate_limit_per_minute = 0;
    s
}

pub fn state_with(settings: Settings) -> Arc<AutoconfigState> {
    AutoconfigState::new(settings, snapshot())
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

pub async fn send(state: &Arc<AutoconfigState>, request: Request<Body>) -> Answer {
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes }
}

pub async fn get(state: &Arc<AutoconfigState>, uri: &str, host: &str) -> Answer {
    send(state, Request::get(uri).header("host", host).body(Body::empty()).unwrap()).await
}

pub async fn post(state: &Arc<AutoconfigState>, uri: &str, host: &str, body: impl Into<Body>) -> Answer {
    send(state, Request::post(uri).header("host", host).header("content-type", "text/xml").body(body.into()).unwrap()).await
}

/// The body Outlook POSTs.
pub fn outlook_request(address: &str, schema: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">\n  <Request>\n    <EMailAddress>{address}</EMailAddress>\n    <AcceptableResponseSchema>{schema}</AcceptableResponseSchema>\n  </Request>\n</Autodiscover>\n"
    )
}

/// Compares with `autoconfig/golden/<name>`; `UPDATE_GOLDEN=1` writes the file instead.
pub fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("autoconfig/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("golden file {} missing ({e}); run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(actual, expected, "output differs from {}; rerun with UPDATE_GOLDEN=1 if the change is intended", path.display());
}
