//! The same store suite on SQLite, PostgreSQL and MariaDB: schema, presets, every object kind,
//! duplicates, limits, in-use deletes, the change log, and that no read path shows a password.

use crate::support::db;
use mailward::access::Actor;
use mailward::control::{AccountUpdate, Control, ControlError, MailboxChange, NewMailboxInput};
use mailward::model::*;
use mailward::store::{LogQuery, Store, StoreError};

fn admin() -> Actor {
    Actor::Admin { name: "test".into() }
}

fn mailbox_input(address: &str, quota_mb: i64) -> NewMailboxInput {
    NewMailboxInput {
        address: address.into(),
        password: "correct horse battery".into(),
        display_name: "Test".into(),
        quota_mb,
        spam_move: SpamMove::Before,
        policy: None,
    }
}

async fn log_len(store: &Store) -> usize {
    store.read_log(&LogQuery { limit: 100_000, ..Default::default() }).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn store_suite_on_every_backend() {
    for database in db::all().await {
        let store = database.open().await;
        store_suite(database.label, &store).await;
        // Opening again applies no migration twice and seeds no second set of presets.
        let again = database.open().await;
        assert_eq!(again.list_policies().await.unwrap().len(), 7, "[{}] presets after reopen", database.label);
        again.close().await;
        database.drop_db(store).await;
    }
}

async fn store_suite(backend: &str, store: &Store) {
    let c = Control::new(store.clone());
    let a = admin();

    // Presets: the seven from ISPConfig with their levels.
    let policies = store.list_policies().await.unwrap();
    assert_eq!(policies.len(), 7, "[{backend}]");
    let normal = policies.iter().find(|p| p.name == "Normal").unwrap();
    assert_eq!((normal.tag, normal.tag2, normal.kill), (Some(1.0), Some(4.5), Some(50.0)), "[{backend}]");
    let wants_viruses = policies.iter().find(|p| p.name == "Wants viruses").unwrap();
    assert_eq!((wants_viruses.tag2, wants_viruses.virus_lover), (Some(6.9), Some(true)), "[{backend}]");

    // The tree: reseller > customer > domain > mailbox.
    let reseller = c.add_reseller(&a, "r1", "reseller password", Limits::UNLIMITED).await.unwrap();
    let mut limits = Limits::UNLIMITED;
    limits.domains = 2;
    limits.mailboxes = 2;
    limits.aliases = 1;
    limits.quota_mb = 1500;
    limits.dns_zones = 1;
    limits.dns_records = 1;
    let customer = c.add_customer(&a, "c1", Some("r1"), "customer password", limits).await.unwrap();
    assert_eq!(customer.parent_id, Some(reseller.id), "[{backend}]");

    let domain = c.add_domain(&a, "Example.ORG", Some("c1"), None, Some("Normal")).await.unwrap();
    assert_eq!(domain.name, "example.org", "[{backend}]");
    assert_eq!(domain.policy_id, Some(normal.id), "[{backend}]");
    // IDN names are stored as punycode.
    let idn = c.add_domain(&a, "bücher.example", Some("c1"), None, None).await.unwrap();
    assert_eq!(idn.name, "xn--bcher-kva.example", "[{backend}]");

    // Limits: a third domain is refused, naming the limit and its owner; nothing is written.
    let before = log_len(store).await;
    let err = c.add_domain(&a, "third.example", Some("c1"), None, None).await.unwrap_err();
    assert_eq!(err.to_string(), "limit reached: customer 'c1' may have at most 2 domains (has 2, this adds 1)", "[{backend}]");
    assert!(store.domain_by_name("third.example").await.unwrap().is_none(), "[{backend}]");
    assert_eq!(log_len(store).await, before, "[{backend}] a refused write logs nothing");

    // Duplicates.
    let err = c.add_domain(&a, "example.org", Some("c1"), None, None).await.unwrap_err();
    assert!(matches!(err, ControlError::Store(StoreError::Duplicate { .. })), "[{backend}] {err}");

    // Mailboxes, with quota limits and the mailbox-or-alias rule.
    let alice = c.add_mailbox(&a, mailbox_input("Alice@example.org", 1000)).await.unwrap();
    assert_eq!(alice.address, "alice@example.org");
    let err = c.add_mailbox(&a, mailbox_input("bob@example.org", 600)).await.unwrap_err();
    assert_eq!(err.to_string(), "limit reached: customer 'c1' may have at most 1500 total quota (MiB) (has 1000, this adds 600)", "[{backend}]");
    let err = c.add_mailbox(&a, mailbox_input("bob@example.org", 0)).await.unwrap_err();
    assert!(err.to_string().contains("has a total quota limit"), "[{backend}] {err}");
    c.add_mailbox(&a, mailbox_input("bob@example.org", 500)).await.unwrap();
    let err = c.add_mailbox(&a, mailbox_input("carol@example.org", 0)).await.unwrap_err();
    assert!(err.to_string().contains("at most 2 mailboxes"), "[{backend}] {err}");
    let err = c.update_mailbox(&a, "alice@example.org", MailboxChange { quota_mb: Some(1001), ..Default::default() }).await.unwrap_err();
    assert!(err.to_string().contains("total quota"), "[{backend}] {err}");
    assert_eq!(store.mailbox_by_address("alice@example.org").await.unwrap().unwrap().quota_mb, 1000, "[{backend}] refused quota change kept the old value");

    // Aliases: one allowed; an address cannot be both alias and mailbox.
    let err = c.add_alias(&a, "alice@example.org", &["bob@example.org".into()]).await.unwrap_err();
    assert!(matches!(err, ControlError::Store(StoreError::Duplicate { .. })), "[{backend}] {err}");
    let info = c.add_alias(&a, "info@example.org", &["alice@example.org".into()]).await.unwrap();
    assert_eq!(info.kind, AliasKind::Alias, "[{backend}]");
    let err = c.add_alias(&a, "@example.org", &["alice@example.org".into()]).await.unwrap_err();
    assert!(err.to_string().contains("at most 1 aliases/forwards"), "[{backend}] {err}");
    c.update_account(&a, AccountKind::Customer, "c1", AccountUpdate { limits: Some(Box::new(|l: &mut Limits| l.aliases = -1)), ..Default::default() })
        .await
        .unwrap();
    let catchall = c.add_alias(&a, "@example.org", &["alice@example.org".into()]).await.unwrap();
    assert_eq!((catchall.kind, catchall.source.as_str()), (AliasKind::Catchall, "@example.org"), "[{backend}]");
    let forward = c.add_alias(&a, "ext@example.org", &["someone@elsewhere.test".into()]).await.unwrap();
    assert_eq!(forward.kind, AliasKind::Forward, "[{backend}]");

    // Mailbox settings round-trip, including the autoresponder and copies.
    let change = MailboxChange {
        spam_move: Some(SpamMove::After),
        junk_purge_days: Some(14),
        policy: Some(Some("Permissive".into())),
        copy_to: Some(vec!["Archive@Example.org".into()]),
        autoresponder: Some(Autoresponder { enabled: true, subject: "Away".into(), text: "Back on Monday \"soon\"\nAlice".into(), start: Some(1_800_000_000), end: Some(1_800_600_000) }),
        ..Default::default()
    };
    let updated = c.update_mailbox(&a, "alice@example.org", change).await.unwrap();
    let reread = store.mailbox_by_address("alice@example.org").await.unwrap().unwrap();
    assert_eq!(updated, reread, "[{backend}]");
    assert_eq!(reread.copy_to, vec!["archive@example.org".to_string()], "[{backend}]");
    assert_eq!(reread.autoresponder.text, "Back on Monday \"soon\"\nAlice", "[{backend}]");

    // Filters keep their order.
    for (i, name) in ["first", "second"].into_iter().enumerate() {
        let f = MailFilter {
            id: 0,
            mailbox_id: 0,
            name: name.into(),
            field: FilterField::Subject,
            header: String::new(),
            matching: FilterMatch::Contains,
            value: format!("v{i}"),
            action: FilterAction::Move,
            argument: "Folder".into(),
            position: 0,
            active: true,
        };
        c.add_filter(&a, "alice@example.org", f).await.unwrap();
    }
    let filters = c.list_filters(&a, "alice@example.org").await.unwrap();
    assert_eq!(filters.iter().map(|f| (f.name.as_str(), f.position)).collect::<Vec<_>>(), vec![("first", 1), ("second", 2)], "[{backend}]");

    // Server sets, sites (GDPR defaults), DNS with limits.
    let set = ServerSet {
        id: 0,
        name: "mail.example.org".into(),
        provider_id: "example.org".into(),
        display_name: "Example".into(),
        display_short_name: "Ex".into(),
        node: Some("node1".into()),
        endpoints: vec![Endpoint::parse_spec("imap:mail.example.org:993:tls").unwrap(), Endpoint::parse_spec("smtp:mail.example.org:587:starttls").unwrap()],
        oauth2: None,
        caldav_url: None,
        carddav_url: None,
    };
    let stored = c.add_server_set(&a, set.clone()).await.unwrap();
    assert_eq!(stored.endpoints, set.endpoints, "[{backend}]");
    let err = c.delete_server_set(&a, "mail.example.org").await;
    assert!(err.is_ok(), "[{backend}] unused set deletes");
    c.add_server_set(&a, set).await.unwrap();
    c.update_domain(&a, "example.org", None, Some(Some("mail.example.org")), None).await.unwrap();
    let err = c.delete_server_set(&a, "mail.example.org").await.unwrap_err();
    assert!(err.to_string().contains("still used by 1 domains"), "[{backend}] {err}");

    let site = c.add_site(&a, "www.example.org", "c1", None, false).await.unwrap();
    assert_eq!((site.log_retention_days, site.statistics), (10, false), "[{backend}] GDPR defaults");

    c.add_dns_zone(&a, "example.org", "c1").await.unwrap();
    let err = c.add_dns_zone(&a, "example.net", "c1").await.unwrap_err();
    assert!(err.to_string().contains("at most 1 DNS zones"), "[{backend}] {err}");
    let record = DnsRecord { id: 0, zone_id: 0, name: "www".into(), rtype: "a".into(), ttl: 3600, data: "192.0.2.1".into() };
    assert_eq!(c.add_dns_record(&a, "example.org", record.clone()).await.unwrap().rtype, "A", "[{backend}]");
    let err = c.add_dns_record(&a, "example.org", record).await.unwrap_err();
    assert!(err.to_string().contains("at most 1 DNS records"), "[{backend}] {err}");

    // Deletes refuse what would orphan data, and name what is in the way.
    let err = c.delete_domain(&a, "example.org").await.unwrap_err();
    assert!(err.to_string().contains("still used by 2 mailboxes"), "[{backend}] {err}");
    let err = c.delete_account(&a, AccountKind::Customer, "c1").await.unwrap_err();
    assert!(err.to_string().contains("still used by"), "[{backend}] {err}");
    let err = c.delete_policy(&a, "Normal").await.unwrap_err();
    assert!(err.to_string().contains("still used by 1 domains"), "[{backend}] {err}");
    c.delete_mailbox(&a, "bob@example.org").await.unwrap();
    assert!(store.mailbox_by_address("bob@example.org").await.unwrap().is_none(), "[{backend}]");

    // Passwords: stored as Dovecot-verifiable hashes, never in any read path or the log.
    let creds = store.mailbox_credentials("alice@example.org").await.unwrap().unwrap();
    assert!(creds.password_hash.starts_with("{ARGON2ID}$argon2id$"), "[{backend}]");
    assert!(mailward::password::verify_password("correct horse battery", &creds.password_hash), "[{backend}]");
    c.update_mailbox(&a, "alice@example.org", MailboxChange { password: Some("a new password".into()), ..Default::default() }).await.unwrap();
    let creds = store.mailbox_credentials("alice@example.org").await.unwrap().unwrap();
    assert!(mailward::password::verify_password("a new password", &creds.password_hash), "[{backend}]");
    let everything = serde_json::json!({
        "mailboxes": c.list_mailboxes(&a, None).await.unwrap(),
        "accounts": c.list_accounts(&a, AccountKind::Customer).await.unwrap(),
        "resellers": c.list_accounts(&a, AccountKind::Reseller).await.unwrap(),
        "log": store.read_log(&LogQuery { limit: 100_000, ..Default::default() }).await.unwrap(),
    })
    .to_string();
    assert!(!everything.contains("argon2"), "[{backend}] a hash leaked into a read path");
    assert!(!everything.contains("a new password"), "[{backend}] a password leaked");

    // The change log: who, what, old and new.
    let log = store.read_log(&LogQuery { object: Some("alice@example.org".into()), limit: 100, ..Default::default() }).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["mailbox.add", "mailbox.set", "mailbox.set"], "[{backend}]");
    let set_entry = &log[1];
    assert_eq!(set_entry.actor, "admin:test", "[{backend}]");
    assert_eq!(set_entry.old.as_ref().unwrap()["spam_move"], "before", "[{backend}]");
    assert_eq!(set_entry.new.as_ref().unwrap()["spam_move"], "after", "[{backend}]");
    assert_eq!(log[2].new.as_ref().unwrap()["password"], "changed", "[{backend}]");
    // The cursor view: entries after an id, oldest first.
    let cursor = store.read_log(&LogQuery { after: Some(log[0].id), limit: 2, ..Default::default() }).await.unwrap();
    assert!(cursor.iter().all(|e| e.id > log[0].id) && cursor.len() == 2 && cursor[0].id < cursor[1].id, "[{backend}]");
    assert!(store.last_change_id().await.unwrap() >= log[2].id, "[{backend}]");
}

/// Two writers racing for the last mailbox under a limit: exactly one wins.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writes_respect_limits_on_every_backend() {
    for database in db::all().await {
        let store = database.open().await;
        let c = Control::new(store.clone());
        let a = admin();
        let mut limits = Limits::UNLIMITED;
        limits.mailboxes = 3;
        c.add_customer(&a, "racer", None, "customer password", limits).await.unwrap();
        c.add_domain(&a, "race.example", Some("racer"), None, None).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move { c.add_mailbox(&admin(), mailbox_input(&format!("u{i}@race.example"), 0)).await }));
        }
        let mut ok = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        let stored = store.list_mailboxes(mailward::access::Scope::default(), None).await.unwrap().len();
        // SQLite may refuse a racing writer with "database is locked" instead of the limit
        // error; either way no more than the limit is stored.
        assert!(stored <= 3 && ok == stored, "[{}] {ok} writes succeeded, {stored} stored", database.label);
        assert!(stored >= 1, "[{}]", database.label);
        database.drop_db(store).await;
    }
}

/// Each node of a multi-server setup reads only the domains assigned to it.
#[tokio::test(flavor = "multi_thread")]
async fn mail_snapshot_filters_by_node_on_every_backend() {
    for database in db::all().await {
        let store = database.open().await;
        let c = Control::new(store.clone());
        let a = admin();
        c.add_customer(&a, "multi", None, "customer password", Limits::UNLIMITED).await.unwrap();
        for (set, node) in [("set1", "node1"), ("set2", "node2")] {
            let s = ServerSet {
                id: 0,
                name: set.into(),
                provider_id: set.into(),
                display_name: set.into(),
                display_short_name: set.into(),
                node: Some(node.into()),
                endpoints: vec![Endpoint::parse_spec("imap:mail.example.org:993:tls").unwrap()],
                oauth2: None,
                caldav_url: None,
                carddav_url: None,
            };
            c.add_server_set(&a, s).await.unwrap();
        }
        c.add_domain(&a, "one.example", Some("multi"), Some("set1"), None).await.unwrap();
        c.add_domain(&a, "two.example", Some("multi"), Some("set2"), None).await.unwrap();
        c.add_domain(&a, "everywhere.example", Some("multi"), None, None).await.unwrap();
        c.add_mailbox(&a, mailbox_input("u@one.example", 0)).await.unwrap();
        c.add_mailbox(&a, mailbox_input("u@two.example", 0)).await.unwrap();
        c.add_alias(&a, "al@two.example", &["u@two.example".into()]).await.unwrap();

        let node1 = store.mail_snapshot(Some("node1")).await.unwrap();
        let names: Vec<&str> = node1.domains.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["everywhere.example", "one.example"], "[{}]", database.label);
        assert_eq!(node1.mailboxes.iter().map(|m| m.mailbox.address.as_str()).collect::<Vec<_>>(), vec!["u@one.example"], "[{}]", database.label);
        assert!(node1.aliases.is_empty(), "[{}]", database.label);
        assert!(node1.mailboxes[0].password_hash.starts_with("{ARGON2ID}"), "[{}]", database.label);
        assert!(!format!("{:?}", node1.mailboxes[0]).contains("argon2"), "[{}] hash in debug output", database.label);
        let all = store.mail_snapshot(None).await.unwrap();
        assert_eq!((all.domains.len(), all.mailboxes.len(), all.aliases.len(), all.policies.len()), (3, 2, 1, 7), "[{}]", database.label);
        assert_eq!(all.change_id, store.last_change_id().await.unwrap(), "[{}]", database.label);
        database.drop_db(store).await;
    }
}
