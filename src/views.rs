//! Views derived from one `store::MailSnapshot`: the milter's policy directory and the server's
//! default policy (the autoconfig snapshot is `autoconfig::Snapshot::from_mail_snapshot`, the
//! apply input `ApplyInput::from_snapshot`). The daemon rebuilds them when the change log moves; the
//! CLI builds them once. Pure functions over plain data: the store read happens at the caller.

use crate::spam::{PolicyDirectory, PolicyValues};
use crate::store::MailSnapshot;

/// The directory every recipient's policy is resolved from. `default_policy` names the
/// server's default (`server.default_policy`); a name that does not exist falls back to the
/// built-in default, and the diagnostic says so.
pub fn policy_directory(snapshot: &MailSnapshot, default_policy: &str) -> PolicyDirectory {
    let default = snapshot.policies.iter().find(|p| p.name == default_policy);
    let values = server_default(snapshot, default_policy);
    let mailboxes: Vec<_> = snapshot.mailboxes.iter().map(|m| m.mailbox.clone()).collect();
    let mut directory = PolicyDirectory::new(values, &snapshot.policies, &snapshot.domains, &snapshot.alias_domains, &mailboxes, &snapshot.aliases);
    if default.is_none() {
        directory.diagnostics.push(format!("server.default_policy '{default_policy}' is not a policy: using the built-in default levels"));
    }
    directory
}

/// The values of the server's default policy (`server.default_policy`), or the built-in
/// default when no policy has that name.
pub fn server_default(snapshot: &MailSnapshot, default_policy: &str) -> PolicyValues {
    snapshot.policies.iter().find(|p| p.name == default_policy).map(PolicyValues::from_policy).unwrap_or_default()
}
