//! CLI glue for `mailward apply` and `mailward apply purge`: the lead's CLI loads the
//! `ApplyInput` from the store and the `ApplyPaths` from the config, then calls these.

use std::io::Write;
use std::path::Path;

use super::purge::{purge_commands, run_purge};
use super::{ApplyInput, ApplyPaths, FileOutcome, Plan, write};

#[derive(Debug, clap::Subcommand)]
pub enum ApplyCommand {
    /// Write the Postfix maps, the Dovecot passwd-file and the Sieve scripts now.
    Run {
        /// Print what would change without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Expunge old mail from every mailbox's Junk and Trash with doveadm.
    Purge {
        /// doveadm to run.
        #[arg(long, default_value = "/usr/bin/doveadm")]
        doveadm: std::path::PathBuf,
    },
}

/// Runs one apply and prints its report. Exit code 0 when everything was written, 1 when a
/// file failed (the others were still written); diagnostics alone do not fail the run.
pub fn run(command: &ApplyCommand, input: &ApplyInput, paths: &ApplyPaths, json: bool, out: &mut dyn Write) -> anyhow::Result<i32> {
    match command {
        ApplyCommand::Run { dry_run } => {
            let plan = Plan::build(input, paths);
            if *dry_run {
                let files: Vec<String> = plan.files.iter().map(|f| f.path.display().to_string()).collect();
                if json {
                    writeln!(out, "{}", serde_json::json!({ "files": files, "diagnostics": diagnostics_json(&plan.diagnostics) }))?;
                } else {
                    for f in files {
                        writeln!(out, "would write {f}")?;
                    }
                    for d in &plan.diagnostics {
                        writeln!(out, "warning: {}: {}", d.object, d.message)?;
                    }
                }
                return Ok(0);
            }
            let report = write(&plan, paths);
            let failures: Vec<serde_json::Value> = report.failures().iter().map(|(p, e)| serde_json::json!({ "path": p.display().to_string(), "error": e.to_string() })).collect();
            let removed: Vec<String> = report.files.iter().filter_map(|f| if let FileOutcome::Removed(p) = f { Some(p.display().to_string()) } else { None }).collect();
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "written": report.written().iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                        "unchanged": report.unchanged(),
                        "removed": removed,
                        "failed": failures,
                        "diagnostics": diagnostics_json(&report.diagnostics),
                        "skipped_steps": report.skipped_steps,
                    })
                )?;
            } else {
                writeln!(out, "{} written, {} unchanged, {} removed, {} failed", report.written().len(), report.unchanged(), removed.len(), failures.len())?;
                for (p, e) in report.failures() {
                    writeln!(out, "error: {}: {e}", p.display())?;
                }
                for d in &report.diagnostics {
                    writeln!(out, "warning: {}: {}", d.object, d.message)?;
                }
                for s in &report.skipped_steps {
                    writeln!(out, "note: {s}")?;
                }
            }
            Ok(if failures.is_empty() { 0 } else { 1 })
        }
        ApplyCommand::Purge { doveadm } => {
            let mailboxes: Vec<_> = input.mailboxes.iter().map(|m| m.mailbox.clone()).collect();
            let results = run_purge(Path::new(doveadm), None, &purge_commands(&mailboxes));
            let mut failed = 0;
            for (c, r) in &results {
                if let Err(e) = r {
                    failed += 1;
                    writeln!(out, "error: {e}")?;
                } else if !json {
                    writeln!(out, "purged {} {} older than {} days", c.user, c.folder, c.days)?;
                }
            }
            if json {
                writeln!(out, "{}", serde_json::json!({ "runs": results.len(), "failed": failed }))?;
            }
            Ok(if failed == 0 { 0 } else { 1 })
        }
    }
}

fn diagnostics_json(d: &[super::PlanDiagnostic]) -> Vec<serde_json::Value> {
    d.iter().map(|d| serde_json::json!({ "object": d.object, "message": d.message })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_text(command: &ApplyCommand, paths: &ApplyPaths, json: bool) -> (i32, String) {
        let mut out = Vec::new();
        let input = ApplyInput::default();
        let code = run(command, &input, paths, json, &mut out).unwrap();
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn report_counts_and_notes_what_did_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ApplyPaths::under(dir.path());
        let (code, text) = run_text(&ApplyCommand::Run { dry_run: true }, &paths, false);
        assert_eq!(code, 0);
        assert_eq!(text.lines().filter(|l| l.starts_with("would write ")).count(), 4, "{text}");
        assert!(!paths.dovecot_passwd.exists(), "a dry run wrote");
        let (code, text) = run_text(&ApplyCommand::Run { dry_run: false }, &paths, false);
        assert_eq!(code, 0);
        assert!(text.starts_with("4 written, 0 unchanged, 0 removed, 0 failed\n"), "{text}");
        assert!(text.contains("note: postmap not configured"), "{text}");
        let (_, json) = run_text(&ApplyCommand::Run { dry_run: false }, &paths, true);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["unchanged"], 4);
    }

    #[test]
    fn a_failed_file_makes_the_exit_code_one() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ApplyPaths::under(dir.path());
        std::fs::create_dir_all(paths.dovecot_passwd.join("blocker")).unwrap();
        let (code, text) = run_text(&ApplyCommand::Run { dry_run: false }, &paths, false);
        assert_eq!(code, 1);
        assert!(text.contains("error: ") && text.contains("passwd"), "{text}");
    }
}
