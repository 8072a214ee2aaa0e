//! One test per interop rule: what real clients send and what each of them needs back.

use mailward::check::document::parse_document;

use super::{OUTLOOK_SCHEMA, get, outlook_request, post, send, settings, state_with};
use axum::body::Body;
use axum::http::Request;

#[tokio::test]
async fn thunderbird_without_emailaddress_gets_placeholders_from_host_header() {
    // Thunderbird for Android, KMail and GNOME never send `emailaddress`.
    let state = state_with(settings());
    let answer = get(&state, "/mail/config-v1.1.xml", "autoconfig.example.org").await;
    assert_eq!(answer.status, 200);
    let doc = parse_document(answer.body.as_bytes()).unwrap();
    assert_eq!(doc.domains, ["example.org"]);
    assert!(doc.incoming.iter().chain(&doc.outgoing).all(|s| s.username.as_deref() == Some("%EMAILADDRESS%")));
}

#[tokio::test]
async fn host_header_fallback_accepts_every_form_clients_use() {
    let state = state_with(settings());
    for host in ["autoconfig.example.org", "example.org", "AutoConfig.Example.ORG", "autoconfig.example.org:8443", "autodiscover.example.org"] {
        let answer = get(&state, "/mail/config-v1.1.xml", host).await;
        assert_eq!(answer.status, 200, "Host: {host}");
        assert_eq!(parse_document(answer.body.as_bytes()).unwrap().domains, ["example.org"], "Host: {host}");
    }
    assert_eq!(get(&state, "/mail/config-v1.1.xml", "autoconfig.not-hosted.example").await.status, 404);
    assert_eq!(get(&state, "/mail/config-v1.1.xml", "[::1]:8080").await.status, 404);
}

#[tokio::test]
async fn every_thunderbird_url_variant_gives_the_same_answer() {
    let state = state_with(settings());
    let reference = get(&state, "/mail/config-v1.1.xml", "autoconfig.example.org").await.body;
    for path in ["/.well-known/autoconfig/mail/config-v1.1.xml", "/.well-known/mail-v1.xml", "/v1.1/example.org", "/Mail/Config-V1.1.xml", "/mail/config-v1.1.xml?emailaddress=%25EMAILADDRESS%25"] {
        let answer = get(&state, path, "example.org").await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.body, reference, "{path}");
    }
    assert_eq!(get(&state, "/v1.1/not-hosted.example", "example.org").await.status, 404);
}

#[tokio::test]
async fn autodiscover_path_matches_in_any_letter_case() {
    let state = state_with(settings());
    for path in ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml", "/AutoDiscover/AutoDiscover.xml", "/AUTODISCOVER/AUTODISCOVER.XML"] {
        let answer = post(&state, path, "autodiscover.example.org", outlook_request("alice@example.org", OUTLOOK_SCHEMA)).await;
        assert_eq!(answer.status, 200, "{path}");
        assert!(answer.body.contains("<LoginName>alice@example.org</LoginName>"), "{path}");
    }
}

#[tokio::test]
async fn get_autodiscover_is_answered() {
    let state = state_with(settings());
    let with_address = get(&state, "/autodiscover/autodiscover.xml?Email=alice%40example.org", "autodiscover.example.org").await;
    assert_eq!(with_address.status, 200);
    let doc = parse_document(with_address.body.as_bytes()).unwrap();
    assert_eq!(doc.incoming[0].username.as_deref(), Some("alice@example.org"));
    let by_host = get(&state, "/autodiscover/autodiscover.xml", "autodiscover.example.org").await;
    assert_eq!(by_host.status, 200);
    let doc = parse_document(by_host.body.as_bytes()).unwrap();
    assert_eq!((doc.incoming[0].host.as_str(), doc.incoming[0].port), ("mail.example.net", 993));
    assert_eq!(doc.incoming[0].username, None, "no address, so no LoginName");
}

#[tokio::test]
async fn starttls_is_ssl_on_with_tls_encryption() {
    let state = state_with(settings());
    let answer = post(&state, "/autodiscover/autodiscover.xml", "autodiscover.shop.example.com", outlook_request("info@shop.example.com", OUTLOOK_SCHEMA)).await;
    assert!(answer.body.contains("<Port>143</Port>"));
    assert!(!answer.body.contains("<SSL>off</SSL>"), "Thunderbird reads SSL off as plain text");
    assert_eq!(answer.body.matches("<SSL>on</SSL>").count(), 2);
    assert_eq!(answer.body.matches("<Encryption>TLS</Encryption>").count(), 2);
    let doc = parse_document(answer.body.as_bytes()).unwrap();
    assert!(doc.incoming.iter().chain(&doc.outgoing).all(|s| s.security == "starttls"));
    assert!(doc.diagnostics.is_empty(), "{:?}", doc.diagnostics);
}

#[tokio::test]
async fn spa_is_always_off() {
    let state = state_with(settings());
    let answer = post(&state, "/autodiscover/autodiscover.xml", "example.org", outlook_request("alice@example.org", OUTLOOK_SCHEMA)).await;
    let protocols = answer.body.matches("<Protocol>").count();
    assert_eq!(protocols, 3, "IMAP, POP3 and SMTP");
    assert_eq!(answer.body.matches("<SPA>off</SPA>").count(), protocols);
}

#[tokio::test]
async fn a_password_method_follows_oauth2() {
    let state = state_with(settings());
    let doc = parse_document(get(&state, "/mail/config-v1.1.xml", "example.org").await.body.as_bytes()).unwrap();
    let imap = &doc.incoming[0];
    assert_eq!(imap.authentication, ["OAuth2", "password-cleartext"]);
    // The admin listed OAuth2 after the password for SMTP: OAuth2 still comes first.
    assert_eq!(doc.outgoing[0].authentication, ["OAuth2", "password-cleartext"]);
    // A set without an OAuth2 issuer never announces OAuth2, even if an endpoint lists it.
    let shop = get(&state, "/mail/config-v1.1.xml", "shop.example.com").await.body;
    assert!(!shop.contains("OAuth2"));
    assert_eq!(parse_document(shop.as_bytes()).unwrap().incoming[0].authentication, ["password-cleartext"]);
}

#[tokio::test]
async fn plain_socket_types_appear_only_when_configured() {
    let state = state_with(settings());
    for host in ["example.org", "shop.example.com"] {
        let body = get(&state, "/mail/config-v1.1.xml", host).await.body;
        assert!(!body.contains("plain"), "{host}: {body}");
    }
    let legacy = get(&state, "/mail/config-v1.1.xml", "legacy.example").await.body;
    assert!(legacy.contains("<socketType>plain</socketType>"));
}

#[tokio::test]
async fn unknown_user_gets_the_same_answer_as_a_known_user() {
    let state = state_with(settings());
    let known = get(&state, "/mail/config-v1.1.xml?emailaddress=alice%40example.org", "example.org").await;
    let unknown = get(&state, "/mail/config-v1.1.xml?emailaddress=zed%40example.org", "example.org").await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body.replace("alice@", "zed@"), unknown.body);
    let known = post(&state, "/autodiscover/autodiscover.xml", "example.org", outlook_request("alice@example.org", OUTLOOK_SCHEMA)).await;
    let unknown = post(&state, "/autodiscover/autodiscover.xml", "example.org", outlook_request("zed@example.org", OUTLOOK_SCHEMA)).await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body.replace("alice@", "zed@"), unknown.body);
}

#[tokio::test]
async fn only_existing_addresses_option_hides_unknown_users_like_unhosted_domains() {
    let mut s = settings();
    s.only_existing_addresses = true;
    let state = state_with(s);
    assert_eq!(get(&state, "/mail/config-v1.1.xml?emailaddress=alice%40example.org", "example.org").await.status, 200);
    let unknown = get(&state, "/mail/config-v1.1.xml?emailaddress=zed%40example.org", "example.org").await;
    let unhosted = get(&state, "/mail/config-v1.1.xml?emailaddress=zed%40not-hosted.example", "example.org").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body, unhosted.body);
    // A catch-all makes every address of its domain exist.
    assert_eq!(get(&state, "/mail/config-v1.1.xml?emailaddress=anyone%40legacy.example", "x.example").await.status, 200);
    // Through an alias domain the mailbox of the target domain counts.
    assert_eq!(get(&state, "/mail/config-v1.1.xml?emailaddress=alice%40alias.example", "example.org").await.status, 200);
}

#[tokio::test]
async fn unhosted_inactive_and_setless_domains_get_404_and_alias_domains_answer() {
    let state = state_with(settings());
    for address in ["a%40not-hosted.example", "a%40inactive.example", "a%40orphan.example"] {
        assert_eq!(get(&state, &format!("/mail/config-v1.1.xml?emailaddress={address}"), "x.example").await.status, 404, "{address}");
    }
    let alias = get(&state, "/mail/config-v1.1.xml?emailaddress=bob%40alias.example", "x.example").await;
    assert_eq!(alias.status, 200);
    let doc = parse_document(alias.body.as_bytes()).unwrap();
    assert_eq!(doc.domains, ["alias.example"]);
    assert_eq!(doc.incoming[0].host, "mail.example.net");
}

#[tokio::test]
async fn addresses_are_decoded_leniently() {
    let state = state_with(settings());
    // A raw `+` in a query string arrives as a space after form decoding.
    let plus = get(&state, "/mail/config-v1.1.xml?emailaddress=alice+tag@example.org", "x.example").await;
    assert_eq!(parse_document(plus.body.as_bytes()).unwrap().incoming[0].username.as_deref(), Some("alice+tag@example.org"));
    let mixed = get(&state, "/mail/config-v1.1.xml?EmailAddress=Alice%40Example.ORG", "x.example").await;
    assert_eq!(parse_document(mixed.body.as_bytes()).unwrap().incoming[0].username.as_deref(), Some("alice@example.org"));
    let idn = get(&state, "/mail/config-v1.1.xml?emailaddress=bob%40b%C3%BCcher.example", "x.example").await;
    assert_eq!(idn.status, 200);
    assert_eq!(parse_document(idn.body.as_bytes()).unwrap().incoming[0].username.as_deref(), Some("bob@xn--bcher-kva.example"));
}

#[tokio::test]
async fn mobilesync_request_gets_an_autodiscover_error() {
    let state = state_with(settings());
    let answer = post(
        &state,
        "/autodiscover/autodiscover.xml",
        "example.org",
        outlook_request("alice@example.org", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"),
    )
    .await;
    assert_eq!(answer.status, 200, "Exchange answers errors with 200 and an Error element");
    let err = parse_document(answer.body.as_bytes()).unwrap_err();
    assert_eq!(err.to_string(), "autodiscover error 601: Provider is not available");
}

#[tokio::test]
async fn autodiscover_json_points_at_our_hostname() {
    let state = state_with(settings());
    let expected = serde_json::json!({"Protocol": "AutodiscoverV1", "Url": "https://autoconfig.example.net/autodiscover/autodiscover.xml"});
    for path in ["/autodiscover/autodiscover.json?Email=alice%40example.org&Protocol=AutodiscoverV1", "/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=AutodiscoverV1", "/AutoDiscover/AutoDiscover.json/v1.0/Alice%40Example.org?Protocol=autodiscoverv1"] {
        let answer = get(&state, path, "example.org").await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&answer.body).unwrap(), expected, "{path}");
    }
    let activesync = get(&state, "/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=ActiveSync", "example.org").await;
    assert_eq!(activesync.status, 400);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&activesync.body).unwrap()["ErrorCode"], "InvalidProtocol");
    assert_eq!(get(&state, "/autodiscover/autodiscover.json?Email=a%40not-hosted.example&Protocol=AutodiscoverV1", "example.org").await.status, 404);
}

#[tokio::test]
async fn mobileconfig_is_an_apple_profile_with_fresh_uuids() {
    let state = state_with(settings());
    let first = get(&state, "/mobileconfig?emailaddress=alice%40example.org", "example.org").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.headers["content-type"], "application/x-apple-aspen-config");
    assert!(first.body.contains("<string>com.apple.mail.managed</string>"));
    assert!(first.body.contains("<key>IncomingMailServerHostName</key>"));
    let second = get(&state, "/mobileconfig?emailaddress=alice%40example.org", "example.org").await;
    let uuids = |body: &str| body.split("<key>PayloadUUID</key>").skip(1).map(|s| s[..60].to_string()).collect::<Vec<_>>();
    assert_ne!(uuids(&first.body), uuids(&second.body));
    assert_eq!(get(&state, "/mobileconfig", "example.org").await.status, 400, "a profile needs an address");

    // Python's plistlib (a full property-list reader) sees the values iOS would.
    let script = "import json, plistlib, sys; p = plistlib.loads(sys.stdin.buffer.read()); m = p['PayloadContent'][0]; print(json.dumps({k: m[k] for k in ('EmailAccountType', 'IncomingMailServerHostName', 'IncomingMailServerPortNumber', 'IncomingMailServerUseSSL', 'OutgoingMailServerPortNumber', 'OutgoingMailServerUsername', 'PayloadType')} | {'type': p['PayloadType'], 'removal': p['PayloadRemovalDisallowed']}))";
    let mut child = std::process::Command::new("python3").args(["-c", script]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &first.bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        read,
        serde_json::json!({
            "EmailAccountType": "EmailTypeIMAP", "IncomingMailServerHostName": "mail.example.net", "IncomingMailServerPortNumber": 993,
            "IncomingMailServerUseSSL": true, "OutgoingMailServerPortNumber": 465, "OutgoingMailServerUsername": "alice@example.org",
            "PayloadType": "com.apple.mail.managed", "type": "Configuration", "removal": false
        })
    );
}

#[tokio::test]
async fn mobileconfig_is_signed_when_a_certificate_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=autoconfig.example.net", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut s = settings();
    s.signing = Some(mailward::autoconfig::SigningIdentity { certificate: cert.clone(), key, chain: None });
    let state = state_with(s);
    let answer = get(&state, "/mobileconfig?emailaddress=alice%40example.org", "example.org").await;
    assert_eq!(answer.status, 200);
    assert!(!answer.body.starts_with("<?xml"), "the profile is wrapped in CMS");
    let signed = dir.path().join("signed.der");
    std::fs::write(&signed, &answer.bytes).unwrap();
    let verified = std::process::Command::new("openssl").args(["smime", "-verify", "-inform", "der", "-CAfile"]).arg(&cert).arg("-in").arg(&signed).output().unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("<string>alice@example.org</string>"));
}

#[tokio::test]
async fn a_client_over_the_rate_limit_gets_429() {
    let mut s = settings();
    s.rate_limit_per_minute = 3;
    let state = state_with(s);
    for _ in 0..3 {
        assert_eq!(get(&state, "/mail/config-v1.1.xml", "example.org").await.status, 200);
    }
    let refused = get(&state, "/mail/config-v1.1.xml", "example.org").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.headers["retry-after"], "60");
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_are_refused() {
    let state = state_with(settings());
    let put = send(&state, Request::put("/mail/config-v1.1.xml").header("host", "example.org").body(Body::empty()).unwrap()).await;
    assert_eq!(put.status, 405);
    assert_eq!(get(&state, "/index.php", "example.org").await.status, 404);
}

#[tokio::test]
async fn the_snapshot_can_be_replaced_while_serving() {
    let state = state_with(settings());
    assert_eq!(get(&state, "/mail/config-v1.1.xml", "new.example").await.status, 404);
    let domains = vec![super::domain(9, "new.example", Some(2), true)];
    state.replace_snapshot(mailward::autoconfig::Snapshot::build(&domains, &super::server_sets(), Vec::<String>::new(), &[]));
    assert_eq!(get(&state, "/mail/config-v1.1.xml", "new.example").await.status, 200);
    assert_eq!(get(&state, "/mail/config-v1.1.xml", "example.org").await.status, 404);
}
