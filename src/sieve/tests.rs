//! Unit checks of the renderer's text. Whether Pigeonhole accepts the scripts and files
//! messages where the policy says is checked against real `sievec`/`sieve-test` in
//! `tests/it/mailstack/sieve.rs`, with golden files.

use super::*;

fn mailbox(spam_move: SpamMove, tag2: f64) -> MailboxSieve {
    MailboxSieve {
        address: "anna@example.org".into(),
        spam_move,
        tag2,
        filters: vec![],
        autoresponder: Autoresponder::default(),
        alias_addresses: vec![],
        copy_to: vec![],
    }
}

fn filter(id: i64, field: FilterField, matching: FilterMatch, value: &str, action: FilterAction, argument: &str) -> MailFilter {
    MailFilter {
        id,
        mailbox_id: 1,
        name: format!("f{id}"),
        field,
        header: String::new(),
        matching,
        value: value.into(),
        action,
        argument: argument.into(),
        position: id,
        active: true,
    }
}

#[test]
fn tag2_is_counted_in_hundredths() {
    for (tag2, want) in [(4.5, Some(450)), (4.49, Some(449)), (10.0, Some(1000)), (0.0, Some(0)), (-5.0, Some(0)), (6.9, Some(690)), (999.0, Some(99900))] {
        assert_eq!(tag2_hundredths(tag2), want, "{tag2}");
    }
    assert_eq!(tag2_hundredths(f64::NAN), None);
}

#[test]
fn threshold_is_written_in_hundredths() {
    let s = render_sieve(&mailbox(SpamMove::Before, 4.5)).script;
    assert!(s.contains("\"${mw_hundredths}\" \"450\""), "{s}");
    let s = render_sieve(&mailbox(SpamMove::Before, 10.0)).script;
    assert!(s.contains("\"${mw_hundredths}\" \"1000\""), "{s}");
}

#[test]
fn junk_step_sits_where_the_mailbox_says() {
    let mut m = mailbox(SpamMove::Before, 4.5);
    m.filters.push(filter(1, FilterField::Subject, FilterMatch::Contains, "invoice", FilterAction::Move, "Bills"));
    let before = render_sieve(&m).script;
    assert!(before.find("fileinto :create \"Junk\"").unwrap() < before.find("fileinto :create \"Bills\"").unwrap());
    m.spam_move = SpamMove::After;
    let after = render_sieve(&m).script;
    assert!(after.find("fileinto :create \"Junk\"").unwrap() > after.find("fileinto :create \"Bills\"").unwrap());
    m.spam_move = SpamMove::Off;
    let off = render_sieve(&m).script;
    assert!(!off.contains("\"Junk\""));
}

#[test]
fn quotes_backslashes_and_newlines_stay_inside_the_string() {
    assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(quote("${mw_spam}"), "\"${mw_dollar}{mw_spam}\"");
    assert_eq!(quote("price $5 {x}"), "\"price $5 {x}\"");
    assert_eq!(single_line("a\r\nb\"\n; discard;"), "a  b\" ; discard;");
    let hostile = "x\";\n}\ndiscard;\nif true {\"";
    let mut m = mailbox(SpamMove::Off, 4.5);
    m.filters.push(filter(1, FilterField::Subject, FilterMatch::Is, hostile, FilterAction::Move, hostile));
    m.autoresponder = Autoresponder { enabled: true, subject: hostile.into(), text: hostile.into(), start: None, end: None };
    let s = render_sieve(&m).script;
    // Outside of quoted strings and comments, the hostile text left no command behind.
    let code = outside_strings(&s);
    assert!(!code.contains("discard"), "{code}");
    assert_eq!(code.matches('{').count(), code.matches('}').count(), "{code}");
    assert!(s.contains(r#"header :is "subject" "x\"; } discard; if true {\"""#), "{s}");
}

#[test]
fn wildcards_in_begins_and_ends_are_literal() {
    let mut m = mailbox(SpamMove::Off, 4.5);
    m.filters.push(filter(1, FilterField::Subject, FilterMatch::Begins, "*?\\", FilterAction::Discard, ""));
    let s = render_sieve(&m).script;
    assert!(s.contains(r#"header :matches "subject" "\\*\\?\\\\*""#), "{s}");
}

#[test]
fn unusable_filters_are_skipped_and_reported() {
    let mut m = mailbox(SpamMove::Off, 4.5);
    m.filters.push(filter(1, FilterField::Subject, FilterMatch::Is, "", FilterAction::Discard, ""));
    m.filters.push(filter(2, FilterField::Subject, FilterMatch::Is, "x", FilterAction::Forward, "not an address"));
    m.filters.push(filter(3, FilterField::Subject, FilterMatch::Is, &"y".repeat(MAX_VALUE_LEN + 1), FilterAction::Discard, ""));
    let mut bad_header = filter(4, FilterField::Header, FilterMatch::Is, "x", FilterAction::Discard, "");
    bad_header.header = "List-Id: x".into();
    m.filters.push(bad_header);
    m.filters.push(filter(5, FilterField::Subject, FilterMatch::Is, "ok", FilterAction::Move, ""));
    let mut inactive = filter(6, FilterField::Subject, FilterMatch::Is, "inactive", FilterAction::Discard, "");
    inactive.active = false;
    m.filters.push(inactive);
    let r = render_sieve(&m);
    assert_eq!(r.diagnostics.len(), 5, "{:?}", r.diagnostics);
    assert!(r.diagnostics[1].contains("filter 2") && r.diagnostics[1].contains("forward target"));
    assert!(!r.script.contains("# filter:"), "{}", r.script);
}

#[test]
fn autoresponder_has_dates_aliases_and_never_answers_spam() {
    let mut m = mailbox(SpamMove::Before, 4.5);
    m.alias_addresses = vec!["info@example.org".into(), "anna@example.org".into(), "info@example.org".into()];
    m.autoresponder = Autoresponder { enabled: true, subject: "Away".into(), text: "Back on\nMonday".into(), start: Some(1_767_225_600), end: Some(1_767_830_400) };
    let s = render_sieve(&m).script;
    assert!(s.contains("string :is \"${mw_spam}\" \"no\""));
    assert!(s.contains("currentdate :zone \"+0000\" :value \"ge\" \"iso8601\" \"2026-01-01T00:00:00\""), "{s}");
    assert!(s.contains("currentdate :zone \"+0000\" :value \"lt\" \"iso8601\" \"2026-01-08T00:00:00\""), "{s}");
    assert!(s.contains(":addresses [\"info@example.org\"]"), "{s}");
    assert!(s.contains("\"Back on\nMonday\""));
    m.autoresponder.enabled = false;
    assert!(!render_sieve(&m).script.contains("vacation :"));
}

#[test]
fn oversized_autoresponder_text_is_cut_and_reported() {
    let mut m = mailbox(SpamMove::Off, 4.5);
    m.autoresponder = Autoresponder { enabled: true, subject: "s".into(), text: "ä".repeat(MAX_AUTORESPONDER_LEN), start: None, end: None };
    let r = render_sieve(&m);
    assert!(r.script.len() < MAX_AUTORESPONDER_LEN + 4096);
    assert_eq!(r.diagnostics.len(), 1);
}

#[test]
fn copies_skip_non_addresses() {
    let mut m = mailbox(SpamMove::Off, 4.5);
    m.copy_to = vec!["boss@example.net".into(), "x\"; discard; \"@y".into()];
    let r = render_sieve(&m);
    assert!(r.script.contains("redirect :copy \"boss@example.net\";"));
    assert_eq!(r.diagnostics.len(), 1, "{:?}", r.diagnostics);
}

/// The script with quoted strings and `#` comments removed, honouring `\\` escapes: what
/// Sieve parses as commands.
fn outside_strings(script: &str) -> String {
    let mut out = String::new();
    let mut chars = script.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                out.push('\n');
            }
            _ => out.push(c),
        }
    }
    out
}
