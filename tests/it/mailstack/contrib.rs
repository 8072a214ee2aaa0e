//! The contrib snippets as an admin installs them: Postfix accepts the main.cf lines
//! (`postconf -n`, no warnings) and Dovecot the conf.d file (`doveconf -n`).

use std::path::Path;
use std::process::Command;

fn contrib(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib").join(path)).unwrap()
}

#[test]
fn postconf_accepts_the_postfix_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), format!("compatibility_level = 3.6\n{}", contrib("postfix/main.cf.mailward"))).unwrap();
    std::fs::write(dir.path().join("master.cf"), "smtp inet n - y - - smtpd\n").unwrap();
    let out = Command::new("postconf").arg("-c").arg(dir.path()).arg("-n").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("warning"), "{stderr}");
    for line in ["virtual_alias_maps = hash:/etc/postfix/mailward/virtual_aliases", "virtual_transport = lmtp:inet:127.0.0.1:24", "virtual_mailbox_maps = hash:/etc/postfix/mailward/virtual_mailboxes"] {
        assert!(stdout.lines().any(|l| l == line), "{line} missing from:\n{stdout}");
    }
}

#[test]
fn doveconf_accepts_the_dovecot_snippet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("90-mailward.conf"), contrib("dovecot/conf.d/90-mailward.conf")).unwrap();
    let conf = dir.path().join("dovecot.conf");
    std::fs::write(&conf, format!("protocols = imap lmtp\nssl = no\nbase_dir = {0}/run\n!include {0}/90-mailward.conf\n", dir.path().display())).unwrap();
    let out = Command::new("doveconf").arg("-c").arg(&conf).arg("-n").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for needle in ["args = scheme=ARGON2ID /etc/dovecot/mailward.passwd", "mail_plugins = \" quota sieve\"", "quota = maildir:User quota"] {
        assert!(stdout.contains(needle), "{needle} missing from:\n{stdout}");
    }
}
