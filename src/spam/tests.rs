use super::headers::{HeaderFormat, parse_spam_headers};
use super::policy::*;
use super::verdict::*;
use super::*;
use crate::model::{Alias, AliasDomain, AliasKind, Autoresponder, Domain, Mailbox, SpamMove, SpamPolicy};

/// The seed how-to's header block, verbatim.
const SEED: &str = "X-Virus-Scanned: Debian amavisd-new at\n\
X-Spam-Flag: YES\n\
X-Spam-Score: 7.039\n\
X-Spam-Level: *******\n\
X-Spam-Status: Yes, score=7.039 tagged_above=3 required=5 tests=[BAYES_50=0.8, DATE_IN_PAST_24_48=1.34, DKIM_SIGNED=0.1, DKIM_VALID=-0.1, DKIM_VALID_AU=-0.1, RP_MATCHES_RCVD=-0.001, SCHAALIT_HEADER_964=5] autolearn=no\n\
\n\
body\n";

fn tests_of(h: &SpamHeaders) -> Vec<(String, Option<f64>)> {
    h.tests.iter().map(|t| (t.name.clone(), t.score)).collect()
}

#[test]
fn seed_example_is_explained_to_the_same_numbers() {
    let h = parse_spam_headers(SEED.as_bytes());
    assert_eq!(h.format, Some(HeaderFormat::Amavis));
    assert_eq!(h.is_spam, Some(true));
    assert_eq!(h.score, Some(7.039));
    assert_eq!(h.required, Some(5.0));
    assert_eq!(h.tagged_above, Some(3.0));
    assert_eq!(h.level_stars, Some(7));
    assert_eq!(h.autolearn.as_deref(), Some("no"));
    assert_eq!(
        tests_of(&h),
        vec![
            ("BAYES_50".into(), Some(0.8)),
            ("DATE_IN_PAST_24_48".into(), Some(1.34)),
            ("DKIM_SIGNED".into(), Some(0.1)),
            ("DKIM_VALID".into(), Some(-0.1)),
            ("DKIM_VALID_AU".into(), Some(-0.1)),
            ("RP_MATCHES_RCVD".into(), Some(-0.001)),
            ("SCHAALIT_HEADER_964".into(), Some(5.0)),
        ]
    );
    assert!(h.diagnostics.is_empty(), "{:?}", h.diagnostics);
    let e = explain(&h, None);
    assert_eq!(e.positive_sum, 7.24);
    assert_eq!(e.negative_sum, -0.201);
    assert_eq!(e.tests_total, Some(7.039));
    assert_eq!(e.adds_up, Some(true));
    let text = render_explanation(&e);
    assert!(text.contains("positive:  +7.24\n"), "{text}");
    assert!(text.contains("negative:  -0.201\n"), "{text}");
    assert!(text.contains("total:     7.039 = reported score"), "{text}");
    assert!(text.contains("SCHAALIT_HEADER_964    +5.000"), "{text}");
}

#[test]
fn seed_example_for_a_trigger_happy_recipient_is_refused() {
    let (dir, _) = directory();
    let h = parse_spam_headers(SEED.as_bytes());
    // boss@example.org has Trigger happy (3 / 5 / 5).
    let e = explain(&h, Some(&dir.effective_policy("boss@example.org")));
    let r = e.recipient.as_ref().unwrap();
    assert_eq!(r.levels.iter().map(|l| (l.level, l.value, l.crossed)).collect::<Vec<_>>(), vec![("tag", 3.0, true), ("tag2", 5.0, true), ("kill", 5.0, true)]);
    assert_eq!(r.outcome, Outcome::Refused);
    let text = render_explanation(&e);
    assert!(text.contains("kill         5  reached  (from mailbox boss@example.org (policy \"Trigger happy\"))"), "{text}");
    // A Permissive domain user (3 / 10 / 20) only gets headers.
    let e = explain(&h, Some(&dir.effective_policy("info@example.org")));
    assert_eq!(e.recipient.unwrap().outcome, Outcome::Tagged);
}

fn check_headers(input: &str, format: Option<HeaderFormat>, spam: Option<bool>, score: Option<f64>, required: Option<f64>, tests: &[(&str, Option<f64>)]) {
    let h = parse_spam_headers(input.as_bytes());
    assert_eq!(h.format, format, "format of {input}");
    assert_eq!(h.is_spam, spam, "spam of {input}");
    assert_eq!(h.score, score, "score of {input}");
    assert_eq!(h.required, required, "required of {input}");
    let want: Vec<(String, Option<f64>)> = tests.iter().map(|(n, s)| (n.to_string(), *s)).collect();
    assert_eq!(tests_of(&h), want, "tests of {input}");
}

#[test]
fn spamassassin_status_unfolded_and_folded() {
    check_headers(
        "X-Spam-Status: Yes, score=1002.3 required=5.0 tests=GTUBE,NO_RECEIVED,NO_RELAYS autolearn=no autolearn_force=no version=4.0.1\n",
        Some(HeaderFormat::SpamAssassin),
        Some(true),
        Some(1002.3),
        Some(5.0),
        &[("GTUBE", None), ("NO_RECEIVED", None), ("NO_RELAYS", None)],
    );
    check_headers(
        "Subject: hi\r\nX-Spam-Status: No, score=-0.1 required=5.0 tests=DKIM_SIGNED,\r\n\tDKIM_VALID,DKIM_VALID_AU autolearn=ham\r\n\tautolearn_force=no version=4.0.1\r\nX-Spam-Checker-Version: SpamAssassin 4.0.1\r\n\r\n",
        Some(HeaderFormat::SpamAssassin),
        Some(false),
        Some(-0.1),
        Some(5.0),
        &[("DKIM_SIGNED", None), ("DKIM_VALID", None), ("DKIM_VALID_AU", None)],
    );
    check_headers("X-Spam-Status: No, score=0.0 required=5.0 tests=none autolearn=ham\n", Some(HeaderFormat::SpamAssassin), Some(false), Some(0.0), Some(5.0), &[]);
}

#[test]
fn spamassassin_report_gives_the_points() {
    let msg = "X-Spam-Flag: YES\n\
X-Spam-Status: Yes, score=1002.3 required=5.0 tests=GTUBE,NO_RECEIVED,\n\tNO_RELAYS autolearn=no version=4.0.1\n\
X-Spam-Report: \n\t*  1000 GTUBE BODY: Generic Test for Unsolicited Bulk Email\n\t* -0.0 NO_RELAYS Informational: message was not relayed via SMTP\n\t*  2.3 NO_RECEIVED Informational: message has no Received headers\n\n";
    check_headers(msg, Some(HeaderFormat::SpamAssassin), Some(true), Some(1002.3), Some(5.0), &[("GTUBE", Some(1000.0)), ("NO_RECEIVED", Some(2.3)), ("NO_RELAYS", Some(-0.0))]);
    let e = explain(&parse_spam_headers(msg.as_bytes()), None);
    assert_eq!(e.adds_up, Some(true));
}

#[test]
fn amavis_status_folded_across_lines() {
    check_headers(
        "X-Spam-Score: 2.1\nX-Spam-Status: No, score=2.1 tagged_above=-999 required=6.31\n tests=[BAYES_00=-1.9, HTML_MESSAGE=0.001,\n URIBL_BLOCKED=0.001, RDNS_NONE=4] autolearn=no autolearn_force=no\n",
        Some(HeaderFormat::Amavis),
        Some(false),
        Some(2.1),
        Some(6.31),
        &[("BAYES_00", Some(-1.9)), ("HTML_MESSAGE", Some(0.001)), ("URIBL_BLOCKED", Some(0.001)), ("RDNS_NONE", Some(4.0))],
    );
}

#[test]
fn rspamd_result_and_spam_header() {
    let msg = "X-Spamd-Result: default: True [16.40 / 15.00];\n\tGTUBE(0.00)[];\n\tR_SPF_ALLOW(-0.20)[+ip4:192.0.2.1];\n\tMIME_GOOD(-0.10)[text/plain];\n\tBAYES_SPAM(16.70)[99.99%]\nX-Rspamd-Action: reject\nX-Spam: Yes\nX-Spamd-Bar: ++++++++++++++++\n\n";
    check_headers(msg, Some(HeaderFormat::Rspamd), Some(true), Some(16.4), Some(15.0), &[("GTUBE", Some(0.0)), ("R_SPF_ALLOW", Some(-0.2)), ("MIME_GOOD", Some(-0.1)), ("BAYES_SPAM", Some(16.7))]);
    let h = parse_spam_headers(msg.as_bytes());
    assert_eq!(h.action.as_deref(), Some("reject"));
    let e = explain(&h, None);
    assert_eq!(e.positive_sum, 16.7);
    assert_eq!(e.negative_sum, -0.3);
    assert_eq!(e.adds_up, Some(true));
    // Options containing ';' inside brackets do not split symbols.
    check_headers(
        "X-Spamd-Result: default: False [1.00 / 15.00]; A_SYM(1.00)[x;y]; B(0.00)[]\n",
        Some(HeaderFormat::Rspamd),
        Some(false),
        Some(1.0),
        Some(15.0),
        &[("A_SYM", Some(1.0)), ("B", Some(0.0))],
    );
}

#[test]
fn sums_that_do_not_add_up_are_reported() {
    let h = parse_spam_headers(b"X-Spam-Status: Yes, score=9.5 tagged_above=3 required=5 tests=[A=5, B=1.5]\n");
    let e = explain(&h, None);
    assert_eq!(e.tests_total, Some(6.5));
    assert_eq!(e.adds_up, Some(false));
    assert!(render_explanation(&e).contains("total:     6.5 but the reported score is 9.5 (difference +3)"));
}

#[test]
fn malformed_and_hostile_headers_give_diagnostics_and_keep_the_rest() {
    let h = parse_spam_headers(b"X-Spam-Flag: MAYBE\nX-Spam-Score: lots\nX-Spam-Level: ***abc\nX-Spam-Status: Yes, score=NaN required=5 tests=[A=1, B=zz, <script>=3, C=2\n");
    assert_eq!(h.is_spam, Some(true));
    assert_eq!(h.score, None);
    assert_eq!(h.required, Some(5.0));
    assert_eq!(tests_of(&h), vec![("A".into(), Some(1.0)), ("B".into(), None), ("C".into(), Some(2.0))]);
    for needle in ["X-Spam-Flag: expected YES or NO", "X-Spam-Score: not a number", "X-Spam-Level: expected stars", "score is not a number", "tests=[ is not closed", "test B has no readable score", "is not a test name"] {
        assert!(h.diagnostics.iter().any(|d| d.contains(needle)), "missing {needle:?} in {:?}", h.diagnostics);
    }
    let e = explain(&h, None);
    assert_eq!(e.tests_total, None);
    assert!(render_explanation(&e).contains("total:     unknown"));

    let h = parse_spam_headers(b"X-Spamd-Result: nonsense\n");
    assert!(h.diagnostics.iter().any(|d| d.contains("expected True or False")));
    assert!(h.diagnostics.iter().any(|d| d.contains("no [score / required]")));

    // Stars that disagree with the score, and a second status header.
    let h = parse_spam_headers(b"X-Spam-Score: 7\nX-Spam-Level: **\nX-Spam-Status: No, score=1\nX-Spam-Status: Yes, score=7\n");
    assert_eq!(h.is_spam, Some(false));
    assert!(h.diagnostics.iter().any(|d| d.contains("2 stars but the score 7 gives 7")), "{:?}", h.diagnostics);
    assert!(h.diagnostics.iter().any(|d| d.contains("more than one X-Spam-Status")));
}

#[test]
fn oversized_and_binary_input_is_bounded() {
    let mut big = b"X-Spam-Status: Yes, score=1 tests=[".to_vec();
    for i in 0..20000 {
        big.extend_from_slice(format!("T{i}=0.001, ").as_bytes());
    }
    big.extend_from_slice(b"]\n");
    let h = parse_spam_headers(&big);
    assert_eq!(h.tests.len(), 20000);
    let h = parse_spam_headers(&[0xff, 0xfe, b':', 0, 1, 2, b'\n', b'X', b'-', b'S', b'p', b'a', b'm', b'-', b'F', b'l', b'a', b'g', b':', b' ', b'Y', b'E', b'S', b'\n']);
    assert_eq!(h.is_spam, Some(true));
    let h = parse_spam_headers(b"X-Spam-Score: 1e400\n");
    assert_eq!(h.score, None);
    let h = parse_spam_headers(b"");
    assert!(render_explanation(&explain(&h, None)).contains("no X-Spam-* headers found"));
}

#[test]
fn headers_in_the_body_are_not_read() {
    let h = parse_spam_headers(b"Subject: x\n\nX-Spam-Flag: YES\n");
    assert_eq!(h.is_spam, None);
}

fn policy(id: i64, name: &str, tag: Option<f64>, tag2: Option<f64>, kill: Option<f64>) -> SpamPolicy {
    SpamPolicy { id, name: name.into(), tag, tag2, kill, modifies_subject: None, subject_tag: None, spam_lover: None, virus_lover: None, builtin: false }
}

fn domain(id: i64, name: &str, policy_id: Option<i64>) -> Domain {
    Domain { id, name: name.into(), customer_id: 1, active: true, server_set_id: None, policy_id, created_at: 0 }
}

fn mailbox(domain_id: i64, address: &str, policy_id: Option<i64>) -> Mailbox {
    Mailbox {
        id: 0,
        domain_id,
        address: address.into(),
        display_name: String::new(),
        quota_mb: 0,
        spam_move: SpamMove::Before,
        junk_purge_days: 0,
        trash_purge_days: 0,
        autoresponder: Autoresponder::default(),
        copy_to: vec![],
        policy_id,
        active: true,
        created_at: 0,
    }
}

/// example.org: Permissive (3/10/20); boss@ has Trigger happy; partial@ has a policy that only
/// sets kill; sales@ is an alias; example.net has no policy; alias.org -> example.org.
fn directory() -> (PolicyDirectory, Vec<SpamPolicy>) {
    let mut presets = crate::model::policy::presets();
    for (i, p) in presets.iter_mut().enumerate() {
        p.id = i as i64 + 1;
    }
    let trigger = presets.iter().find(|p| p.name == "Trigger happy").unwrap().id;
    let permissive = presets.iter().find(|p| p.name == "Permissive").unwrap().id;
    let mut policies = presets.clone();
    policies.push(policy(100, "Only kill", None, None, Some(12.0)));
    let domains = vec![domain(1, "example.org", Some(permissive)), domain(2, "example.net", None)];
    let mailboxes = vec![
        mailbox(1, "boss@example.org", Some(trigger)),
        mailbox(1, "info@example.org", None),
        mailbox(1, "partial@example.org", Some(100)),
        mailbox(2, "user@example.net", Some(999)),
    ];
    let aliases = vec![Alias { id: 1, domain_id: 1, kind: AliasKind::Alias, source: "sales@example.org".into(), destinations: vec!["boss@example.org".into()], active: true }];
    let alias_domains = vec![AliasDomain { id: 1, source: "alias.org".into(), target_domain_id: 1, customer_id: 1, active: true }];
    (PolicyDirectory::new(PolicyValues::default(), &policies, &domains, &alias_domains, &mailboxes, &aliases), presets)
}

#[test]
fn mailbox_policy_overrides_domain_policy() {
    let (dir, _) = directory();
    let p = dir.effective_policy("<Boss@Example.ORG>");
    assert_eq!(p.address, "boss@example.org");
    assert_eq!(p.kind, RecipientKind::Mailbox);
    assert_eq!((p.tag.value, p.tag2.value, p.kill.value), (3.0, 5.0, 5.0));
    assert_eq!(p.kill.source, ValueSource::Mailbox { address: "boss@example.org".into(), policy: "Trigger happy".into() });
    // Plus-addressing reaches the same mailbox.
    assert_eq!(dir.effective_policy("boss+lists@example.org").kill.value, 5.0);
}

#[test]
fn alias_uses_its_domain_policy_even_when_its_destination_has_one() {
    let (dir, _) = directory();
    let p = dir.effective_policy("sales@example.org");
    assert_eq!(p.kind, RecipientKind::Alias);
    assert_eq!((p.tag.value, p.tag2.value, p.kill.value), (3.0, 10.0, 20.0));
    assert_eq!(p.tag2.source, ValueSource::Domain { domain: "example.org".into(), policy: "Permissive".into() });
}

#[test]
fn empty_fields_inherit_from_the_next_level() {
    let (dir, _) = directory();
    let p = dir.effective_policy("partial@example.org");
    assert_eq!(p.kill.value, 12.0);
    assert_eq!(p.kill.source, ValueSource::Mailbox { address: "partial@example.org".into(), policy: "Only kill".into() });
    assert_eq!(p.tag2.value, 10.0);
    assert!(matches!(p.tag2.source, ValueSource::Domain { .. }));
    // Neither mailbox nor domain has a policy: the server default, for every value.
    let p = dir.effective_policy("someone@example.net");
    assert_eq!(p.kind, RecipientKind::UnknownInDomain);
    assert_eq!(p.values(), PolicyValues::default());
    assert_eq!(p.tag.source, ValueSource::Default);
    let text = render_policy_explanation(&p);
    assert!(text.contains("kill level       50            from server default"), "{text}");
}

#[test]
fn alias_domain_and_unknown_domains_and_dangling_ids() {
    let (dir, _) = directory();
    let p = dir.effective_policy("boss@alias.org");
    assert_eq!(p.address, "boss@example.org");
    assert_eq!(p.kill.value, 5.0);
    let p = dir.effective_policy("someone@elsewhere.com");
    assert_eq!(p.kind, RecipientKind::NotHosted);
    assert_eq!(p.values(), PolicyValues::default());
    // user@example.net names policy 999, which is missing: default, and a diagnostic.
    assert_eq!(dir.effective_policy("user@example.net").kill.source, ValueSource::Default);
    assert!(dir.diagnostics.iter().any(|d| d.contains("mailbox user@example.net names spam policy 999")));
}

fn values(tag: f64, tag2: f64, kill: f64, lover: bool) -> PolicyValues {
    PolicyValues { tag, tag2, kill, spam_lover: lover, ..PolicyValues::default() }
}

fn report(score: f64) -> ScoreReport {
    ScoreReport { score, tests: vec![ScoredTest { name: "GTUBE".into(), score }] }
}

#[test]
fn verdict_for_one_policy() {
    let p = values(3.0, 5.0, 10.0, false);
    let v = decide(&report(1.0), std::slice::from_ref(&p));
    assert!(v.headers.is_empty() && !v.reject && v.subject_tag.is_none());
    let v = decide(&report(4.0), std::slice::from_ref(&p));
    let names: Vec<&str> = v.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["X-Spam-Score", "X-Spam-Level", "X-Spam-Status"]);
    assert_eq!(v.headers[2].1, "No, score=4 tagged_above=3 required=5 tests=[GTUBE=4]");
    let v = decide(&report(7.039), std::slice::from_ref(&p));
    assert_eq!(v.headers[0], ("X-Spam-Flag".to_string(), "YES".to_string()));
    assert_eq!(v.headers[2], ("X-Spam-Level".to_string(), "*******".to_string()));
    assert_eq!(v.subject_tag.as_deref(), Some("***SPAM*** "));
    assert!(!v.reject);
    let v = decide(&report(1000.0), &[p]);
    assert!(v.reject);
    assert_eq!(v.headers[2].1.len(), 50, "stars are capped at 50");
}

#[test]
fn verdict_for_several_policies_applies_only_what_all_agree_on() {
    let strict = values(3.0, 5.0, 5.0, false);
    let lax = values(3.0, 10.0, 20.0, false);
    let lover = values(3.0, 999.0, 999.0, true);
    // 7: spam for strict only: no flag, no subject tag, no rejection; headers for both.
    let v = decide(&report(7.0), &[strict.clone(), lax.clone()]);
    assert!(!v.single_policy && !v.reject && v.subject_tag.is_none());
    assert!(v.headers.iter().all(|(n, _)| n != "X-Spam-Flag"));
    assert!(v.headers.iter().any(|(n, v)| n == "X-Spam-Score" && v == "7"));
    // 25: every kill level reached: refused.
    assert!(decide(&report(25.0), &[strict.clone(), lax.clone()]).reject);
    // A spam lover among the recipients: never refused.
    let v = decide(&report(1000.0), &[strict, lover]);
    assert!(!v.reject);
}

#[test]
fn folded_status_keeps_every_test() {
    let tests: Vec<ScoredTest> = (0..30).map(|i| ScoredTest { name: format!("SOME_LONG_RULE_NAME_{i}"), score: 0.5 }).collect();
    let value = status_value(true, 15.0, 3.0, 5.0, &tests);
    assert!(value.lines().count() > 5);
    assert!(value.lines().all(|l| l.len() < 100), "{value}");
    let reparsed = parse_spam_headers(format!("X-Spam-Status: {value}\n").as_bytes());
    assert_eq!(reparsed.tests.len(), 30);
    assert_eq!(explain(&reparsed, None).tests_total, Some(15.0));
}

#[test]
fn subject_is_tagged_once() {
    assert_eq!(tagged_subject(b"hello", "***SPAM*** "), b"***SPAM*** hello");
    assert_eq!(tagged_subject(b"***SPAM*** hello", "***SPAM*** "), b"***SPAM*** hello");
    assert_eq!(tagged_subject(b"Gr\xfc\xdfe", "***SPAM*** "), b"***SPAM*** Gr\xfc\xdfe", "8-bit bytes kept");
}
