//! `mailward apply` at scale: 100,000 generated mailboxes written to a tempdir with the real
//! `postmap` and `sievec`, then an unchanged re-apply, then an apply after one filter change.
//! Run: `cargo bench --bench apply` (MAILWARD_BENCH_MAILBOXES overrides the count).

use std::time::Instant;

use mailward::apply::{self, ApplyInput, ApplyPaths, MailboxInput, Plan};
use mailward::model::{Autoresponder, Domain, FilterAction, FilterField, FilterMatch, MailFilter, Mailbox, SpamMove};

const TAG2: [f64; 7] = [7.0, 999.0, 999.0, 6.9, 4.5, 5.0, 10.0];

fn fixture(count: usize) -> ApplyInput {
    let domains: Vec<Domain> = (0..count.div_ceil(50))
        .map(|i| Domain { id: i as i64 + 1, name: format!("domain{i}.example"), customer_id: 1, active: true, server_set_id: None, policy_id: None, created_at: 0 })
        .collect();
    let mut filters = Vec::new();
    let mailboxes = (0..count)
        .map(|i| {
            let d = i / 50;
            let id = i as i64 + 1;
            if i % 100 == 0 {
                filters.push(MailFilter {
                    id,
                    mailbox_id: id,
                    name: "lists".into(),
                    field: FilterField::Subject,
                    header: String::new(),
                    matching: FilterMatch::Contains,
                    value: format!("[list-{i}]"),
                    action: FilterAction::Move,
                    argument: "Lists".into(),
                    position: 1,
                    active: true,
                });
            }
            MailboxInput {
                mailbox: Mailbox {
                    id,
                    domain_id: d as i64 + 1,
                    address: format!("user{i}@domain{d}.example"),
                    display_name: String::new(),
                    quota_mb: 1024,
                    spam_move: [SpamMove::Before, SpamMove::After, SpamMove::Off][i % 3],
                    junk_purge_days: 30,
                    trash_purge_days: 30,
                    autoresponder: Autoresponder { enabled: i % 200 == 1, subject: "Away".into(), text: format!("Away, user {i}."), start: Some(1_700_000_000), end: None },
                    copy_to: vec![],
                    policy_id: None,
                    active: true,
                    created_at: 0,
                },
                password_hash: format!("{{ARGON2ID}}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ{i}$aGFzaGhhc2hoYXNo"),
                effective_tag2: TAG2[i % 7],
            }
        })
        .collect();
    ApplyInput { domains, mailboxes, aliases: vec![], alias_domains: vec![], filters }
}

fn main() {
    let count: usize = std::env::var("MAILWARD_BENCH_MAILBOXES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let paths = ApplyPaths { postmap: Some("postmap".into()), sievec: Some("sievec".into()), ..ApplyPaths::under(dir.path()) };
    let mut input = fixture(count);

    let t = Instant::now();
    let plan = Plan::build(&input, &paths);
    let built = t.elapsed();
    let report = apply::write(&plan, &paths);
    let full = t.elapsed();
    assert!(report.failures().is_empty(), "{:?}", &report.failures()[..report.failures().len().min(3)]);
    println!("full apply, {count} mailboxes: {:.2} s (plan {:.2} s), {} files written", full.as_secs_f64(), built.as_secs_f64(), report.written().len());

    let t = Instant::now();
    let report = apply::write(&Plan::build(&input, &paths), &paths);
    println!("unchanged re-apply: {:.2} s, {} files written", t.elapsed().as_secs_f64(), report.written().len());

    input.filters[0].value = "[changed]".into();
    let t = Instant::now();
    let report = apply::write(&Plan::build(&input, &paths), &paths);
    let written: Vec<String> = report.written().iter().map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
    println!("apply after one filter change: {:.2} s, files written: {written:?}", t.elapsed().as_secs_f64());
}
