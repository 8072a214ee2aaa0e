//! `mailward rules ...` commands. The lead's CLI wires `RulesCommand` in and calls `run`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::engine::{NetworkFacts, RuleSet};
use super::parse::Environment;
use super::scoring_pool::ScoringPool;
use super::Severity;

/// Debian's rule directory, used when no rule path is given.
pub const DEFAULT_RULES: &str = "/usr/share/spamassassin";

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Check rule files like `spamassassin --lint`; exits non-zero on any error or warning
    Lint {
        /// Rule files or directories (default: /usr/share/spamassassin)
        paths: Vec<PathBuf>,
        /// Also list rules this engine does not run
        #[arg(long)]
        unsupported: bool,
    },
    /// Score a message: hits with scores and descriptions, total and verdict
    Test {
        /// The message file (`-` for standard input)
        message: PathBuf,
        /// Rule files or directories (repeatable; default: /usr/share/spamassassin)
        #[arg(long = "rules")]
        rules: Vec<PathBuf>,
    },
    /// Write one flattened rule file for Rspamd's spamassassin module
    ExportRspamd {
        /// Output file
        out: PathBuf,
        /// Rule files or directories (repeatable; default: /usr/share/spamassassin)
        #[arg(long = "rules")]
        rules: Vec<PathBuf>,
    },
}

fn paths_or_default(p: &[PathBuf]) -> Vec<PathBuf> {
    if p.is_empty() { vec![PathBuf::from(DEFAULT_RULES)] } else { p.to_vec() }
}

/// Runs one rules command; returns the process exit code.
pub fn run(cmd: &RulesCommand, json: bool, out: &mut dyn Write) -> anyhow::Result<i32> {
    let env = Environment::spamassassin_4_0_1();
    match cmd {
        RulesCommand::Lint { paths, unsupported } => {
            let (set, mut diags) = RuleSet::load(&paths_or_default(paths), &env);
            diags.extend(set.compile_now());
            let problems: Vec<_> = diags.iter().filter(|d| d.severity >= Severity::Warning).collect();
            let unsupported_rules: Vec<_> = set.unsupported().map(|(r, k, why)| (r.name.clone(), k.to_string(), why.to_string())).collect();
            if json {
                let v = serde_json::json!({
                    "rules": set.rules.len(),
                    "problems": problems,
                    "unsupported": unsupported_rules.iter().map(|(n, k, w)| serde_json::json!({"rule": n, "kind": k, "reason": w})).collect::<Vec<_>>(),
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                for d in &problems {
                    writeln!(out, "{d}")?;
                }
                if *unsupported {
                    for (n, _, why) in &unsupported_rules {
                        writeln!(out, "unsupported: {n}: {why}")?;
                    }
                }
                writeln!(out, "{} rules, {} problems, {} rules not run by this engine", set.rules.len(), problems.len(), unsupported_rules.len())?;
            }
            Ok(i32::from(!problems.is_empty()))
        }
        RulesCommand::Test { message, rules } => {
            let data = if message == Path::new("-") {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)?;
                v
            } else {
                std::fs::read(message).map_err(|e| anyhow::anyhow!("cannot read message {}: {}", message.display(), e.to_string().to_lowercase()))?
            };
            let (set, diags) = RuleSet::load(&paths_or_default(rules), &env);
            if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error && d.location.line == 0) {
                anyhow::bail!("{}", d.message);
            }
            let report = std::sync::Arc::new(set).score_on(ScoringPool::for_this_machine(), &data, &NetworkFacts::default(), None).expect("no deadline, no early stop");
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                for h in &report.hits {
                    writeln!(out, "{:>7.3} {:<28} {}", h.score * f64::from(h.count), h.name, h.describe)?;
                }
                writeln!(out, "total {:.3} required {:.1}: {}", report.score, report.required, if report.is_spam { "spam" } else { "ham" })?;
            }
            Ok(0)
        }
        RulesCommand::ExportRspamd { out: path, rules } => {
            let (set, _) = RuleSet::load(&paths_or_default(rules), &env);
            let export = super::rspamd::export(&set);
            std::fs::write(path, &export.text).map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.to_string().to_lowercase()))?;
            writeln!(out, "wrote {} rules to {} ({} left out, each named in a comment there)", export.written, path.display(), export.left_out)?;
            Ok(0)
        }
    }
}
