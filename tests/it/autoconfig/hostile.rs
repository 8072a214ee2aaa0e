//! Hostile input: every case gets a 4xx answer and nothing the client sent is echoed back.

use mailward::check::document::parse_document;

use super::{OUTLOOK_SCHEMA, get, outlook_request, post, settings, state_with};

const AD: &str = "/autodiscover/autodiscover.xml";

#[tokio::test]
async fn xxe_body_is_refused_without_reading_files() {
    let state = state_with(settings());
    let body = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE Autodiscover [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n{}",
        outlook_request("&xxe;@example.org", OUTLOOK_SCHEMA).split_once("?>\n").unwrap().1
    );
    let answer = post(&state, AD, "example.org", body).await;
    assert_eq!(answer.status, 400);
    assert!(!answer.body.contains("root:"), "{}", answer.body);
    assert!(answer.body.contains("DTD"), "{}", answer.body);
}

#[tokio::test]
async fn billion_laughs_is_refused() {
    let state = state_with(settings());
    let mut body = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
        body.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10)));
    }
    body.push_str("]>\n<Autodiscover><Request><EMailAddress>&lol9;@example.org</EMailAddress></Request></Autodiscover>");
    let answer = post(&state, AD, "example.org", body).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.len() < 200);
}

#[tokio::test]
async fn undeclared_entity_is_refused() {
    let state = state_with(settings());
    let answer = post(&state, AD, "example.org", outlook_request("&lol;@example.org", OUTLOOK_SCHEMA)).await;
    assert_eq!(answer.status, 400);
    assert!(!answer.body.contains("&lol;"));
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let state = state_with(settings());
    let padded = outlook_request(&format!("{}@example.org", "a".repeat(9000)), OUTLOOK_SCHEMA);
    assert_eq!(post(&state, AD, "example.org", padded).await.status, 413);
    let huge = vec![b'<'; 16 * 1024 * 1024];
    assert_eq!(post(&state, AD, "example.org", huge).await.status, 413);
}

#[tokio::test]
async fn deeply_nested_body_is_refused() {
    let state = state_with(settings());
    let body = format!("<Autodiscover>{}{}</Autodiscover>", "<a>".repeat(100), "</a>".repeat(100));
    let answer = post(&state, AD, "example.org", body).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("deeper"));
}

#[tokio::test]
async fn broken_xml_is_refused() {
    let state = state_with(settings());
    for body in [
        "",
        "not xml at all",
        "<Autodiscover><Request><EMailAddress>a@example.org</EMailAddress>",
        "<Autodiscover><Request></EMailAddress></Request></Autodiscover>",
        "<Autodiscover><Request><EMailAddress>a@example.org</EMailAddress></Request></Autodiscover><Autodiscover>",
        "\u{feff}<html><body>hi</body></html>",
    ] {
        let answer = post(&state, AD, "example.org", body).await;
        assert!(answer.status.is_client_error(), "{body:?}: {}", answer.status);
    }
}

#[tokio::test]
async fn injection_in_the_address_is_refused_and_not_echoed() {
    let state = state_with(settings());
    for raw in ["a%22%3C%3E%26@example.org", "a@example.org%0AX-Injected:%201", "%3Cscript%3Ealert(1)%3C/script%3E@example.org", "a@exa%3Cmple.org", "a%0D%0Ab@example.org"] {
        let answer = get(&state, &format!("/mail/config-v1.1.xml?emailaddress={raw}"), "example.org").await;
        assert_eq!(answer.status, 400, "{raw}");
        assert!(!answer.body.contains('<') && !answer.body.contains("Injected") && !answer.body.contains("script"), "{raw}: {}", answer.body);
        assert!(answer.headers.get("x-injected").is_none());
    }
    for raw in ["&lt;script&gt;@example.org", "a&quot;b@example.org", "a@example.org&#10;X-Injected: 1"] {
        let answer = post(&state, AD, "example.org", outlook_request(raw, OUTLOOK_SCHEMA)).await;
        assert_eq!(answer.status, 400, "{raw}");
        assert!(!answer.body.contains('<') && !answer.body.contains("Injected"), "{raw}: {}", answer.body);
    }
}

#[tokio::test]
async fn markup_in_configured_names_is_escaped() {
    let state = state_with(settings());
    let answer = get(&state, "/mail/config-v1.1.xml", "legacy.example").await;
    assert!(answer.body.contains("Legacy &lt;Mail&gt; &amp;"), "{}", answer.body);
    // A real parser reads back exactly what the admin typed.
    let tree = mailward::check::document::parse_tree(answer.body.as_bytes()).unwrap();
    assert_eq!(tree.child("emailProvider").unwrap().child_text("displayName"), Some("Legacy <Mail> & \"Co\""));
    assert!(parse_document(answer.body.as_bytes()).is_ok());
}

#[tokio::test]
async fn hostile_host_header_is_not_echoed() {
    let state = state_with(settings());
    let answer = get(&state, "/mail/config-v1.1.xml", "autoconfig.<script>.example").await;
    assert_eq!(answer.status, 404);
    assert!(!answer.body.contains("script"));
}

/// A log sink for the test's subscriber.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn authorization_headers_are_never_logged() {
    use axum::body::Body;
    use axum::http::Request;
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || sink.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let state = state_with(settings());
    // Outlook sends Basic credentials to autodiscover: "alice@example.org:hunter2-secret".
    let credentials = "Basic YWxpY2VAZXhhbXBsZS5vcmc6aHVudGVyMi1zZWNyZXQ=";
    for (uri, body) in [("/autodiscover/autodiscover.xml", outlook_request("alice@example.org", OUTLOOK_SCHEMA)), ("/autodiscover/autodiscover.xml", "<broken".to_string()), ("/nope", String::new())] {
        let request = Request::post(uri).header("host", "example.org").header("authorization", credentials).body(Body::from(body)).unwrap();
        super::send(&state, request).await;
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("autoconfig request refused"), "the capture works: {log}");
    assert!(!log.contains("YWxpY2VA") && !log.contains("hunter2") && !log.to_lowercase().contains("authorization"), "{log}");
}
