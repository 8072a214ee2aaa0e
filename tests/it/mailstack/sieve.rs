//! Generated scripts: golden text (`UPDATE_GOLDEN=1` refreshes), accepted by `sievec`, and
//! filing sample messages with `sieve-test` where the mailbox's policy says.

use std::path::{Path, PathBuf};

use mailward::model::{Autoresponder, FilterAction, FilterField, FilterMatch, MailFilter, SpamMove};
use mailward::sieve::{MailboxSieve, render_sieve};

use super::{as_test_user, open_up};

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

fn filter(id: i64, matching: FilterMatch, value: &str, action: FilterAction, argument: &str) -> MailFilter {
    MailFilter {
        id,
        mailbox_id: 1,
        name: format!("filter {id}"),
        field: FilterField::Subject,
        header: String::new(),
        matching,
        value: value.into(),
        action,
        argument: argument.into(),
        position: id,
        active: true,
    }
}

/// What `sieve-test` says the script does with one message.
#[derive(Debug, Default)]
struct Outcome {
    folders: Vec<String>,
    vacation: bool,
    redirects: Vec<String>,
    discarded: bool,
}

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        open_up(dir.path());
        Sandbox { dir }
    }

    fn compile(&self, script: &str) -> Result<PathBuf, String> {
        let path = self.dir.path().join(format!("s{}.sieve", script.len()));
        std::fs::write(&path, script).unwrap();
        let out = std::process::Command::new("sievec").arg(&path).arg(path.with_extension("svbin")).output().unwrap();
        if out.status.success() {
            Ok(path)
        } else {
            Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
        }
    }

    fn run(&self, script: &Path, headers: &str) -> Outcome {
        let msg = self.dir.path().join("msg.eml");
        std::fs::write(&msg, format!("From: bob@example.net\r\nTo: anna@example.org\r\nMessage-ID: <1@example.net>\r\n{headers}\r\nbody\r\n")).unwrap();
        let out = as_test_user("sieve-test", &["-a", "anna@example.org", "-f", "bob@example.net", script.to_str().unwrap(), msg.to_str().unwrap()], self.dir.path());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "sieve-test failed: {text}{}", String::from_utf8_lossy(&out.stderr));
        let mut o = Outcome::default();
        for line in text.lines() {
            let line = line.trim();
            if let Some(f) = line.strip_prefix("* store message in folder: ") {
                o.folders.push(f.to_string());
            } else if line.starts_with("* send vacation message") {
                o.vacation = true;
            } else if let Some(r) = line.strip_prefix("* redirect message to: ") {
                o.redirects.push(r.trim_matches(|c| c == '<' || c == '>').to_string());
            } else if line.starts_with("* discard") {
                o.discarded = true;
            }
        }
        o
    }
}

fn check_golden(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/mailstack/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing golden {}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(text, want, "golden {name} differs; run with UPDATE_GOLDEN=1 if the change is intended");
}

fn full_featured() -> MailboxSieve {
    let mut m = mailbox(SpamMove::Before, 4.5);
    m.filters = vec![
        filter(1, FilterMatch::Contains, "invoice", FilterAction::Move, "Bills"),
        filter(2, FilterMatch::Begins, "[list]", FilterAction::Forward, "lists@example.net"),
        filter(3, FilterMatch::Is, "win a prize", FilterAction::Discard, ""),
        filter(4, FilterMatch::Ends, "(urgent)", FilterAction::Reject, "no thanks"),
    ];
    m.autoresponder = Autoresponder { enabled: true, subject: "Out of office".into(), text: "I am away.\nBack soon.".into(), start: Some(1_700_000_000), end: Some(4_000_000_000) };
    m.alias_addresses = vec!["info@example.org".into()];
    m.copy_to = vec!["archive@example.net".into()];
    m
}

#[test]
fn golden_scripts_compile_with_sievec() {
    let sandbox = Sandbox::new();
    for (name, m) in [
        ("before_full.sieve", full_featured()),
        ("after_full.sieve", MailboxSieve { spam_move: SpamMove::After, ..full_featured() }),
        ("off_plain.sieve", mailbox(SpamMove::Off, 4.5)),
        ("permissive_plain.sieve", mailbox(SpamMove::Before, 10.0)),
    ] {
        let r = render_sieve(&m);
        assert!(r.diagnostics.is_empty(), "{name}: {:?}", r.diagnostics);
        check_golden(name, &r.script);
        sandbox.compile(&r.script).unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
    }
}

#[test]
fn spam_decision_is_exact_to_the_hundredth() {
    let sandbox = Sandbox::new();
    let normal = sandbox.compile(&render_sieve(&mailbox(SpamMove::Before, 4.5)).script).unwrap();
    let permissive = sandbox.compile(&render_sieve(&mailbox(SpamMove::Before, 10.0)).script).unwrap();
    for (score, normal_folder, permissive_folder) in [
        ("4.49", "INBOX", "INBOX"),
        ("4.5", "Junk", "INBOX"),
        ("4.50", "Junk", "INBOX"),
        ("4.51", "Junk", "INBOX"),
        ("4.499", "INBOX", "INBOX"),
        ("-5", "INBOX", "INBOX"),
        ("-50.5", "INBOX", "INBOX"),
        ("9.99", "Junk", "INBOX"),
        ("10", "Junk", "Junk"),
        ("10.00", "Junk", "Junk"),
        ("123.4", "Junk", "Junk"),
        ("0", "INBOX", "INBOX"),
        ("abc", "INBOX", "INBOX"),
        ("", "INBOX", "INBOX"),
    ] {
        let headers = format!("Subject: hello\r\nX-Spam-Score: {score}\r\n");
        assert_eq!(sandbox.run(&normal, &headers).folders, [normal_folder], "score {score:?} with tag2 4.5");
        assert_eq!(sandbox.run(&permissive, &headers).folders, [permissive_folder], "score {score:?} with tag2 10");
    }
    assert_eq!(sandbox.run(&normal, "Subject: no score\r\n").folders, ["INBOX"]);
}

#[test]
fn negative_tag2_never_makes_negative_scores_spam() {
    let sandbox = Sandbox::new();
    let s = sandbox.compile(&render_sieve(&mailbox(SpamMove::Before, -3.0)).script).unwrap();
    assert_eq!(sandbox.run(&s, "X-Spam-Score: -1.0\r\n").folders, ["INBOX"]);
    assert_eq!(sandbox.run(&s, "X-Spam-Score: 0.0\r\n").folders, ["Junk"]);
}

#[test]
fn junk_before_filters_after_filters_or_not_at_all() {
    let sandbox = Sandbox::new();
    let spam_invoice = "Subject: your invoice\r\nX-Spam-Score: 7.2\r\n";
    let mut m = mailbox(SpamMove::Before, 4.5);
    m.filters = vec![filter(1, FilterMatch::Contains, "invoice", FilterAction::Move, "Bills")];
    let before = sandbox.compile(&render_sieve(&m).script).unwrap();
    assert_eq!(sandbox.run(&before, spam_invoice).folders, ["Junk"]);
    m.spam_move = SpamMove::After;
    let after = sandbox.compile(&render_sieve(&m).script).unwrap();
    assert_eq!(sandbox.run(&after, spam_invoice).folders, ["Bills"]);
    assert_eq!(sandbox.run(&after, "Subject: other\r\nX-Spam-Score: 7.2\r\n").folders, ["Junk"]);
    m.spam_move = SpamMove::Off;
    let off = sandbox.compile(&render_sieve(&m).script).unwrap();
    assert_eq!(sandbox.run(&off, "Subject: other\r\nX-Spam-Score: 70\r\n").folders, ["INBOX"]);
}

#[test]
fn user_filters_do_what_they_say() {
    let sandbox = Sandbox::new();
    let s = sandbox.compile(&render_sieve(&full_featured()).script).unwrap();
    assert_eq!(sandbox.run(&s, "Subject: [list] news\r\n").redirects, ["archive@example.net", "lists@example.net"]);
    assert!(sandbox.run(&s, "Subject: Win a Prize\r\n").discarded);
    assert!(sandbox.run(&s, "Subject: plain [list]\r\n").folders == ["INBOX"]);
}

#[test]
fn autoresponder_answers_ham_for_aliases_not_spam_and_only_in_its_dates() {
    let sandbox = Sandbox::new();
    let s = sandbox.compile(&render_sieve(&full_featured()).script).unwrap();
    assert!(sandbox.run(&s, "Subject: hi\r\n").vacation);
    assert!(!sandbox.run(&s, "Subject: hi\r\nX-Spam-Score: 5\r\n").vacation, "vacation answered spam");
    // Addressed only to an alias: answered because of :addresses.
    let alias_msg = sandbox.dir.path().join("alias.eml");
    std::fs::write(&alias_msg, "From: bob@example.net\r\nTo: info@example.org\r\nSubject: hi\r\nMessage-ID: <2@x>\r\n\r\nbody\r\n").unwrap();
    let out = as_test_user("sieve-test", &["-a", "anna@example.org", "-f", "bob@example.net", s.to_str().unwrap(), alias_msg.to_str().unwrap()], sandbox.dir.path());
    assert!(String::from_utf8_lossy(&out.stdout).contains("send vacation message"), "{}", String::from_utf8_lossy(&out.stdout));

    let mut future = full_featured();
    future.autoresponder.start = Some(4_000_000_000);
    future.autoresponder.end = None;
    let f = sandbox.compile(&render_sieve(&future).script).unwrap();
    assert!(!sandbox.run(&f, "Subject: hi\r\n").vacation, "answered before its start");
    let mut past = full_featured();
    past.autoresponder.start = None;
    past.autoresponder.end = Some(1_600_000_000);
    let p = sandbox.compile(&render_sieve(&past).script).unwrap();
    assert!(!sandbox.run(&p, "Subject: hi\r\n").vacation, "answered after its end");
}

#[test]
fn hostile_values_stay_inside_their_strings() {
    let sandbox = Sandbox::new();
    let hostile = "x\"; discard; stop; if true { keep; } \\\"${mw_spam}\r\nrequire \"fileinto\";";
    let mut m = mailbox(SpamMove::Off, 4.5);
    m.filters = vec![filter(1, FilterMatch::Is, hostile, FilterAction::Move, "Caught")];
    m.autoresponder = Autoresponder { enabled: true, subject: hostile.into(), text: format!("{hostile}\n.\n}}\n"), start: None, end: None };
    let r = render_sieve(&m);
    let s = sandbox.compile(&r.script).unwrap_or_else(|e| panic!("hostile script does not compile: {e}\n{}", r.script));
    // An ordinary message is neither discarded nor caught.
    let ordinary = sandbox.run(&s, "Subject: ordinary\r\n");
    assert_eq!(ordinary.folders, ["INBOX"]);
    assert!(!ordinary.discarded);
    // A subject equal to the (single-line) hostile text, `${mw_spam}` and all, is caught literally.
    let subject = mailward::sieve::single_line(hostile);
    assert_eq!(sandbox.run(&s, &format!("Subject: {subject}\r\n")).folders, ["Caught"]);
}
