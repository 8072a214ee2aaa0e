//! Postfix -> milter -> LMTP -> Dovecot -> Sieve -> IMAP, every program real and private:
//! Postfix reads the hash maps `apply` wrote, the milter scores and writes `X-Spam-Score`,
//! Dovecot authenticates from the generated passwd-file and runs the generated scripts.

use std::sync::Arc;

use mailward::apply::{self, ApplyInput, ApplyPaths, Plan};
use mailward::milter::{MilterConfig, MilterListener, MilterSettings, MilterSocket, MilterState};
use mailward::model::{Alias, AliasKind, Domain, SpamPolicy};
use mailward::spam::{PolicyDirectory, PolicyValues};

use super::apply::{domain, mailbox};
use super::{TEST_USER, ensure_test_user, group_id, open_up};
use crate::milter::KeywordScorer;
use crate::support::dovecot::Dovecot;
use crate::support::postfix::{Postfix, PostfixOptions};

fn preset(id: i64, name: &str) -> SpamPolicy {
    let mut p = mailward::model::policy::presets().into_iter().find(|p| p.name == name).unwrap();
    p.id = id;
    p
}

fn argon2id(password: &str) -> String {
    let out = std::process::Command::new("doveadm").args(["pw", "-s", "ARGON2ID", "-p", password]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_milter_dovecot_file_each_recipients_spam_by_its_own_policy() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let (uid, gid) = ensure_test_user();

    // anna has Normal (tag2 4.5), bob Permissive (tag2 10); info@ is an alias of anna.
    let policies = vec![preset(1, "Normal"), preset(2, "Permissive")];
    let domains: Vec<Domain> = vec![domain(1, "example.org")];
    let mut anna = mailbox(1, 1, "anna@example.org", &argon2id("anna-secret"), 0.0);
    anna.mailbox.policy_id = Some(1);
    let mut bob = mailbox(2, 1, "bob@example.org", &argon2id("bob-secret"), 0.0);
    bob.mailbox.policy_id = Some(2);
    let aliases = vec![Alias { id: 1, domain_id: 1, kind: AliasKind::Alias, source: "info@example.org".into(), destinations: vec!["anna@example.org".into()], active: true }];
    let directory = PolicyDirectory::new(PolicyValues::default(), &policies, &domains, &[], &[anna.mailbox.clone(), bob.mailbox.clone()], &aliases);
    for m in [&mut anna, &mut bob] {
        m.effective_tag2 = directory.effective_policy(&m.mailbox.address).values().tag2;
    }
    assert_eq!((anna.effective_tag2, bob.effective_tag2), (4.5, 10.0));
    let input = ApplyInput { domains, mailboxes: vec![anna, bob], aliases, alias_domains: vec![], filters: vec![] };

    let mut paths = ApplyPaths { postmap: Some("postmap".into()), sievec: Some("sievec".into()), ..ApplyPaths::under(dir.path()) };
    (paths.vmail_uid, paths.vmail_gid, paths.chown) = (uid, gid, true);
    // Dovecot's auth process reads the passwd-file through its group.
    paths.passwd_gid = group_id("dovecot");
    std::fs::create_dir_all(&paths.mail_root).unwrap();
    assert!(std::process::Command::new("chown").arg(format!("{TEST_USER}:")).arg(&paths.mail_root).status().unwrap().success());
    let report = apply::write(&Plan::build(&input, &paths), &paths);
    assert!(report.failures().is_empty(), "{:?}", report.failures());

    let dovecot = Arc::new(Dovecot::start(dir.path(), &paths.dovecot_passwd, TEST_USER));

    let socket = dir.path().join("milter.sock");
    let settings = MilterSettings::new(MilterSocket::Unix(socket.clone()), &MilterConfig { socket_mode: 0o666, ..MilterConfig::default() }).unwrap();
    let listener = MilterListener::bind(&settings).await.unwrap();
    let state = MilterState::new(settings, KeywordScorer::new(), directory);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(mailward::milter::run(listener, state, async move {
        let _ = stopped.await;
    }));

    let pf = paths.postfix_dir.display().to_string();
    let lmtp = dovecot.lmtp_port;
    let postfix = Arc::new(
        blocking(move || {
            Postfix::start(PostfixOptions {
                milter: Some(format!("unix:{}", socket.display())),
                extra_main_cf: vec![
                    format!("virtual_mailbox_domains = hash:{pf}/virtual_domains"),
                    format!("virtual_mailbox_maps = hash:{pf}/virtual_mailboxes"),
                    format!("virtual_alias_maps = hash:{pf}/virtual_aliases"),
                    format!("virtual_transport = lmtp:inet:127.0.0.1:{lmtp}"),
                ],
                ..Default::default()
            })
        })
        .await,
    );

    // One transaction, two recipients, a score (7) between their tag2 levels.
    let p = postfix.clone();
    let r = blocking(move || p.swaks(&["anna@example.org", "bob@example.org"], &["Subject: between"], "SCORE=7 offer")).await;
    assert_eq!(r.code, 0, "{}", r.transcript);
    // Ham through the alias lands in anna's INBOX.
    let p = postfix.clone();
    let r = blocking(move || p.swaks(&["info@example.org"], &["Subject: via alias"], "SCORE=1 hello")).await;
    assert_eq!(r.code, 0, "{}", r.transcript);
    // An address of the domain that is in none of the generated maps is refused.
    let p = postfix.clone();
    let r = blocking(move || p.swaks(&["nobody@example.org"], &["Subject: unknown"], "x")).await;
    assert_ne!(r.code, 0, "accepted an unknown address: {}", r.transcript);
    assert!(r.transcript.contains("550"), "{}", r.transcript);

    let d = dovecot.clone();
    let counts = blocking(move || {
        (
            d.wait_for_count("anna@example.org", "anna-secret", "Junk", 1),
            d.wait_for_count("bob@example.org", "bob-secret", "INBOX", 1),
            d.wait_for_count("anna@example.org", "anna-secret", "INBOX", 1),
            d.imap_count("bob@example.org", "bob-secret", "Junk"),
        )
    })
    .await;
    let p = postfix.clone();
    let log = blocking(move || p.log()).await;
    assert_eq!(counts, (Ok(1), Ok(1), Ok(1), Ok(0)), "postfix log:\n{log}\ndovecot log:\n{}", dovecot.log());
    let _ = stop.send(());
}
