//! `mailward rules export-rspamd` loaded into a real Rspamd 3.4 (`support::rspamd`), through
//! `contrib/rspamd/local.d/spamassassin.conf`: the export of `rules/` alone and of Debian's
//! whole set plus `rules/` load without regexp errors or missing meta dependencies, no worker
//! crashes while scanning, and the rules fire with the export's scores.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mailward::rules::{Environment, NetworkFacts, RuleSet};

use crate::support::rspamd::{Rspamd, Symbols};

const SA_RULES: &str = "/usr/share/spamassassin";

/// Log lines in which Rspamd's spamassassin module or symbol cache rejects part of a ruleset.
const LOAD_PROBLEMS: &[&str] =
    &["cannot parse regexp", "Cannot parse regexp", "cannot find dependency", "Cannot parse expression", "cannot apply replacement", "bad rule definition", "invalid score"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `mailward rules export-rspamd OUT --rules ...` and returns the file it wrote.
fn export(dir: &Path, rule_paths: &[PathBuf]) -> (PathBuf, String) {
    let out = dir.join("sa_ruleset");
    let mut cmd = assert_cmd::Command::cargo_bin("mailward").unwrap();
    cmd.env("MAILWARD_DATA_DIR", dir).env_remove("MAILWARD_CONFIG").args(["rules", "export-rspamd"]).arg(&out);
    for p in rule_paths {
        cmd.arg("--rules").arg(p);
    }
    let result = cmd.output().unwrap();
    assert!(result.status.success(), "export failed: {}", String::from_utf8_lossy(&result.stderr));
    let text = String::from_utf8(std::fs::read(&out).unwrap()).expect("the export is UTF-8");
    (out, text)
}

/// Names the export defines (definition lines, not comments).
fn written_rules(export: &str) -> BTreeSet<String> {
    export
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next()) {
                (Some("header" | "mimeheader" | "body" | "rawbody" | "full" | "uri" | "meta"), Some(name)) => Some(name.to_string()),
                _ => None,
            }
        })
        .collect()
}

fn load_problems(rspamd: &Rspamd) -> Vec<String> {
    rspamd.log().lines().filter(|l| LOAD_PROBLEMS.iter().any(|p| l.contains(p))).map(|l| l.chars().take(300).collect()).collect()
}

fn own_messages() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(root().join("tests/rules/own"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// Our engine's visible hits among `names`, with scores.
fn engine_hits(set: &RuleSet, message: &[u8], keep: &dyn Fn(&str) -> bool) -> BTreeMap<String, f64> {
    set.score(message, &NetworkFacts::default()).hits.into_iter().filter(|h| keep(&h.name)).map(|h| (h.name, h.score)).collect()
}

fn only(symbols: &Symbols, keep: &dyn Fn(&str) -> bool) -> BTreeMap<String, f64> {
    symbols.iter().filter(|(n, _)| keep(n)).map(|(n, s)| (n.clone(), *s)).collect()
}

/// Every MW_ rule our engine hits on the own-rule messages fires in Rspamd with its score from
/// `rules/50_mailward.cf`, and no other MW_ rule does.
fn assert_own_rules_fire(rspamd: &Rspamd) {
    let (set, _) = RuleSet::load(&[root().join("rules")], &Environment::spamassassin_4_0_1());
    let mw = |n: &str| n.starts_with("MW_");
    let mut fired = BTreeSet::new();
    for (name, message) in own_messages() {
        let symbols = rspamd.scan(&message).unwrap_or_else(|e| panic!("scanning {name}: {e}\n{}", rspamd.log()));
        let expected = engine_hits(&set, &message, &mw);
        assert_eq!(only(&symbols, &mw), expected, "MW_ symbols and scores for {name}");
        fired.extend(expected.into_keys());
    }
    let visible: BTreeSet<String> = set.rules.iter().map(|r| r.name.clone()).filter(|n| mw(n)).collect();
    assert_eq!(fired, visible, "every own rule fires in Rspamd on some test message");
}

#[test]
fn own_rules_export_runs_in_rspamd_with_their_scores() {
    let dir = tempfile::tempdir().unwrap();
    let (ruleset, text) = export(dir.path(), &[root().join("rules")]);
    assert!(text.contains(" 0 rules left out"), "every own rule is exported:\n{text}");
    let rspamd = Rspamd::start(&ruleset);
    assert_own_rules_fire(&rspamd);
    assert_eq!(load_problems(&rspamd), Vec::<String>::new());
    assert!(!rspamd.crashed(), "{}", rspamd.log());
}

/// Debian's whole set: before the export left out what Rspamd 3.4 cannot run, this ruleset gave
/// 8 "cannot parse regexp" errors, ~2158 missing-dependency warnings, and a normal worker that
/// crashed on every scan.
#[test]
fn debian_rules_export_loads_and_scores_in_rspamd() {
    let dir = tempfile::tempdir().unwrap();
    let paths = [PathBuf::from(SA_RULES), root().join("rules")];
    let (ruleset, text) = export(dir.path(), &paths);
    let written = written_rules(&text);
    let left_out = text.lines().filter(|l| l.starts_with("# left out ")).count();
    assert!(text.contains(&format!("# {} rules written, {left_out} rules left out", written.len())), "header counts the rules");
    assert!(written.len() > 1000, "most of Debian's rules are exported ({})", written.len());

    let rspamd = Rspamd::start(&ruleset);
    assert_eq!(load_problems(&rspamd), Vec::<String>::new());
    assert_own_rules_fire(&rspamd);

    // Debian rules our engine runs like SpamAssassin and that the export wrote: where the engine
    // says one hits a corpus message, Rspamd should mostly agree, and with the same score.
    let (set, _) = RuleSet::load(&paths, &Environment::spamassassin_4_0_1());
    let comparable = |n: &str| !n.starts_with("__") && written.contains(n) && set.index.get(n).is_some_and(|&i| set.rules[i].fully_supported);
    let mut both: BTreeMap<String, u32> = BTreeMap::new();
    let mut engine_only: BTreeMap<String, u32> = BTreeMap::new();
    let mut rspamd_only: BTreeMap<String, u32> = BTreeMap::new();
    let mut score_mismatches = Vec::new();
    let mut scanned = 0;
    for (name, message) in crate::rules::corpus() {
        let symbols = rspamd.scan(&message).unwrap_or_else(|e| panic!("scanning {name}: {e}\n{}", rspamd.log()));
        scanned += 1;
        let ours = engine_hits(&set, &message, &comparable);
        for rule in symbols.keys().filter(|n| comparable(n) && !ours.contains_key(*n)) {
            *rspamd_only.entry(rule.clone()).or_default() += 1;
        }
        for (rule, score) in ours {
            match symbols.get(&rule) {
                Some(s) => {
                    if (s - score).abs() > 1e-6 {
                        score_mismatches.push(format!("{rule} on {name}: Rspamd {s}, export {score}"));
                    }
                    *both.entry(rule).or_default() += 1;
                }
                None => *engine_only.entry(rule).or_default() += 1,
            }
        }
    }
    println!(
        "{scanned} corpus messages; {} rules hit in both ({} hits); only in our engine: {engine_only:?}; only in Rspamd: {rspamd_only:?}",
        both.len(),
        both.values().sum::<u32>()
    );
    assert!(!rspamd.crashed(), "a worker crashed:\n{}", rspamd.log());
    assert_eq!(score_mismatches, Vec::<String>::new());
    let debian_agreeing = both.keys().filter(|n| !n.starts_with("MW_")).count();
    assert!(debian_agreeing >= 10, "Debian rules firing in both engines: {both:?}; only ours: {engine_only:?}");
}

/// The export leaves out rules named like Rspamd's own symbols, from a list taken from Rspamd
/// 3.4; an Rspamd with symbols the list lacks would get them overridden again.
#[test]
fn rspamd_symbol_list_covers_installed_rspamd() {
    let out = std::process::Command::new("rspamadm").args(["configdump", "-j", "-d"]).output().expect("rspamadm is installed (package rspamd)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let installed: BTreeSet<&str> = json["symbols"].as_object().expect("configdump lists symbols").keys().map(String::as_str).collect();
    let known = mailward::rules::rspamd::native_symbols::names();
    let missing: Vec<_> = installed.iter().filter(|n| !known.contains(*n)).collect();
    assert!(missing.is_empty(), "add to src/rules/rspamd/rspamd_3_4_symbols.txt: {missing:?}");
}
