//! The Junk/Trash purge job against the private Dovecot: `doveadm expunge ... savedbefore`
//! runs for every mailbox, keeps mail saved within the period, and an unknown user is
//! reported without stopping the other runs.

use std::path::Path;

use mailward::apply::purge::{PurgeCommand, purge_commands, run_purge};
use mailward::apply::{self, ApplyInput, ApplyPaths, Plan};

use super::apply::{domain, mailbox};
use super::{TEST_USER, ensure_test_user, group_id, open_up};
use crate::support::dovecot::Dovecot;

#[test]
fn purge_runs_doveadm_per_mailbox_and_keeps_recent_junk() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let (uid, gid) = ensure_test_user();
    let mut p = ApplyPaths { postmap: Some("postmap".into()), sievec: Some("sievec".into()), ..ApplyPaths::under(dir.path()) };
    (p.vmail_uid, p.vmail_gid, p.chown, p.passwd_gid) = (uid, gid, true, group_id("dovecot"));
    std::fs::create_dir_all(&p.mail_root).unwrap();
    assert!(std::process::Command::new("chown").arg(format!("{TEST_USER}:")).arg(&p.mail_root).status().unwrap().success());
    let hash = String::from_utf8(std::process::Command::new("doveadm").args(["pw", "-s", "ARGON2ID", "-p", "pw-anna"]).output().unwrap().stdout).unwrap();
    let mut anna = mailbox(1, 1, "anna@example.org", hash.trim(), 4.5);
    anna.mailbox.trash_purge_days = 0; // never purge anna's Trash
    let input = ApplyInput { domains: vec![domain(1, "example.org")], mailboxes: vec![anna], ..Default::default() };
    assert!(apply::write(&Plan::build(&input, &p), &p).failures().is_empty());
    let dovecot = Dovecot::start(dir.path(), &p.dovecot_passwd, TEST_USER);
    dovecot.deliver("s@example.net", &["anna@example.org"], "From: s@example.net\r\nTo: anna@example.org\r\nSubject: x\r\nX-Spam-Score: 9\r\n\r\nspam\r\n");
    assert_eq!(dovecot.imap_count("anna@example.org", "pw-anna", "Junk"), Ok(1));

    let mailboxes: Vec<_> = input.mailboxes.iter().map(|m| m.mailbox.clone()).collect();
    let mut commands = purge_commands(&mailboxes);
    assert_eq!(commands, [PurgeCommand { user: "anna@example.org".into(), folder: "Junk", days: 30 }]);
    commands.insert(0, PurgeCommand { user: "ghost@example.org".into(), folder: "Junk", days: 30 });
    let results = run_purge(Path::new("doveadm"), Some(&dovecot.config), &commands);
    assert!(results[0].1.as_ref().is_err_and(|e| e.contains("ghost@example.org")), "{results:?}");
    assert_eq!(results[1].1, Ok(()), "{}", dovecot.log());
    assert_eq!(dovecot.imap_count("anna@example.org", "pw-anna", "Junk"), Ok(1), "purged mail saved today");
}
