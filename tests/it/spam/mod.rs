//! `mailward spam explain` and `mailward policy explain` through their `run` functions, on
//! message files as a user would pass them. Golden outputs live in `golden/`; refresh them
//! with `UPDATE_GOLDEN=1`.

use std::path::{Path, PathBuf};

use mailward::spam::cli::{SpamCommand, run, run_policy_explain};

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/spam/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing golden file {}: run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

fn message_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SEED: &str = "X-Virus-Scanned: Debian amavisd-new at\nX-Spam-Flag: YES\nX-Spam-Score: 7.039\nX-Spam-Level: *******\nX-Spam-Status: Yes, score=7.039 tagged_above=3 required=5 tests=[BAYES_50=0.8, DATE_IN_PAST_24_48=1.34, DKIM_SIGNED=0.1, DKIM_VALID=-0.1, DKIM_VALID_AU=-0.1, RP_MATCHES_RCVD=-0.001, SCHAALIT_HEADER_964=5] autolearn=no\nFrom: x@pkv-versicherung.online\nSubject: Ihre Krankenversicherung\n\nbody\n";

fn explain(message: Option<PathBuf>, for_address: Option<&str>, json: bool) -> (i32, String) {
    let mut out = Vec::new();
    let cmd = SpamCommand::Explain { message, for_address: for_address.map(str::to_string) };
    let code = run(&cmd, json, &crate::milter::directory(), &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn explain_the_seed_example_for_a_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let file = message_file(dir.path(), "seed.eml", SEED);
    let (code, text) = explain(Some(file.clone()), Some("lax@example.org"), false);
    assert_eq!(code, 0);
    golden("seed_for_lax.txt", &text);
    let (_, json) = explain(Some(file), Some("strict@example.org"), true);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["positive_sum"], 7.24);
    assert_eq!(v["negative_sum"], -0.201);
    assert_eq!(v["adds_up"], true);
    assert_eq!(v["recipient"]["outcome"], "refused");
    assert_eq!(v["recipient"]["policy"]["kill"]["source"]["policy"], "Trigger happy");
}

#[test]
fn explain_a_message_without_spam_headers_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = message_file(dir.path(), "plain.eml", "From: a@b.example\nSubject: hi\n\nX-Spam-Flag: YES in the body\n");
    let (code, text) = explain(Some(file), None, false);
    assert_eq!(code, 1);
    assert_eq!(text, "no X-Spam-* headers found\n");
}

#[test]
fn explain_a_missing_file_names_it() {
    let mut out = Vec::new();
    let cmd = SpamCommand::Explain { message: Some("/nonexistent/message.eml".into()), for_address: None };
    let err = run(&cmd, false, &crate::milter::directory(), &mut out).unwrap_err();
    assert!(format!("{err:#}").starts_with("cannot open message /nonexistent/message.eml"), "{err:#}");
}

#[test]
fn explain_an_oversized_binary_file_reads_only_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"X-Spam-Score: 3.2\r\n".to_vec();
    bytes.extend(std::iter::repeat_n(0xffu8, 20 * 1024 * 1024));
    let file = dir.path().join("big.eml");
    std::fs::write(&file, &bytes).unwrap();
    let (code, text) = explain(Some(file), None, false);
    assert_eq!(code, 0);
    assert!(text.contains("score:     3.2\n"), "{text}");
}

#[test]
fn policy_explain_shows_the_source_of_each_value() {
    let mut out = Vec::new();
    assert_eq!(run_policy_explain("lax@example.org", false, &crate::milter::directory(), &mut out).unwrap(), 0);
    golden("policy_lax.txt", &String::from_utf8(out).unwrap());
    let mut out = Vec::new();
    run_policy_explain("sales@example.org", false, &crate::milter::directory(), &mut out).unwrap();
    golden("policy_alias.txt", &String::from_utf8(out).unwrap());
    let err = run_policy_explain("not-an-address", false, &crate::milter::directory(), &mut Vec::new()).unwrap_err();
    assert_eq!(err.to_string(), "not an e-mail address: \"not-an-address\"");
}
