use super::*;
use crate::apply::MailboxInput;
use crate::model::{Alias, AliasDomain, Autoresponder, Domain, Mailbox, SpamMove};

fn domain(id: i64, name: &str) -> Domain {
    Domain { id, name: name.into(), customer_id: 1, active: true, server_set_id: None, policy_id: None, created_at: 0 }
}

pub(crate) fn mailbox(id: i64, domain_id: i64, address: &str) -> MailboxInput {
    MailboxInput {
        mailbox: Mailbox {
            id,
            domain_id,
            address: address.into(),
            display_name: String::new(),
            quota_mb: 1024,
            spam_move: SpamMove::Before,
            junk_purge_days: 30,
            trash_purge_days: 30,
            autoresponder: Autoresponder::default(),
            copy_to: vec![],
            policy_id: None,
            active: true,
            created_at: 0,
        },
        password_hash: "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        effective_tag2: 4.5,
    }
}

fn alias(id: i64, kind: AliasKind, source: &str, dests: &[&str]) -> Alias {
    Alias { id, domain_id: 1, kind, source: source.into(), destinations: dests.iter().map(|s| s.to_string()).collect(), active: true }
}

fn input() -> ApplyInput {
    ApplyInput {
        domains: vec![domain(1, "example.org"), domain(2, "other.net")],
        mailboxes: vec![mailbox(1, 1, "anna@example.org"), mailbox(2, 1, "bob@example.org"), mailbox(3, 2, "carl@other.net")],
        aliases: vec![
            alias(1, AliasKind::Alias, "info@example.org", &["anna@example.org"]),
            alias(2, AliasKind::Catchall, "@example.org", &["bob@example.org"]),
            alias(3, AliasKind::Forward, "out@example.org", &["someone@elsewhere.test", "anna@example.org"]),
        ],
        alias_domains: vec![AliasDomain { id: 1, source: "example.com".into(), target_domain_id: 1, customer_id: 1, active: true }],
        filters: vec![],
    }
}

fn file<'a>(plan: &'a Plan, name: &str) -> &'a str {
    &plan.files.iter().find(|f| f.path.ends_with(name)).unwrap_or_else(|| panic!("no {name}")).content
}

fn body(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn postfix_maps_list_domains_mailboxes_and_aliases() {
    let plan = Plan::build(&input(), &ApplyPaths::under(Path::new("/srv")));
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    assert_eq!(body(file(&plan, "virtual_domains")), ["example.org OK", "other.net OK", "example.com OK"]);
    assert_eq!(body(file(&plan, "virtual_mailboxes")), ["anna@example.org OK", "bob@example.org OK", "carl@other.net OK"]);
    assert_eq!(
        body(file(&plan, "virtual_aliases")),
        [
            "@example.com bob@example.org",
            "@example.org bob@example.org",
            "anna@example.com anna@example.org",
            "anna@example.org anna@example.org",
            "bob@example.com bob@example.org",
            "bob@example.org bob@example.org",
            "carl@other.net carl@other.net",
            "info@example.com info@example.org",
            "info@example.org anna@example.org",
            "out@example.com out@example.org",
            "out@example.org someone@elsewhere.test, anna@example.org",
        ]
    );
}

#[test]
fn every_file_ends_with_the_marker() {
    let plan = Plan::build(&input(), &ApplyPaths::under(Path::new("/srv")));
    assert_eq!(plan.files.len(), 3 + 3 + 1);
    for f in &plan.files {
        assert!(f.content.ends_with(&format!("{MARKER}\n")), "{}", f.path.display());
    }
}

#[test]
fn passwd_file_has_hash_home_quota_and_sieve() {
    let plan = Plan::build(&input(), &ApplyPaths::under(Path::new("/srv")));
    let passwd = body(file(&plan, "passwd"));
    assert_eq!(
        passwd[0],
        "anna@example.org:{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA:5000:5000::/srv/vmail/example.org/anna::userdb_quota_rule=*:storage=1024M userdb_sieve=file:/srv/sieve/example.org/anna.sieve"
    );
}

#[test]
fn autoresponder_answers_for_aliases_and_alias_domain_spellings() {
    let mut inp = input();
    inp.mailboxes[0].mailbox.autoresponder = Autoresponder { enabled: true, subject: "away".into(), text: "away".into(), start: None, end: None };
    let plan = Plan::build(&inp, &ApplyPaths::under(Path::new("/srv")));
    let script = file(&plan, "anna.sieve");
    assert!(script.contains(r#":addresses ["anna@example.com", "info@example.com", "info@example.org", "out@example.com", "out@example.org"]"#), "{script}");
}

#[test]
fn one_bad_mailbox_is_reported_and_the_others_written() {
    let mut inp = input();
    inp.mailboxes[1].password_hash = "{PLAIN}a:b".into();
    inp.mailboxes[2].mailbox.address = "carl@example.org".into(); // wrong domain for domain 2
    let plan = Plan::build(&inp, &ApplyPaths::under(Path::new("/srv")));
    let objects: Vec<&str> = plan.diagnostics.iter().map(|d| d.object.as_str()).collect();
    assert!(objects.contains(&"bob@example.org") && objects.contains(&"carl@example.org"), "{:?}", plan.diagnostics);
    assert_eq!(body(file(&plan, "virtual_mailboxes")), ["anna@example.org OK"]);
    assert_eq!(body(file(&plan, "passwd")).len(), 1);
}

#[test]
fn hostile_alias_destinations_are_left_out() {
    let mut inp = input();
    inp.aliases.push(alias(9, AliasKind::Forward, "x@example.org", &["a@b.test\nevil@example.org OK"]));
    inp.aliases.push(alias(10, AliasKind::Alias, "y@other.net", &["anna@example.org"])); // wrong domain
    let plan = Plan::build(&inp, &ApplyPaths::under(Path::new("/srv")));
    assert_eq!(plan.diagnostics.len(), 2, "{:?}", plan.diagnostics);
    assert!(!file(&plan, "virtual_aliases").contains("evil"));
}

#[test]
fn inactive_objects_are_left_out() {
    let mut inp = input();
    inp.domains[1].active = false;
    inp.mailboxes[0].mailbox.active = false;
    let plan = Plan::build(&inp, &ApplyPaths::under(Path::new("/srv")));
    assert!(!file(&plan, "virtual_mailboxes").contains("anna@"));
    assert!(!file(&plan, "virtual_domains").contains("other.net"));
    assert!(!file(&plan, "passwd").contains("carl@"));
}

#[test]
fn local_parts_become_safe_file_names() {
    assert_eq!(encode_file_name("anna"), "anna");
    assert_eq!(encode_file_name("a/b"), "a=2fb");
    assert_eq!(encode_file_name(".x"), "=2ex");
    assert_eq!(encode_file_name("a.b+c"), "a.b+c");
    assert_eq!(encode_file_name("%d=x"), "=25d=3dx");
}

#[test]
fn hostile_and_oversized_values_cannot_forge_lines() {
    let mut inp = input();
    inp.domains.push(domain(3, "evil.org\nexample.net OK"));
    inp.mailboxes.push(mailbox(4, 1, &format!("{}@example.org", "a".repeat(400))));
    inp.mailboxes.push(mailbox(5, 1, "x y@example.org"));
    let mut newline_hash = mailbox(6, 1, "z@example.org");
    newline_hash.password_hash = "{ARGON2ID}abc\nroot@example.org:{PLAIN}x".into();
    inp.mailboxes.push(newline_hash);
    inp.aliases.push(alias(11, AliasKind::Alias, "list@example.org", &[&format!("{}@example.org", "b".repeat(400))]));
    let plan = Plan::build(&inp, &ApplyPaths::under(Path::new("/srv")));
    let objects: Vec<&str> = plan.diagnostics.iter().map(|d| d.object.as_str()).collect();
    assert_eq!(objects.len(), 5, "{:?}", plan.diagnostics);
    for f in &plan.files {
        assert!(!f.content.contains("example.net OK"), "{}", f.path.display());
        assert!(!f.content.contains("{PLAIN}"), "{}", f.path.display());
        assert!(!f.content.contains("x y@"), "{}", f.path.display());
        assert!(!f.content.contains(&"a".repeat(400)), "{}", f.path.display());
    }
    // The good mailboxes are all still there.
    assert_eq!(body(file(&plan, "virtual_mailboxes")).len(), 3);
}
