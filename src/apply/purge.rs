//! Junk and Trash purging: `doveadm expunge` of messages saved into the folder longer ago than
//! the mailbox's setting. `purge_commands` is pure; `run_purge` runs them (edge).
//!
//! `savedbefore` (when the message entered the folder), not `before` (when it was received):
//! an old message moved to Junk today gets the full grace period.

use std::path::Path;
use std::process::Command;

use crate::model::Mailbox;

/// One `doveadm expunge` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeCommand {
    pub user: String,
    pub folder: &'static str,
    pub days: i64,
}

impl PurgeCommand {
    /// Arguments after `doveadm [-c config]`.
    pub fn args(&self) -> Vec<String> {
        vec!["expunge".into(), "-u".into(), self.user.clone(), "mailbox".into(), self.folder.into(), "savedbefore".into(), format!("{}d", self.days)]
    }
}

/// A command per active mailbox and folder whose setting is not 0 (= never purge).
pub fn purge_commands(mailboxes: &[Mailbox]) -> Vec<PurgeCommand> {
    let mut out = Vec::new();
    for m in mailboxes.iter().filter(|m| m.active) {
        for (folder, days) in [("Junk", m.junk_purge_days), ("Trash", m.trash_purge_days)] {
            if days > 0 {
                out.push(PurgeCommand { user: m.address.clone(), folder, days });
            }
        }
    }
    out
}

/// Runs each command; a failure (say, a user Dovecot does not know yet) is returned and the
/// others still run.
pub fn run_purge(doveadm: &Path, config: Option<&Path>, commands: &[PurgeCommand]) -> Vec<(PurgeCommand, Result<(), String>)> {
    commands
        .iter()
        .map(|c| {
            let mut cmd = Command::new(doveadm);
            if let Some(conf) = config {
                cmd.arg("-c").arg(conf);
            }
            let result = match cmd.args(c.args()).output() {
                Ok(out) if out.status.success() => Ok(()),
                Ok(out) => Err(format!("doveadm expunge for {} {} failed: {}", c.user, c.folder, String::from_utf8_lossy(&out.stderr).trim())),
                Err(e) => Err(format!("cannot run {}: {e}", doveadm.display())),
            };
            (c.clone(), result)
        })
        .collect()
}
