//! Filling an [`ApplyInput`] from the store's mail snapshot, and one apply pass from the store
//! (edge). The effective tag2 comes from `spam::policy`'s resolution, so `apply` holds no
//! second copy of the inheritance rule.

use crate::model::Mailbox;
use crate::spam::{PolicyDirectory, PolicyValues};
use crate::store::{MailSnapshot, Store, StoreError};

use super::{ApplyInput, ApplyPaths, ApplyReport, MailboxInput, Plan, write};

impl ApplyInput {
    /// The snapshot's objects with each mailbox's effective tag2 from `tag2_of`.
    pub fn from_snapshot(snapshot: &MailSnapshot, tag2_of: impl Fn(&Mailbox) -> f64) -> ApplyInput {
        ApplyInput {
            domains: snapshot.domains.clone(),
            mailboxes: snapshot
                .mailboxes
                .iter()
                .map(|c| MailboxInput { mailbox: c.mailbox.clone(), password_hash: c.password_hash.clone(), effective_tag2: tag2_of(&c.mailbox) })
                .collect(),
            aliases: snapshot.aliases.clone(),
            alias_domains: snapshot.alias_domains.clone(),
            filters: snapshot.filters.clone(),
        }
    }
}

/// The effective tag2 of each snapshot mailbox under `spam::policy`'s rule (mailbox policy over
/// domain policy over `server_default`, field by field), as the milter resolves it.
pub fn tag2_resolver(snapshot: &MailSnapshot, server_default: PolicyValues) -> impl Fn(&Mailbox) -> f64 {
    let mailboxes: Vec<Mailbox> = snapshot.mailboxes.iter().map(|c| c.mailbox.clone()).collect();
    let directory = PolicyDirectory::new(server_default, &snapshot.policies, &snapshot.domains, &snapshot.alias_domains, &mailboxes, &snapshot.aliases);
    move |m: &Mailbox| directory.effective_policy(&m.address).values().tag2
}

/// Reads the objects `node` serves and applies them: what `mailward apply` and `serve`'s
/// change-log follower call. Returns the report and the change-log id the files reflect (the
/// node's new cursor).
pub async fn apply_from_store(store: &Store, node: Option<&str>, paths: &ApplyPaths, server_default: PolicyValues) -> Result<(ApplyReport, i64), StoreError> {
    let snapshot = store.mail_snapshot(node).await?;
    let input = ApplyInput::from_snapshot(&snapshot, tag2_resolver(&snapshot, server_default));
    let plan = Plan::build(&input, paths);
    // Writing and running postmap/sievec block: keep them off the async workers.
    let paths = paths.clone();
    let report = tokio::task::spawn_blocking(move || write(&plan, &paths)).await.expect("apply writer panicked");
    Ok((report, snapshot.change_id))
}
