//! The apply writer against real `postmap` (checked with `postmap -q`) and `sievec`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use mailward::apply::{self, ApplyInput, ApplyPaths, FileOutcome, MARKER, MailboxInput, Plan};
use mailward::model::{Alias, AliasDomain, AliasKind, Autoresponder, Domain, FilterAction, FilterField, FilterMatch, MailFilter, Mailbox, SpamMove};

pub fn domain(id: i64, name: &str) -> Domain {
    Domain { id, name: name.into(), customer_id: 1, active: true, server_set_id: None, policy_id: None, created_at: 0 }
}

pub fn mailbox(id: i64, domain_id: i64, address: &str, hash: &str, tag2: f64) -> MailboxInput {
    MailboxInput {
        mailbox: Mailbox {
            id,
            domain_id,
            address: address.into(),
            display_name: String::new(),
            quota_mb: 100,
            spam_move: SpamMove::Before,
            junk_purge_days: 30,
            trash_purge_days: 30,
            autoresponder: Autoresponder::default(),
            copy_to: vec![],
            policy_id: None,
            active: true,
            created_at: 0,
        },
        password_hash: hash.into(),
        effective_tag2: tag2,
    }
}

const HASH: &str = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$sELuyMvvmmCoy27Zu5tSLw$GIL5lK6mfSigsCpXxjPe89FHQqT+e962Fudi2O0KfO4";

fn input() -> ApplyInput {
    ApplyInput {
        domains: vec![domain(1, "example.org")],
        mailboxes: vec![mailbox(1, 1, "anna@example.org", HASH, 4.5), mailbox(2, 1, "bob@example.org", HASH, 10.0)],
        aliases: vec![
            Alias { id: 1, domain_id: 1, kind: AliasKind::Alias, source: "info@example.org".into(), destinations: vec!["anna@example.org".into()], active: true },
            Alias { id: 2, domain_id: 1, kind: AliasKind::Catchall, source: "@example.org".into(), destinations: vec!["bob@example.org".into()], active: true },
        ],
        alias_domains: vec![AliasDomain { id: 1, source: "example.com".into(), target_domain_id: 1, customer_id: 1, active: true }],
        filters: vec![],
    }
}

fn paths(root: &Path) -> ApplyPaths {
    ApplyPaths { postmap: Some("postmap".into()), sievec: Some("sievec".into()), ..ApplyPaths::under(root) }
}

fn postmap_q(key: &str, map: &Path) -> Option<String> {
    let out = Command::new("postmap").arg("-q").arg(key).arg(format!("hash:{}", map.display())).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn written_names(report: &apply::ApplyReport) -> Vec<String> {
    let mut v: Vec<String> = report.written().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn postfix_answers_lookups_from_the_written_maps() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let report = apply::write(&Plan::build(&input(), &p), &p);
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    let pf = &p.postfix_dir;
    assert_eq!(postmap_q("example.org", &pf.join("virtual_domains")).as_deref(), Some("OK"));
    assert_eq!(postmap_q("example.com", &pf.join("virtual_domains")).as_deref(), Some("OK"));
    assert_eq!(postmap_q("nope.org", &pf.join("virtual_domains")), None);
    assert_eq!(postmap_q("anna@example.org", &pf.join("virtual_mailboxes")).as_deref(), Some("OK"));
    assert_eq!(postmap_q("info@example.org", &pf.join("virtual_aliases")).as_deref(), Some("anna@example.org"));
    assert_eq!(postmap_q("info@example.com", &pf.join("virtual_aliases")).as_deref(), Some("info@example.org"));
    assert_eq!(postmap_q("anna@example.org", &pf.join("virtual_aliases")).as_deref(), Some("anna@example.org"), "a catch-all must not swallow a mailbox");
    assert_eq!(postmap_q("@example.org", &pf.join("virtual_aliases")).as_deref(), Some("bob@example.org"));
    // Each script was compiled: the binary sits next to it.
    assert!(p.sieve_dir.join("example.org/anna.svbin").exists());
    let mode = std::fs::metadata(&p.dovecot_passwd).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the passwd-file holds hashes");
}

#[test]
fn unchanged_apply_writes_nothing_and_one_change_touches_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mut inp = input();
    apply::write(&Plan::build(&inp, &p), &p);
    let again = apply::write(&Plan::build(&inp, &p), &p);
    assert!(again.written().is_empty(), "{:?}", again.written());
    assert_eq!(again.unchanged(), 3 + 2 + 1);

    inp.filters.push(MailFilter {
        id: 1,
        mailbox_id: 1,
        name: "bills".into(),
        field: FilterField::Subject,
        header: String::new(),
        matching: FilterMatch::Contains,
        value: "invoice".into(),
        action: FilterAction::Move,
        argument: "Bills".into(),
        position: 1,
        active: true,
    });
    let one = apply::write(&Plan::build(&inp, &p), &p);
    assert_eq!(written_names(&one), ["anna.sieve"]);

    inp.mailboxes[1].password_hash = HASH.replace("GIL5", "XXXX");
    let pw = apply::write(&Plan::build(&inp, &p), &p);
    assert_eq!(written_names(&pw), ["passwd"]);
}

#[test]
fn manual_additions_below_the_marker_survive_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mut inp = input();
    apply::write(&Plan::build(&inp, &p), &p);
    let aliases = p.postfix_dir.join("virtual_aliases");
    let mut text = std::fs::read_to_string(&aliases).unwrap();
    assert!(text.ends_with(&format!("{MARKER}\n")));
    text.push_str("postmaster@example.org admin@example.net\n");
    std::fs::write(&aliases, &text).unwrap();

    inp.aliases[0].destinations = vec!["bob@example.org".into()];
    let report = apply::write(&Plan::build(&inp, &p), &p);
    assert!(written_names(&report).contains(&"virtual_aliases".to_string()));
    let after = std::fs::read_to_string(&aliases).unwrap();
    assert!(after.ends_with(&format!("{MARKER}\npostmaster@example.org admin@example.net\n")), "{after}");
    assert_eq!(postmap_q("postmaster@example.org", &aliases).as_deref(), Some("admin@example.net"));
    assert_eq!(postmap_q("info@example.org", &aliases).as_deref(), Some("bob@example.org"));
}

#[test]
fn a_file_written_before_mailward_is_kept_below_the_marker() {
    let merged = apply::merge_manual_additions(&format!("gen\n{MARKER}\n"), Some("old admin line\n"));
    assert_eq!(merged, format!("gen\n{MARKER}\nold admin line\n"));
    let regenerated = apply::merge_manual_additions(&format!("gen2\n{MARKER}\n"), Some(&merged));
    assert_eq!(regenerated, format!("gen2\n{MARKER}\nold admin line\n"));
}

#[test]
fn a_script_that_does_not_compile_is_reported_and_not_installed_and_others_are() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mut inp = input();
    apply::write(&Plan::build(&inp, &p), &p);
    let anna = p.sieve_dir.join("example.org/anna.sieve");
    let mut broken = std::fs::read_to_string(&anna).unwrap();
    broken.push_str("this is not sieve;\n");
    std::fs::write(&anna, &broken).unwrap();

    inp.mailboxes[0].mailbox.spam_move = SpamMove::After;
    inp.mailboxes[1].mailbox.spam_move = SpamMove::Off;
    let report = apply::write(&Plan::build(&inp, &p), &p);
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].1.to_string().contains("anna@example.org"), "{}", failures[0].1);
    assert_eq!(std::fs::read_to_string(&anna).unwrap(), broken, "the failing script replaced the old one");
    assert!(written_names(&report).contains(&"bob.sieve".to_string()));
    assert!(!std::fs::read_to_string(p.sieve_dir.join("example.org/bob.sieve")).unwrap().contains("\"Junk\""));
}

#[test]
fn scripts_of_removed_mailboxes_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mut inp = input();
    apply::write(&Plan::build(&inp, &p), &p);
    let admin_file = p.sieve_dir.join("example.org/admin-own.sieve");
    std::fs::write(&admin_file, "keep;\n").unwrap();
    inp.mailboxes.remove(1);
    let report = apply::write(&Plan::build(&inp, &p), &p);
    assert!(report.files.iter().any(|f| matches!(f, FileOutcome::Removed(p) if p.ends_with("bob.sieve"))));
    assert!(!p.sieve_dir.join("example.org/bob.sieve").exists());
    assert!(!p.sieve_dir.join("example.org/bob.svbin").exists());
    assert!(admin_file.exists(), "a script mailward did not generate was removed");
    assert_eq!(postmap_q("bob@example.org", &p.postfix_dir.join("virtual_mailboxes")), None);
}

#[test]
fn an_unwritable_target_is_reported_and_the_rest_written() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    // A directory where the passwd-file should be: the rename fails.
    std::fs::create_dir_all(p.dovecot_passwd.join("blocker")).unwrap();
    let report = apply::write(&Plan::build(&input(), &p), &p);
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].0.ends_with("passwd"));
    assert!(p.sieve_dir.join("example.org/anna.sieve").exists());
    assert_eq!(postmap_q("anna@example.org", &p.postfix_dir.join("virtual_mailboxes")).as_deref(), Some("OK"));
}
