//! What runs after a channel installed new rules, from `mailward rules update` and from the
//! schedule inside `serve`: the flattened ruleset for Rspamd's spamassassin module is rewritten,
//! then the hook executables and the reload commands run (the seed how-to's cron script does
//! the same for Amavis, spamd and Rspamd). Reloading mailward's own milter is the caller's step:
//! `serve` reloads in process, and a `serve` running beside the CLI notices the changed rule
//! files.
//!
//! Every step runs even when an earlier one failed, and each reports its own outcome: a broken
//! hook must not keep Rspamd's ruleset stale.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::rules::{Environment, RuleSet};

/// The file Rspamd's `spamassassin` module is pointed at (`ruleset = ".../sa_ruleset"`).
pub const RSPAMD_RULESET: &str = "sa_ruleset";

#[derive(Debug, Clone)]
pub struct AfterUpdate {
    /// The configured rule paths and the update directory; the export flattens the effective
    /// paths worked out when it runs (the update may have installed the first channel).
    pub rule_paths: Vec<PathBuf>,
    pub update_dir: PathBuf,
    pub rspamd_dir: Option<PathBuf>,
    pub hooks_dir: Option<PathBuf>,
    pub reload_commands: Vec<String>,
    /// Each hook and command is killed after this long.
    pub timeout: Duration,
}

impl AfterUpdate {
    pub fn from_config(config: &crate::config::Config) -> Self {
        AfterUpdate {
            rule_paths: config.rules.paths.clone(),
            update_dir: config.rules.update_dir.clone(),
            rspamd_dir: config.updates.rspamd_dir.clone(),
            hooks_dir: config.updates.hooks_dir.clone(),
            reload_commands: config.updates.reload_commands.clone(),
            timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepOutcome {
    /// What ran: `rspamd export`, a hook's path, or a reload command.
    pub step: String,
    pub ok: bool,
    pub detail: String,
}

impl std::fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}{}", self.step, if self.ok { "" } else { "failed: " }, self.detail)
    }
}

/// Runs every step in order and reports each.
pub async fn run_after_update(after: &AfterUpdate) -> Vec<StepOutcome> {
    let mut outcomes = Vec::new();
    if let Some(dir) = &after.rspamd_dir {
        let paths = crate::rules::load::effective_paths(&after.rule_paths, &after.update_dir);
        let dir2 = dir.clone();
        let result = tokio::task::spawn_blocking(move || write_rspamd_ruleset(&paths, &dir2)).await.unwrap_or_else(|e| Err(format!("export panicked: {e}")));
        outcomes.push(match result {
            Ok(n) => StepOutcome { step: "rspamd export".into(), ok: true, detail: format!("wrote {n} rules to {}", dir.join(RSPAMD_RULESET).display()) },
            Err(e) => StepOutcome { step: "rspamd export".into(), ok: false, detail: e },
        });
    }
    if let Some(dir) = &after.hooks_dir {
        for hook in hook_executables(dir) {
            let mut command = tokio::process::Command::new(&hook);
            outcomes.push(run_command(hook.display().to_string(), &mut command, after.timeout).await);
        }
    }
    for line in &after.reload_commands {
        let mut command = tokio::process::Command::new("/bin/sh");
        command.arg("-c").arg(line);
        outcomes.push(run_command(line.clone(), &mut command, after.timeout).await);
    }
    outcomes
}

/// Exports the rules as one flat file, written next to its final name and renamed over it, so
/// Rspamd never reads half a ruleset. Refuses to replace a ruleset with an empty one.
pub fn write_rspamd_ruleset(rule_paths: &[PathBuf], dir: &Path) -> Result<usize, String> {
    let (set, _) = RuleSet::load(rule_paths, &Environment::spamassassin_4_0_1());
    if set.rules.is_empty() {
        return Err(format!("no rules loaded from {}; the previous ruleset is kept", rule_paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
    }
    let export = crate::rules::rspamd::export(&set);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {}", dir.display(), e.to_string().to_lowercase()))?;
    let target = dir.join(RSPAMD_RULESET);
    let staging = dir.join(format!(".{RSPAMD_RULESET}.new"));
    std::fs::write(&staging, &export.text).map_err(|e| format!("cannot write {}: {}", staging.display(), e.to_string().to_lowercase()))?;
    std::fs::rename(&staging, &target).map_err(|e| {
        let _ = std::fs::remove_file(&staging);
        format!("cannot replace {}: {}", target.display(), e.to_string().to_lowercase())
    })?;
    // Rules left out are named in the file; the count is of rules Rspamd gets.
    Ok(export.written)
}

/// The executables of a hooks directory in name order, skipping what run-parts skips (names
/// other than letters, digits, `_` and `-`, such as editor backups and `.dpkg-old` files).
fn hook_executables(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut hooks: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .collect();
    hooks.sort();
    hooks
}

async fn run_command(step: String, command: &mut tokio::process::Command, timeout: Duration) -> StepOutcome {
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = match tokio::time::timeout(timeout, command.output()).await {
        Err(_) => return StepOutcome { step, ok: false, detail: format!("did not finish within {} s and was killed", timeout.as_secs()) },
        Ok(Err(e)) => return StepOutcome { step, ok: false, detail: format!("cannot run: {}", e.to_string().to_lowercase()) },
        Ok(Ok(o)) => o,
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    match output.status.code() {
        Some(0) => StepOutcome { step, ok: true, detail: "done".into() },
        Some(code) if last.is_empty() => StepOutcome { step, ok: false, detail: format!("exit status {code}") },
        Some(code) => StepOutcome { step, ok: false, detail: format!("exit status {code}: {last}") },
        None => StepOutcome { step, ok: false, detail: "killed by a signal".into() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_step_runs_and_reports_even_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir(&rules).unwrap();
        std::fs::write(rules.join("a.cf"), "body ONE /one/\nscore ONE 1.5\n").unwrap();
        let hooks = dir.path().join("hooks");
        std::fs::create_dir(&hooks).unwrap();
        let marker = dir.path().join("hook-ran");
        for (name, body, mode) in [("10-fails", "#!/bin/sh\necho broken >&2\nexit 3\n", 0o755), ("20-works", &format!("#!/bin/sh\ntouch {}\n", marker.display()), 0o755), ("30-not-executable", "#!/bin/sh\nexit 9\n", 0o644), ("40.dpkg-old", "#!/bin/sh\nexit 9\n", 0o755)] {
            use std::os::unix::fs::PermissionsExt;
            let p = hooks.join(name);
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let after = AfterUpdate {
            rule_paths: vec![rules],
            update_dir: dir.path().join("no-updates"),
            rspamd_dir: Some(dir.path().join("rspamd")),
            hooks_dir: Some(hooks.clone()),
            reload_commands: vec!["exit 0".into(), "sleep 5".into()],
            timeout: Duration::from_millis(500),
        };
        let outcomes = run_after_update(&after).await;
        let summary: Vec<(String, bool)> = outcomes.iter().map(|o| (o.step.clone(), o.ok)).collect();
        assert_eq!(
            summary,
            vec![
                ("rspamd export".into(), true),
                (hooks.join("10-fails").display().to_string(), false),
                (hooks.join("20-works").display().to_string(), true),
                ("exit 0".into(), true),
                ("sleep 5".into(), false),
            ]
        );
        assert_eq!(outcomes[1].detail, "exit status 3: broken");
        assert!(outcomes[4].detail.contains("killed"), "{}", outcomes[4]);
        assert!(marker.exists());
        let ruleset = std::fs::read_to_string(dir.path().join("rspamd").join(RSPAMD_RULESET)).unwrap();
        assert!(ruleset.contains("body ONE /one/") && ruleset.contains("score ONE 1.5"), "{ruleset}");
    }

    #[test]
    fn an_empty_rule_load_keeps_the_previous_rspamd_ruleset() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join(RSPAMD_RULESET);
        std::fs::write(&target, "previous").unwrap();
        let err = write_rspamd_ruleset(&[dir.path().join("missing")], dir.path()).unwrap_err();
        assert!(err.contains("no rules loaded"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "previous");
    }
}
