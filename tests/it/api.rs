//! The REST API on the admin listener, driven in-process with `oneshot`: logins, the privilege
//! matrix through HTTP statuses, limits, hostile bodies, and that no answer carries a hash.

use crate::support::db;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mailward::access::Actor;
use mailward::api::{router, ApiState};
use mailward::control::{Control, NewMailboxInput};
use mailward::model::*;
use tower::ServiceExt;

fn basic(login: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{login}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

struct Api {
    app: axum::Router,
}

impl Api {
    async fn call(&self, method: &str, path: &str, auth: Option<(&str, &str)>, body: Option<&str>) -> (StatusCode, serde_json::Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some((l, p)) = auth {
            req = req.header("authorization", basic(l, p));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        assert!(!text.contains("argon2"), "{path}: a hash in the answer: {text}");
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::String(text)))
    }
}

async fn setup() -> (Api, db::TestDb, mailward::store::Store) {
    let database = db::sqlite().await;
    let store = database.open().await;
    let c = Control::new(store.clone());
    let a = Actor::Admin { name: "setup".into() };
    c.add_reseller(&a, "r1", "password r1", Limits::UNLIMITED).await.unwrap();
    c.add_reseller(&a, "r2", "password r2", Limits::UNLIMITED).await.unwrap();
    let mut limits = Limits::UNLIMITED;
    limits.mailboxes = 2;
    c.add_customer(&a, "c1", Some("r1"), "password c1", limits).await.unwrap();
    let set = ServerSet {
        id: 0,
        name: "mail.example.org".into(),
        provider_id: "example.org".into(),
        display_name: "Example".into(),
        display_short_name: "Ex".into(),
        node: None,
        endpoints: vec![Endpoint::parse_spec("imap:mail.example.org:993:tls").unwrap(), Endpoint::parse_spec("smtp:mail.example.org:587:starttls").unwrap()],
        oauth2: None,
        caldav_url: None,
        carddav_url: None,
    };
    c.add_server_set(&a, set).await.unwrap();
    c.add_domain(&a, "d1.example", Some("c1"), Some("mail.example.org"), None).await.unwrap();
    let m = NewMailboxInput { address: "m1@d1.example".into(), password: "mailbox password".into(), display_name: String::new(), quota_mb: 0, spam_move: SpamMove::Before, policy: None };
    c.add_mailbox(&a, m).await.unwrap();
    c.add_api_user(&a, "provisioner", "password api", vec!["mailbox.write".into(), "read".into()], None).await.unwrap();
    let app = router(ApiState { control: c, public_hostname: "autoconfig.example.net".into() });
    (Api { app }, database, store)
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_are_required_and_checked() {
    let (api, database, store) = setup().await;
    let (status, body) = api.call("GET", "/api/v1/domains", None, None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication required")));
    let (status, _) = api.call("GET", "/api/v1/domains", Some(("c1", "wrong password")), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = api.call("GET", "/api/v1/domains", Some(("c1", "password c1")), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["name"], "d1.example");
    let (status, body) = api.call("GET", "/api/v1/mailboxes", Some(("M1@d1.example", "mailbox password")), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 1);
    database.drop_db(store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn privileges_and_limits_map_to_statuses() {
    let (api, database, store) = setup().await;
    let c1 = Some(("c1", "password c1"));
    let (status, body) = api.call("POST", "/api/v1/domains", c1, Some(r#"{"name":"new.example"}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], "new.example");
    // Another reseller may not touch c1's domain.
    let (status, body) = api.call("PATCH", "/api/v1/domains/d1.example", Some(("r2", "password r2")), Some(r#"{"active":false}"#)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A mailbox user changes its spam settings but not its quota.
    let m1 = Some(("m1@d1.example", "mailbox password"));
    let (status, body) = api.call("PATCH", "/api/v1/mailboxes/m1@d1.example", m1, Some(r#"{"spam_move":"after","policy":"Permissive"}"#)).await;
    assert_eq!((status, body["spam_move"].as_str()), (StatusCode::OK, Some("after")), "{body}");
    let (status, _) = api.call("PATCH", "/api/v1/mailboxes/m1@d1.example", m1, Some(r#"{"quota_mb":5}"#)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An API user limited to mailbox.write adds mailboxes but not domains.
    let api_user = Some(("provisioner", "password api"));
    let (status, body) = api.call("POST", "/api/v1/mailboxes", api_user, Some(r#"{"address":"m2@d1.example","password":"mailbox password 2"}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = api.call("POST", "/api/v1/domains", api_user, Some(r#"{"name":"x.example","customer":"c1"}"#)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The customer's mailbox limit (2) is reached: 422 naming the limit.
    let (status, body) = api.call("POST", "/api/v1/mailboxes", c1, Some(r#"{"address":"m3@d1.example","password":"mailbox password 3"}"#)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "limit reached: customer 'c1' may have at most 2 mailboxes (has 2, this adds 1)");
    // Duplicates and unknown objects.
    let (status, _) = api.call("POST", "/api/v1/domains", c1, Some(r#"{"name":"d1.example"}"#)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = api.call("GET", "/api/v1/mailboxes/nobody@d1.example", c1, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The records a domain needs, as JSON.
    let (status, body) = api.call("GET", "/api/v1/dns/records/d1.example", c1, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.as_array().unwrap().iter().any(|r| r["type"] == "SRV" && r["name"].as_str().unwrap().starts_with("_imaps._tcp.d1.example")), "{body}");
    // Every change made through the API is in the log, with its actor.
    let (status, body) = api.call("GET", "/api/v1/log?limit=1000", None.or(Some(("r1", "password r1"))), None).await;
    assert_eq!(status, StatusCode::OK);
    let actors: Vec<&str> = body.as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert!(actors.contains(&"customer:c1") && actors.contains(&"api:provisioner") && actors.contains(&"mailbox:m1@d1.example"), "{actors:?}");
    database.drop_db(store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_get_a_clear_400_and_change_nothing() {
    let (api, database, store) = setup().await;
    let before = store.last_change_id().await.unwrap();
    let c1 = Some(("c1", "password c1"));
    let huge = format!(r#"{{"name":"{}"}}"#, "a".repeat(100_000));
    let cases: Vec<(&str, String, &str)> = vec![
        ("POST", "{not json".into(), "invalid JSON body"),
        ("POST", r#"{"name":"x.example","owner":"someone"}"#.into(), "unknown field `owner`"),
        ("POST", r#"{"name":42}"#.into(), "invalid JSON body"),
        ("POST", r#"{"name":"bad name.example"}"#.into(), "invalid domain name"),
        ("POST", r#"{"name":"<script>.example"}"#.into(), "invalid domain name"),
        ("POST", r#"{"name":"evil\n.example"}"#.into(), "evil\\n.example"),
        ("POST", huge, "larger than"),
    ];
    for (method, body, expected) in cases {
        let (status, answer) = api.call(method, "/api/v1/domains", c1, Some(&body)).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE, "{status} for {}", &body[..body.len().min(60)]);
        let text = answer["error"].as_str().unwrap_or_default().to_string();
        assert!(text.contains(expected), "expected '{expected}' in {answer}");
        // Answers are JSON (application/json): input quoted in an error is a JSON string, and
        // control characters in it are escaped by `names::printable` before that.
        assert!(answer.is_object(), "not a JSON error object: {text}");
    }
    // Oversized credentials are refused without hashing.
    let long = "x".repeat(5000);
    let (status, _) = api.call("GET", "/api/v1/domains", Some((&long, &long)), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(store.last_change_id().await.unwrap(), before, "a refused request wrote something");
    database.drop_db(store).await;
}
