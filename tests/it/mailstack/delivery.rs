//! Delivery through a private Dovecot that reads what `apply` wrote: LMTP in, Pigeonhole runs
//! the generated scripts, IMAP out. Passwords are hashed by `doveadm pw` and verified by IMAP.

use std::path::Path;
use std::process::Command;

use mailward::apply::{self, ApplyInput, ApplyPaths, Plan};
use mailward::model::{Alias, AliasKind, Autoresponder};

use super::apply::{domain, mailbox};
use super::{TEST_USER, ensure_test_user, group_id, open_up};
use crate::support::dovecot::Dovecot;

fn argon2id(password: &str) -> String {
    let out = Command::new("doveadm").args(["pw", "-s", "ARGON2ID", "-p", password]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn message(to: &str, subject: &str, score: Option<&str>) -> String {
    let score = score.map(|s| format!("X-Spam-Score: {s}\r\n")).unwrap_or_default();
    format!("From: sender@example.net\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}.{}@example.net>\r\n{score}\r\nHello.\r\n", crate::support::dovecot::free_port())
}

fn setup(root: &Path) -> (ApplyPaths, ApplyInput) {
    let (uid, gid) = ensure_test_user();
    let mut p = ApplyPaths { postmap: Some("postmap".into()), sievec: Some("sievec".into()), ..ApplyPaths::under(root) };
    p.vmail_uid = uid;
    p.vmail_gid = gid;
    p.passwd_gid = group_id("dovecot");
    p.chown = true;
    std::fs::create_dir_all(&p.mail_root).unwrap();
    let ok = Command::new("chown").arg(format!("{TEST_USER}:")).arg(&p.mail_root).status().unwrap().success();
    assert!(ok);

    let mut anna = mailbox(1, 1, "anna@example.org", &argon2id("anna-secret"), 4.5);
    anna.mailbox.autoresponder = Autoresponder { enabled: true, subject: "Away".into(), text: "I am away until Monday.".into(), start: Some(1_700_000_000), end: None };
    let bob = mailbox(2, 1, "bob@example.org", &argon2id("bob-secret"), 10.0);
    let input = ApplyInput {
        domains: vec![domain(1, "example.org")],
        mailboxes: vec![anna, bob],
        aliases: vec![Alias { id: 1, domain_id: 1, kind: AliasKind::Alias, source: "info@example.org".into(), destinations: vec!["anna@example.org".into()], active: true }],
        alias_domains: vec![],
        filters: vec![],
    };
    (p, input)
}

fn outbox_count(d: &Dovecot) -> usize {
    std::fs::read_dir(&d.outbox).unwrap().count()
}

#[test]
fn spam_lands_in_junk_by_each_recipients_own_tag2_and_imap_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let (p, input) = setup(dir.path());
    let report = apply::write(&Plan::build(&input, &p), &p);
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    let dovecot = Dovecot::start(dir.path(), &p.dovecot_passwd, TEST_USER);

    // One transaction, two recipients, a score between their tag2 levels (4.5 and 10).
    dovecot.deliver("sender@example.net", &["anna@example.org", "bob@example.org"], &message("anna@example.org, bob@example.org", "between", Some("7.00")));
    assert_eq!(dovecot.imap_count("anna@example.org", "anna-secret", "Junk"), Ok(1), "{}", dovecot.log());
    assert_eq!(dovecot.imap_count("anna@example.org", "anna-secret", "INBOX"), Ok(0));
    assert_eq!(dovecot.imap_count("bob@example.org", "bob-secret", "INBOX"), Ok(1), "{}", dovecot.log());
    assert_eq!(dovecot.imap_count("bob@example.org", "bob-secret", "Junk"), Ok(0));

    // Exactly at the threshold is spam; a hundredth below is not; negative never.
    dovecot.deliver("sender@example.net", &["anna@example.org"], &message("anna@example.org", "edge-at", Some("4.50")));
    dovecot.deliver("sender@example.net", &["anna@example.org"], &message("anna@example.org", "edge-below", Some("4.49")));
    dovecot.deliver("sender@example.net", &["anna@example.org"], &message("anna@example.org", "negative", Some("-5.0")));
    assert_eq!(dovecot.imap_count("anna@example.org", "anna-secret", "Junk"), Ok(2));
    assert_eq!(dovecot.imap_count("anna@example.org", "anna-secret", "INBOX"), Ok(2));

    // The generated scripts and their binaries load without a complaint from Pigeonhole.
    let log = dovecot.log();
    assert!(!log.lines().any(|l| l.contains("sieve") && (l.contains("Error:") || l.contains("Warning:"))), "{log}");
    let wrong = dovecot.imap_count("anna@example.org", "wrong-password", "INBOX");
    assert!(wrong.as_ref().is_err_and(|e| e.contains("a NO")), "{wrong:?}");
    assert!(dovecot.imap_count("nobody@example.org", "anna-secret", "INBOX").is_err());
}

#[test]
fn autoresponder_answers_once_for_an_alias_and_never_for_spam() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let (p, input) = setup(dir.path());
    let report = apply::write(&Plan::build(&input, &p), &p);
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    let dovecot = Dovecot::start(dir.path(), &p.dovecot_passwd, TEST_USER);

    dovecot.deliver("spammer@example.net", &["anna@example.org"], &message("anna@example.org", "spam", Some("12.3")));
    assert_eq!(outbox_count(&dovecot), 0, "answered spam");
    // Addressed to the alias only (Postfix would have rewritten the envelope to anna).
    dovecot.deliver("sender@example.net", &["anna@example.org"], &message("info@example.org", "first", Some("0.1")));
    assert_eq!(outbox_count(&dovecot), 1, "no answer for the alias: {}", dovecot.log());
    dovecot.deliver("sender@example.net", &["anna@example.org"], &message("anna@example.org", "second", None));
    assert_eq!(outbox_count(&dovecot), 1, "answered the same sender twice");
    let answer = std::fs::read_dir(&dovecot.outbox).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(answer).unwrap();
    assert!(text.contains("I am away until Monday.") && text.contains("sender@example.net"), "{text}");
}
