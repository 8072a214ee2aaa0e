//! `mailward check autoconfig` against our own server over TCP, with a hickory DNS server on
//! loopback serving the zone that `dns::records` renders (checked by `named-checkzone` first).

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::proto::rr::{LowerName, Name};
use hickory_server::store::file::{FileConfig, FileZoneHandler};
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use mailward::autoconfig::router;
use mailward::check::cli::{CheckCommand, run};
use mailward::check::{CheckOptions, check_autoconfig};
use mailward::dns::records::{RecordInput, mail_domain_records, render_zone};
use mailward::model::Address;

use super::{server_sets, settings, state_with};

/// The example.org zone: our rendered mail records plus the addresses a test needs.
fn zone_text() -> String {
    let sets = server_sets();
    let records = mail_domain_records(&RecordInput { domain: "example.org", server_set: &sets[0], autoconfig_host: "mail.example.org", mx_hosts: &[] });
    format!(
        "$ORIGIN example.org.\n$TTL 300\n@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300\n@ IN NS ns.example.org.\nns IN A 127.0.0.1\n@ IN A 127.0.0.1\nmail IN A 127.0.0.1\n{}",
        render_zone(&records)
    )
}

#[test]
fn rendered_records_pass_named_checkzone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.org.zone");
    std::fs::write(&path, zone_text()).unwrap();
    let output = std::process::Command::new("named-checkzone").arg("example.org").arg(&path).output().expect("named-checkzone (bind9-utils) is needed");
    assert!(output.status.success(), "{}\n{}", String::from_utf8_lossy(&output.stdout), zone_text());
}

async fn start_dns(zone: &std::path::Path) -> (Server<Catalog>, SocketAddr) {
    let origin = Name::from_str("example.org.").unwrap();
    let handler = FileZoneHandler::try_from_config(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny, None, &FileConfig { zone_path: zone.to_path_buf() }).unwrap();
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(handler)]);
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let udp = tokio::net::UdpSocket::bind(addr).await.unwrap();
    let mut server = Server::new(catalog);
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 4096);
    (server, addr)
}

async fn start_autoconfig() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state_with(settings())).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn checker_follows_thunderbird_and_outlook_order_against_our_server() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("example.org.zone");
    std::fs::write(&zone, zone_text()).unwrap();
    let (_dns, dns_addr) = start_dns(&zone).await;
    let http = start_autoconfig().await;
    let port = http.port();
    // HTTPS URLs go to the same plain-HTTP port, so every HTTPS attempt fails its handshake.
    let options = CheckOptions { resolver: Some(dns_addr), http_port: port, https_port: port, ca_file: None, timeout: Duration::from_secs(5) };
    let report = check_autoconfig(&Address::parse("alice@example.org").unwrap(), options).await.unwrap();

    let dns = |name: &str| report.dns.iter().find(|f| f.name == name).unwrap();
    assert_eq!(dns("autoconfig.example.org").answers, ["127.0.0.1"], "CNAME to mail.example.org followed");
    assert_eq!(dns("_autodiscover._tcp.example.org").answers, ["0 0 443 mail.example.org."]);
    assert_eq!(report.dns.iter().find(|f| f.rtype == "MX").unwrap().answers, ["10 mail.example.net."]);

    let thunderbird = &report.clients[0];
    let urls: Vec<String> = thunderbird.attempts.iter().map(|a| format!("{} {}", a.method, a.url)).collect();
    let q = "?emailaddress=alice@example.org";
    assert_eq!(
        urls,
        [
            format!("GET https://autoconfig.example.org:{port}/mail/config-v1.1.xml{q}"),
            format!("GET https://example.org:{port}/.well-known/autoconfig/mail/config-v1.1.xml{q}"),
            format!("GET http://autoconfig.example.org:{port}/mail/config-v1.1.xml{q}"),
        ]
    );
    assert!(thunderbird.attempts[2].accepted);
    assert!(thunderbird.verdict.contains("incoming imap mail.example.net:993 (tls)"), "{}", thunderbird.verdict);
    assert!(thunderbird.verdict.contains("outgoing smtp mail.example.net:465 (tls)"), "{}", thunderbird.verdict);
    assert!(thunderbird.verdict.contains("plain HTTP"), "{}", thunderbird.verdict);

    let outlook = &report.clients[1];
    let urls: Vec<String> = outlook.attempts.iter().map(|a| format!("{} {}", a.method, a.url)).collect();
    assert_eq!(
        urls,
        [
            format!("POST https://example.org:{port}/autodiscover/autodiscover.xml"),
            format!("POST https://autodiscover.example.org:{port}/autodiscover/autodiscover.xml"),
            format!("GET http://autodiscover.example.org:{port}/autodiscover/autodiscover.xml"),
            format!("POST https://mail.example.org:{port}/autodiscover/autodiscover.xml"),
        ]
    );
    assert!(outlook.attempts.iter().all(|a| !a.accepted));
    assert!(outlook.attempts[2].outcome.contains("only a redirect to HTTPS"), "{}", outlook.attempts[2].outcome);
    assert!(outlook.document.is_none());
    assert!(!report.all_configured());
}

#[tokio::test]
async fn check_command_prints_json_and_exits_1_when_a_client_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("example.org.zone");
    std::fs::write(&zone, zone_text()).unwrap();
    let (_dns, dns_addr) = start_dns(&zone).await;
    let http = start_autoconfig().await;
    let command = CheckCommand::Autoconfig { address: "Alice@Example.org".into(), resolver: Some(dns_addr), http_port: http.port(), https_port: http.port(), ca_file: None, timeout: 5, json: true };
    let mut out = Vec::new();
    let code = run(command, &mut out).await.unwrap();
    assert_eq!(code, 1, "Outlook finds nothing without HTTPS");
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["address"], "alice@example.org");
    assert_eq!(json["clients"][0]["document"]["incoming"][0]["host"], "mail.example.net");

    let bad = CheckCommand::Autoconfig { address: "not an address".into(), resolver: Some(dns_addr), http_port: 80, https_port: 443, ca_file: None, timeout: 1, json: false };
    let mut out = Vec::new();
    assert_eq!(run(bad, &mut out).await.unwrap(), 2);
    assert!(String::from_utf8(out).unwrap().starts_with("invalid address"));
}
