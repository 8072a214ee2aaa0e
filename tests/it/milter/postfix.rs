//! The milter behind a real, private Postfix (see `support::postfix`), with swaks as the
//! sender and the delivered Maildir files as what the user would read.

use std::sync::Arc;

use mailward::milter::{MilterConfig, Scorer};

use super::RunningMilter;
use crate::support::postfix::{Postfix, PostfixOptions};

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

fn scorer() -> Arc<dyn Scorer> {
    super::engine_scorer()
}

fn mailboxes() -> Vec<String> {
    ["strict@example.org", "strict2@example.org", "lax@example.org", "lover@example.org"].iter().map(|s| s.to_string()).collect()
}

async fn stack() -> (RunningMilter, Postfix) {
    stack_with(MilterConfig::default()).await
}

async fn stack_with(config: MilterConfig) -> (RunningMilter, Postfix) {
    let milter = RunningMilter::start(config, scorer()).await;
    let socket = milter.socket.clone();
    let postfix = tokio::task::spawn_blocking(move || {
        Postfix::start(PostfixOptions { mailboxes: mailboxes(), milter: Some(format!("unix:{}", socket.display())), ..Default::default() })
    })
    .await
    .unwrap();
    (milter, postfix)
}

fn header_value<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\n\n").next().unwrap_or("");
    head.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_delivers_ham_and_tagged_spam_and_refuses_gtube_at_kill_level() {
    let (_milter, postfix) = stack().await;
    let postfix = Arc::new(postfix);

    // Ham to one recipient: delivered, no flag, no subject tag.
    let p = postfix.clone();
    let r = blocking(move || p.swaks(&["lax@example.org"], &["Subject: lunch"], "see you at noon")).await;
    assert_eq!(r.code, 0, "{}", r.transcript);
    // Spam over Permissive's tag2 (10) and under its kill level (20): flagged and tagged.
    let p = postfix.clone();
    let spam_body = format!("{} cheap pills", super::SPAM_12);
    let r = blocking(move || p.swaks(&["lax@example.org"], &["Subject: offer"], &spam_body)).await;
    assert_eq!(r.code, 0, "{}", r.transcript);
    let p = postfix.clone();
    let messages = blocking(move || p.wait_for_messages("lax@example.org", 2)).await;
    let ham = messages.iter().find(|m| m.contains("lunch")).unwrap();
    assert_eq!(header_value(ham, "Subject"), Some("lunch"));
    assert_eq!(header_value(ham, "X-Spam-Flag"), None);
    let spam = messages.iter().find(|m| m.contains("cheap pills")).unwrap();
    assert_eq!(header_value(spam, "X-Spam-Flag"), Some("YES"), "{spam}");
    assert_eq!(header_value(spam, "Subject"), Some("***SPAM*** offer"), "{spam}");
    let score: f64 = header_value(spam, "X-Spam-Score").unwrap().parse().unwrap();
    assert!(score >= 10.0, "{spam}");
    assert!(header_value(spam, "X-Spam-Status").unwrap().starts_with("Yes, score="));

    // GTUBE to two recipients whose kill levels are both reached: refused at end of data.
    let p = postfix.clone();
    let r = blocking(move || p.swaks(&["strict@example.org", "strict2@example.org"], &["Subject: test"], GTUBE)).await;
    assert_eq!(r.code, 26, "{}", r.transcript);
    assert!(r.transcript.contains("550 5.7.1 message refused as spam"), "{}", r.transcript);

    // GTUBE to a strict recipient and a spam lover: accepted for both, with the score.
    let p = postfix.clone();
    let r = blocking(move || p.swaks(&["strict@example.org", "lover@example.org"], &["Subject: test"], GTUBE)).await;
    assert_eq!(r.code, 0, "{}", r.transcript);
    for rcpt in ["strict@example.org", "lover@example.org"] {
        let p = postfix.clone();
        let m = blocking(move || p.wait_for_messages(rcpt, 1)).await;
        let score: f64 = header_value(&m[0], "X-Spam-Score").unwrap().parse().unwrap();
        assert!(score >= 100.0, "{}", m[0]);
        assert!(header_value(&m[0], "X-Spam-Status").unwrap().contains("GTUBE="), "{}", m[0]);
        // Over both tag2 levels (5 and the spam lover's 999): flagged for both.
        assert_eq!(header_value(&m[0], "X-Spam-Flag"), Some("YES"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locally_submitted_mail_is_scored_through_non_smtpd_milters() {
    let milter = RunningMilter::start(MilterConfig::default(), scorer()).await;
    let socket = milter.socket.clone();
    let postfix = blocking(move || {
        let milter = format!("unix:{}", socket.display());
        Postfix::start(PostfixOptions { mailboxes: mailboxes(), extra_main_cf: vec![format!("non_smtpd_milters = {milter}")], milter: Some(milter), ..Default::default() })
    })
    .await;
    let postfix = Arc::new(postfix);
    let p = postfix.clone();
    let body = format!("From: webform@example.org\nTo: lax@example.org\nSubject: offer\nX-Spam-Flag: NO\n\n{} cheap pills\n", super::SPAM_12);
    let out = blocking(move || p.sendmail("webform@example.org", "lax@example.org", &body)).await;
    assert!(out.status.success(), "sendmail: {}", String::from_utf8_lossy(&out.stderr));
    let p = postfix.clone();
    let m = blocking(move || p.wait_for_messages("lax@example.org", 1)).await;
    assert_eq!(header_value(&m[0], "X-Spam-Flag"), Some("YES"), "{}", m[0]);
    assert_eq!(header_value(&m[0], "Subject"), Some("***SPAM*** offer"), "{}", m[0]);
    assert!(header_value(&m[0], "X-Spam-Status").unwrap().starts_with("Yes, score="), "{}", m[0]);
    assert_eq!(m[0].matches("X-Spam-Flag").count(), 1, "the submitted X-Spam-Flag: NO was removed:\n{}", m[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_delivers_without_forged_spam_headers() {
    let (_milter, postfix) = stack().await;
    let postfix = Arc::new(postfix);
    let p = postfix.clone();
    let r = blocking(move || p.swaks(&["lax@example.org"], &["Subject: hi", "X-Spam-Flag: NO", "X-Spam-Score: -50", "X-Spam-Status: No, score=-50 required=5"], "hello")).await;
    assert_eq!(r.code, 0, "{}", r.transcript);
    let p = postfix.clone();
    let m = blocking(move || p.wait_for_messages("lax@example.org", 1)).await;
    assert!(!m[0].contains("-50"), "forged headers survived:\n{}", m[0]);
    assert_eq!(header_value(&m[0], "X-Spam-Flag"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spam_headers_from_a_relay_trusted_by_host_name_are_kept() {
    // swaks connects from 127.0.0.1, which Postfix verifies as `localhost` (/etc/hosts)
    let (_milter, postfix) = stack_with(MilterConfig { trusted_relays: vec!["localhost".into()], ..Default::default() }).await;
    let postfix = Arc::new(postfix);
    let p = postfix.clone();
    let r = blocking(move || p.swaks(&["lax@example.org"], &["Subject: hi", "X-Spam-Flag: NO", "X-Spam-Score: -50"], "hello")).await;
    assert_eq!(r.code, 0, "{}", r.transcript);
    let p = postfix.clone();
    let m = blocking(move || p.wait_for_messages("lax@example.org", 1)).await;
    let connects: Vec<String> = postfix.log().lines().filter(|l| l.contains("connect from")).map(String::from).collect();
    assert_eq!(header_value(&m[0], "X-Spam-Score"), Some("-50"), "the trusted relay's header was removed; Postfix saw {connects:?}:\n{}", m[0]);
    assert_eq!(header_value(&m[0], "X-Spam-Flag"), Some("NO"), "{}", m[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_answers_451_when_the_milter_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nobody-listens.sock");
    let postfix = blocking(move || Postfix::start(PostfixOptions { mailboxes: mailboxes(), milter: Some(format!("unix:{}", socket.display())), ..Default::default() })).await;
    let r = blocking(move || postfix.swaks(&["lax@example.org"], &["Subject: hi"], "hello")).await;
    assert_ne!(r.code, 0);
    assert!(r.transcript.contains("451 4.7.1"), "{}", r.transcript);
}
