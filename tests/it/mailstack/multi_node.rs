//! Two mail nodes sharing one PostgreSQL database: a mailbox added through node A's control
//! layer is applied by node B from the shared store and receives mail through B's private
//! Dovecot, with the password set on A and the policy resolved from the shared policies.

use mailward::access::Actor;
use mailward::apply::{ApplyPaths, apply_from_store};
use mailward::control::{Control, NewMailboxInput};
use mailward::model::{Limits, SpamMove};
use mailward::spam::PolicyValues;

use super::{TEST_USER, ensure_test_user, group_id, open_up};
use crate::support::db;
use crate::support::dovecot::Dovecot;

fn node_paths(root: &std::path::Path) -> ApplyPaths {
    let (uid, gid) = ensure_test_user();
    let mut p = ApplyPaths { postmap: Some("postmap".into()), sievec: Some("sievec".into()), ..ApplyPaths::under(root) };
    (p.vmail_uid, p.vmail_gid, p.chown, p.passwd_gid) = (uid, gid, true, group_id("dovecot"));
    std::fs::create_dir_all(&p.mail_root).unwrap();
    assert!(std::process::Command::new("chown").arg(format!("{TEST_USER}:")).arg(&p.mail_root).status().unwrap().success());
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_added_on_one_node_receives_mail_on_the_other() {
    let database = db::postgres().await;
    let node_a = database.open().await;
    let node_b = database.open().await;
    let dir_b = tempfile::tempdir().unwrap();
    open_up(dir_b.path());
    let paths_b = node_paths(dir_b.path());

    // Node B applies first: nothing hosted yet.
    let (report, cursor_before) = apply_from_store(&node_b, Some("b"), &paths_b, PolicyValues::default()).await.unwrap();
    assert!(report.failures().is_empty(), "{:?}", report.failures());

    // Node A adds the domain and a mailbox with the Normal policy (tag2 4.5).
    let admin = Actor::Admin { name: "test".into() };
    let control = Control::new(node_a.clone());
    control.add_customer(&admin, "c1", None, "customer password", Limits::UNLIMITED).await.unwrap();
    control.add_domain(&admin, "example.org", Some("c1"), None, Some("Normal")).await.unwrap();
    control
        .add_mailbox(&admin, NewMailboxInput { address: "anna@example.org".into(), password: "anna-secret-pw".into(), display_name: "Anna".into(), quota_mb: 100, spam_move: SpamMove::Before, policy: None })
        .await
        .unwrap();

    // Node B follows the shared change log and applies again.
    let (report, cursor_after) = apply_from_store(&node_b, Some("b"), &paths_b, PolicyValues::default()).await.unwrap();
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    assert!(cursor_after > cursor_before, "the change made on node A did not move the shared change log");
    let passwd = std::fs::read_to_string(&paths_b.dovecot_passwd).unwrap();
    assert!(passwd.contains("anna@example.org:{ARGON2ID}$argon2id$"), "{passwd}");

    let dovecot = tokio::task::spawn_blocking({
        let root = dir_b.path().to_path_buf();
        let passwd = paths_b.dovecot_passwd.clone();
        move || Dovecot::start(&root, &passwd, TEST_USER)
    })
    .await
    .unwrap();
    let spam = "From: s@example.net\r\nTo: anna@example.org\r\nSubject: offer\r\nX-Spam-Score: 4.5\r\n\r\nbuy\r\n";
    let ham = "From: s@example.net\r\nTo: anna@example.org\r\nSubject: hello\r\nX-Spam-Score: 4.49\r\n\r\nhi\r\n";
    let result = tokio::task::spawn_blocking(move || {
        dovecot.deliver("s@example.net", &["anna@example.org"], spam);
        dovecot.deliver("s@example.net", &["anna@example.org"], ham);
        let r = (dovecot.imap_count("anna@example.org", "anna-secret-pw", "Junk"), dovecot.imap_count("anna@example.org", "anna-secret-pw", "INBOX"));
        (r, dovecot.log())
    })
    .await
    .unwrap();
    assert_eq!(result.0, (Ok(1), Ok(1)), "{}", result.1);
    node_a.close().await;
    database.drop_db(node_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apply_follower_writes_a_new_mailbox_when_the_change_log_moves() {
    let database = db::sqlite().await;
    let store = database.open().await;
    let dir = tempfile::tempdir().unwrap();
    let paths = ApplyPaths { postmap: Some("postmap".into()), sievec: Some("sievec".into()), ..ApplyPaths::under(dir.path()) };
    let (change_tx, change_rx) = tokio::sync::watch::channel(0i64);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(mailward::apply::follow_and_apply(
        store.clone(),
        None,
        paths.clone(),
        PolicyValues::default(),
        change_rx,
        std::time::Duration::from_secs(3600),
        stop_rx,
    ));

    let admin = Actor::Admin { name: "test".into() };
    let control = Control::new(store.clone());
    control.add_customer(&admin, "c1", None, "customer password", Limits::UNLIMITED).await.unwrap();
    control.add_domain(&admin, "example.org", Some("c1"), None, Some("Permissive")).await.unwrap();
    control
        .add_mailbox(&admin, NewMailboxInput { address: "new@example.org".into(), password: "new-secret-pw".into(), display_name: String::new(), quota_mb: 0, spam_move: SpamMove::After, policy: None })
        .await
        .unwrap();
    change_tx.send(store.last_change_id().await.unwrap()).unwrap();

    // Readiness wait for the follower's pass, not a timing check.
    let script = paths.sieve_dir.join("example.org/new.sieve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !script.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&script).expect("the follower did not write the new mailbox's script");
    assert!(text.contains("\"${mw_hundredths}\" \"1000\""), "Permissive's tag2 (10) not used:\n{text}");
    assert!(std::fs::read_to_string(&paths.dovecot_passwd).unwrap().contains("new@example.org:"));
    stop_tx.send(true).unwrap();
    follower.await.unwrap();
}
