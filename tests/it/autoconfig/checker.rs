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
    let command = CheckCommand::Autoconfig { address: "Alice@Example.org".into(), resolver: Some(dns_addr), http_port: http.port(), https_port: http.port(), ca_file: None, timeout: 5, };
    let mut out = Vec::new();
    let code = run(command, true, &mut out).await.unwrap();
    assert_eq!(code, 1, "Outlook finds nothing without HTTPS");
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["address"], "alice@example.org");
    assert_eq!(json["clients"][0]["document"]["incoming"][0]["host"], "mail.example.net");

    let bad = CheckCommand::Autoconfig { address: "not an address".into(), resolver: Some(dns_addr), http_port: 80, https_port: 443, ca_file: None, timeout: 1, };
    let mut out = Vec::new();
    assert_eq!(run(bad, false, &mut out).await.unwrap(), 2);
    assert!(String::from_utf8(out).unwrap().starts_with("invalid address"));
}

/// A private CA and a certificate for the example.org names, made with the openssl CLI.
fn make_certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mailward test CA", "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(&["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=mail.example.org", "-keyout", "leaf.key", "-out", "leaf.csr"]);
    std::fs::write(dir.join("leaf.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:example.org,DNS:autoconfig.example.org,DNS:autodiscover.example.org,DNS:mail.example.org\n").unwrap();
    openssl(&["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext", "-out", "leaf.pem"]);
    (dir.join("ca.pem"), dir.join("leaf.pem"), dir.join("leaf.key"))
}

/// The router behind TLS, as nginx or Apache would put it in front of mailward.
async fn start_autoconfig_tls(cert: &std::path::Path, key: &std::path::Path) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_file(cert).unwrap()];
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state_with(settings()));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(tls), service).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn both_clients_are_configured_over_https_with_a_trusted_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certificates(dir.path());
    let zone = dir.path().join("example.org.zone");
    std::fs::write(&zone, zone_text()).unwrap();
    let (_dns, dns_addr) = start_dns(&zone).await;
    let http = start_autoconfig().await;
    let https = start_autoconfig_tls(&cert, &key).await;
    let options = CheckOptions { resolver: Some(dns_addr), http_port: http.port(), https_port: https.port(), ca_file: Some(ca.clone()), timeout: Duration::from_secs(5) };
    let report = check_autoconfig(&Address::parse("alice@example.org").unwrap(), options).await.unwrap();

    let thunderbird = &report.clients[0];
    assert_eq!(thunderbird.attempts.len(), 1, "the first HTTPS URL answers: {:?}", thunderbird.attempts);
    assert!(thunderbird.source.as_deref().unwrap().starts_with("https://autoconfig.example.org:"));
    assert!(!thunderbird.verdict.contains("plain HTTP"), "{}", thunderbird.verdict);

    let outlook = &report.clients[1];
    assert_eq!(outlook.attempts.len(), 1, "{:?}", outlook.attempts);
    assert!(outlook.source.as_deref().unwrap().starts_with("https://example.org:"));
    let doc = outlook.document.as_ref().unwrap();
    assert_eq!(doc.incoming[0].username.as_deref(), Some("alice@example.org"));
    assert_eq!(outlook.verdict, "incoming imap mail.example.net:993 (tls), outgoing smtp mail.example.net:465 (tls)");
    assert!(report.all_configured());

    // Without the CA the same server is refused: the checker does not skip verification.
    let options = CheckOptions { resolver: Some(dns_addr), http_port: http.port(), https_port: https.port(), ca_file: None, timeout: Duration::from_secs(5) };
    let report = check_autoconfig(&Address::parse("alice@example.org").unwrap(), options).await.unwrap();
    assert!(!report.clients[0].attempts[0].accepted);
    assert!(report.clients[0].attempts[0].outcome.to_lowercase().contains("certificate"), "{}", report.clients[0].attempts[0].outcome);
}
