//! The privilege matrix of the seed manual (§I-1.3): every role against every write
//! operation, on objects under reseller r1's customer c1. Expected outcomes are written out
//! per row so a change to `access` shows up as a failing row, not a silently different table.

use crate::support::db;
use mailward::access::Actor;
use mailward::control::{AccountUpdate, Control, ControlError, MailboxChange, NewMailboxInput};
use mailward::model::*;

const ROLES: [&str; 8] = ["admin", "r1", "r2", "c1", "c2", "m1", "api_mail", "api_r1"];

struct Fixture {
    control: Control,
}

impl Fixture {
    async fn new(store: mailward::store::Store) -> Fixture {
        let control = Control::new(store);
        let a = Actor::Admin { name: "setup".into() };
        control.add_reseller(&a, "r1", "password r1", Limits::UNLIMITED).await.unwrap();
        control.add_reseller(&a, "r2", "password r2", Limits::UNLIMITED).await.unwrap();
        control.add_customer(&a, "c1", Some("r1"), "password c1", Limits::UNLIMITED).await.unwrap();
        control.add_customer(&a, "c2", Some("r2"), "password c2", Limits::UNLIMITED).await.unwrap();
        control.add_domain(&a, "d1.example", Some("c1"), None, None).await.unwrap();
        control.add_domain(&a, "d2.example", Some("c2"), None, None).await.unwrap();
        control.add_mailbox(&a, mb("m1@d1.example")).await.unwrap();
        control.add_mailbox(&a, mb("m2@d2.example")).await.unwrap();
        control.add_api_user(&a, "api_mail", "password api", vec!["mailbox.write".into(), "read".into()], None).await.unwrap();
        control.add_api_user(&a, "api_r1", "password api", vec!["*".into()], Some("r1")).await.unwrap();
        control.add_server_set(&a, server_set("existing-set")).await.unwrap();
        Fixture { control }
    }

    async fn actor(&self, role: &str) -> Actor {
        match role {
            "admin" => Actor::Admin { name: "admin".into() },
            "m1" => self.control.actor_named("m1@d1.example").await.unwrap(),
            other => self.control.actor_named(other).await.unwrap(),
        }
    }

    fn admin(&self) -> Actor {
        Actor::Admin { name: "setup".into() }
    }
}

fn mb(address: &str) -> NewMailboxInput {
    NewMailboxInput { address: address.into(), password: "mailbox password".into(), display_name: String::new(), quota_mb: 0, spam_move: SpamMove::Before, policy: None }
}

fn server_set(name: &str) -> ServerSet {
    ServerSet {
        id: 0,
        name: name.into(),
        provider_id: name.into(),
        display_name: name.into(),
        display_short_name: name.into(),
        node: None,
        endpoints: vec![Endpoint::parse_spec("imap:mail.example.org:993:tls").unwrap()],
        oauth2: None,
        caldav_url: None,
        carddav_url: None,
    }
}

fn filter(name: &str) -> MailFilter {
    MailFilter {
        id: 0,
        mailbox_id: 0,
        name: name.into(),
        field: FilterField::Subject,
        header: String::new(),
        matching: FilterMatch::Contains,
        value: "x".into(),
        action: FilterAction::Discard,
        argument: String::new(),
        position: 0,
        active: true,
    }
}

/// Runs one operation as `role`; `Ok(true)` allowed, `Ok(false)` denied.
async fn attempt(f: &Fixture, op: &str, role: &str) -> bool {
    let actor = f.actor(role).await;
    let c = &f.control;
    let admin = f.admin();
    let tag = format!("{op}-{role}").replace(['.', '_'], "-");
    let result: Result<(), ControlError> = match op {
        "reseller.add" => c.add_reseller(&actor, &format!("r-{tag}"), "password xx", Limits::UNLIMITED).await.map(drop),
        "customer.add" => c.add_customer(&actor, &format!("c-{tag}"), Some("r1"), "password xx", Limits::UNLIMITED).await.map(drop),
        "customer.set" => {
            let update = AccountUpdate { limits: Some(Box::new(|l: &mut Limits| l.domains = 50)), ..Default::default() };
            c.update_account(&actor, AccountKind::Customer, "c1", update).await.map(drop)
        }
        "customer.del" => {
            c.add_customer(&admin, &format!("c-{tag}"), Some("r1"), "password xx", Limits::UNLIMITED).await.unwrap();
            c.delete_account(&actor, AccountKind::Customer, &format!("c-{tag}")).await
        }
        "domain.add" => c.add_domain(&actor, &format!("{tag}.d1.example"), Some("c1"), None, None).await.map(drop),
        "domain.set" => c.update_domain(&actor, "d1.example", Some(true), None, None).await.map(drop),
        "domain.policy" => c.update_domain(&actor, "d1.example", None, None, Some(Some("Normal"))).await.map(drop),
        "domain.serverset" => c.update_domain(&actor, "d1.example", None, Some(Some("existing-set")), None).await.map(drop),
        "domain.del" => {
            let name = format!("{tag}.del.example");
            c.add_domain(&admin, &name, Some("c1"), None, None).await.unwrap();
            c.delete_domain(&actor, &name).await
        }
        "mailbox.add" => c.add_mailbox(&actor, mb(&format!("{tag}@d1.example"))).await.map(drop),
        "mailbox.quota" => c.update_mailbox(&actor, "m1@d1.example", MailboxChange { quota_mb: Some(100), ..Default::default() }).await.map(drop),
        "mailbox.copy_to" => c.update_mailbox(&actor, "m1@d1.example", MailboxChange { copy_to: Some(vec!["x@elsewhere.test".into()]), ..Default::default() }).await.map(drop),
        "mailbox.password" => c.update_mailbox(&actor, "m1@d1.example", MailboxChange { password: Some("new password 1".into()), ..Default::default() }).await.map(drop),
        "mailbox.spam" => c.update_mailbox(&actor, "m1@d1.example", MailboxChange { spam_move: Some(SpamMove::After), policy: Some(Some("Permissive".into())), ..Default::default() }).await.map(drop),
        "mailbox.autoresponder" => {
            let a = Autoresponder { enabled: true, subject: "Away".into(), text: "I am away".into(), start: None, end: None };
            c.update_mailbox(&actor, "m1@d1.example", MailboxChange { autoresponder: Some(a), ..Default::default() }).await.map(drop)
        }
        "mailbox.del" => {
            let address = format!("{tag}@d1.example");
            c.add_mailbox(&admin, mb(&address)).await.unwrap();
            c.delete_mailbox(&actor, &address).await
        }
        "filter.add" => c.add_filter(&actor, "m1@d1.example", filter(&tag)).await.map(drop),
        "alias.add" => c.add_alias(&actor, &format!("{tag}@d1.example"), &["m1@d1.example".into()]).await.map(drop),
        "policy.add" => {
            let p = SpamPolicy { id: 0, name: format!("p-{tag}"), tag: Some(1.0), tag2: Some(5.0), kill: Some(10.0), modifies_subject: None, subject_tag: None, spam_lover: None, virus_lover: None, builtin: false };
            c.add_policy(&actor, p).await.map(drop)
        }
        "policy.set" => c.update_policy(&actor, "Normal", |p| p.tag = Some(1.0)).await.map(drop),
        "serverset.add" => c.add_server_set(&actor, server_set(&format!("s-{tag}"))).await.map(drop),
        "site.add" => c.add_site(&actor, &format!("{tag}.site.example"), "c1", None, false).await.map(drop),
        "dns.zone.add" => c.add_dns_zone(&actor, &format!("{tag}.zone.example"), "c1").await.map(drop),
        "dns.record.add" => {
            let r = DnsRecord { id: 0, zone_id: 0, name: "www".into(), rtype: "A".into(), ttl: 3600, data: "192.0.2.1".into() };
            c.add_dns_record(&actor, "dns-zone-shared.example", r).await.map(drop)
        }
        "apiuser.add" => c.add_api_user(&actor, &format!("a-{tag}"), "password xx", vec!["read".into()], None).await.map(drop),
        other => panic!("unknown operation {other}"),
    };
    match result {
        Ok(()) => true,
        Err(ControlError::Denied(_)) => false,
        Err(e) => panic!("{op} as {role}: expected success or permission denied, got: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_role_against_every_write_operation() {
    let database = db::sqlite().await;
    let store = database.open().await;
    let f = Fixture::new(store.clone()).await;
    f.control.add_dns_zone(&f.admin(), "dns-zone-shared.example", "c1").await.unwrap();

    //                                    admin  r1     r2     c1     c2     m1     api_mail api_r1
    let matrix: &[(&str, [bool; 8])] = &[
        ("reseller.add",          [true,  false, false, false, false, false, false, false]),
        ("customer.add",          [true,  true,  false, false, false, false, false, true ]),
        ("customer.set",          [true,  true,  false, false, false, false, false, true ]),
        ("customer.del",          [true,  true,  false, false, false, false, false, true ]),
        ("domain.add",            [true,  true,  false, true,  false, false, false, true ]),
        ("domain.set",            [true,  true,  false, true,  false, false, false, true ]),
        ("domain.policy",         [true,  true,  false, true,  false, false, false, true ]),
        ("domain.serverset",      [true,  false, false, false, false, false, false, false]),
        ("domain.del",            [true,  true,  false, true,  false, false, false, true ]),
        ("mailbox.add",           [true,  true,  false, true,  false, false, true,  true ]),
        ("mailbox.quota",         [true,  true,  false, true,  false, false, true,  true ]),
        ("mailbox.copy_to",       [true,  true,  false, true,  false, false, true,  true ]),
        ("mailbox.password",      [true,  true,  false, true,  false, true,  true,  true ]),
        ("mailbox.spam",          [true,  true,  false, true,  false, true,  true,  true ]),
        ("mailbox.autoresponder", [true,  true,  false, true,  false, true,  true,  true ]),
        ("mailbox.del",           [true,  true,  false, true,  false, false, true,  true ]),
        ("filter.add",            [true,  true,  false, true,  false, true,  false, true ]),
        ("alias.add",             [true,  true,  false, true,  false, false, false, true ]),
        ("policy.add",            [true,  false, false, false, false, false, false, false]),
        ("policy.set",            [true,  false, false, false, false, false, false, false]),
        ("serverset.add",         [true,  false, false, false, false, false, false, false]),
        ("site.add",              [true,  true,  false, false, false, false, false, true ]),
        ("dns.zone.add",          [true,  true,  false, false, false, false, false, true ]),
        ("dns.record.add",        [true,  true,  false, false, false, false, false, true ]),
        ("apiuser.add",           [true,  false, false, false, false, false, false, false]),
    ];
    let mut wrong = Vec::new();
    for (op, expected) in matrix {
        for (role, want) in ROLES.iter().zip(expected) {
            let got = attempt(&f, op, role).await;
            if got != *want {
                wrong.push(format!("{op} as {role}: {} but expected {}", if got { "allowed" } else { "denied" }, if *want { "allowed" } else { "denied" }));
            }
        }
    }
    assert!(wrong.is_empty(), "privilege matrix differs:\n{}", wrong.join("\n"));
    database.drop_db(store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_write_changes_nothing_and_names_the_actor() {
    let database = db::sqlite().await;
    let store = database.open().await;
    let f = Fixture::new(store.clone()).await;
    let before = store.last_change_id().await.unwrap();
    let r2 = f.actor("r2").await;
    let err = f.control.add_domain(&r2, "steal.d1.example", Some("c1"), None, None).await.unwrap_err();
    assert_eq!(err.to_string(), "permission denied: reseller:r2 may not add domains here");
    assert!(store.domain_by_name("steal.d1.example").await.unwrap().is_none());
    assert_eq!(store.last_change_id().await.unwrap(), before);
    // A reseller lists only its own customers' objects.
    let r1 = f.actor("r1").await;
    let names: Vec<String> = f.control.list_domains(&r1).await.unwrap().into_iter().map(|d| d.name).collect();
    assert_eq!(names, vec!["d1.example".to_string()]);
    let m1 = f.actor("m1").await;
    let boxes: Vec<String> = f.control.list_mailboxes(&m1, None).await.unwrap().into_iter().map(|m| m.address).collect();
    assert_eq!(boxes, vec!["m1@d1.example".to_string()]);
    // The change log shows a customer only its own subtree.
    let c2 = f.actor("c2").await;
    let log = f.control.read_log(&c2, mailward::store::LogQuery { limit: 1000, ..Default::default() }).await.unwrap();
    assert!(!log.is_empty() && log.iter().all(|e| !e.object.contains("d1.example") && e.object != "c1"), "{log:?}");
    database.drop_db(store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_exceeding_each_of_its_limits_is_refused_with_the_limit_named() {
    let database = db::sqlite().await;
    let store = database.open().await;
    let c = Control::new(store.clone());
    let a = Actor::Admin { name: "setup".into() };
    let mut reseller_limits = Limits::UNLIMITED;
    reseller_limits.customers = 1;
    c.add_reseller(&a, "small", "password xx", reseller_limits).await.unwrap();
    let zero = Limits { customers: -1, domains: 1, mailboxes: 1, aliases: 0, quota_mb: 100, dns_zones: 1, dns_records: 0 };
    c.add_customer(&a, "tiny", Some("small"), "password xx", zero).await.unwrap();
    let err = c.add_customer(&a, "second", Some("small"), "password xx", Limits::UNLIMITED).await.unwrap_err();
    assert_eq!(err.to_string(), "limit reached: reseller 'small' may have at most 1 customers (has 1, this adds 1)");

    c.add_domain(&a, "tiny.example", Some("tiny"), None, None).await.unwrap();
    let cases: Vec<(&str, Result<(), ControlError>)> = vec![
        ("domains", c.add_domain(&a, "tiny2.example", Some("tiny"), None, None).await.map(drop)),
        ("domains", c.add_alias_domain(&a, "alias-of-tiny.example", "tiny.example").await.map(drop)),
        ("total quota (MiB)", c.add_mailbox(&a, NewMailboxInput { quota_mb: 101, ..mb("q@tiny.example") }).await.map(drop)),
        ("aliases/forwards", c.add_alias(&a, "al@tiny.example", &["x@elsewhere.test".into()]).await.map(drop)),
        ("DNS zones", async {
            c.add_dns_zone(&a, "tiny.example", "tiny").await.unwrap();
            c.add_dns_zone(&a, "tiny3.example", "tiny").await.map(drop)
        }
        .await),
        ("DNS records", c.add_dns_record(&a, "tiny.example", DnsRecord { id: 0, zone_id: 0, name: "@".into(), rtype: "A".into(), ttl: 300, data: "192.0.2.9".into() }).await.map(drop)),
        ("mailboxes", async {
            c.add_mailbox(&a, NewMailboxInput { quota_mb: 50, ..mb("one@tiny.example") }).await.unwrap();
            c.add_mailbox(&a, NewMailboxInput { quota_mb: 10, ..mb("two@tiny.example") }).await.map(drop)
        }
        .await),
    ];
    for (limit, result) in cases {
        let err = result.expect_err(limit).to_string();
        assert!(err.starts_with("limit reached: customer 'tiny' may have at most") && err.contains(limit), "{limit}: {err}");
    }
    // Raising a limit lets the write through.
    c.update_account(&a, AccountKind::Customer, "tiny", AccountUpdate { limits: Some(Box::new(|l: &mut Limits| l.mailboxes = 2)), ..Default::default() }).await.unwrap();
    c.add_mailbox(&a, NewMailboxInput { quota_mb: 10, ..mb("two@tiny.example") }).await.unwrap();
    database.drop_db(store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mailbox_users_log_in_with_their_address_and_accounts_with_their_name() {
    let database = db::sqlite().await;
    let store = database.open().await;
    let f = Fixture::new(store.clone()).await;
    let actor = f.control.authenticate("M1@D1.example", "mailbox password").await.unwrap();
    assert!(matches!(actor, Actor::Mailbox { ref address, .. } if address == "m1@d1.example"), "{actor:?}");
    let actor = f.control.authenticate("r1", "password r1").await.unwrap();
    assert!(matches!(actor, Actor::Reseller { ref name, .. } if name == "r1"));
    for (login, password) in [("m1@d1.example", "wrong password"), ("nobody@d1.example", "mailbox password"), ("r1", "password r2"), ("nobody", "x"), ("bad\nlogin", "x")] {
        let err = f.control.authenticate(login, password).await.unwrap_err();
        assert_eq!(err.to_string(), "wrong login or password", "{login}");
    }
    // A disabled account cannot log in.
    f.control.update_account(&f.admin(), AccountKind::Reseller, "r1", AccountUpdate { active: Some(false), ..Default::default() }).await.unwrap();
    assert!(f.control.authenticate("r1", "password r1").await.is_err());
    database.drop_db(store).await;
}
