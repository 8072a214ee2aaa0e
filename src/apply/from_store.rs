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

/// `serve`'s apply task: applies at start, whenever `changes` (the change-log follower's newest
/// id) moves, and on every `full_pass` tick (which repairs files edited or lost behind our
/// back). Failures are logged and retried on the next wake-up; returns when `shutdown` turns
/// true. The store is read on this node's behalf (`node`), so each node of a shared database
/// follows the log with its own cursor and writes only its own files.
pub async fn follow_and_apply(
    store: Store,
    node: Option<String>,
    paths: ApplyPaths,
    server_default: PolicyValues,
    mut changes: tokio::sync::watch::Receiver<i64>,
    full_pass: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(full_pass);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // An interval's first tick is immediate; the start-up pass below takes its place.
    ticker.tick().await;
    let mut applied: Option<i64> = None;
    loop {
        match apply_from_store(&store, node.as_deref(), &paths, server_default.clone()).await {
            Ok((report, change_id)) => {
                for (path, error) in report.failures() {
                    tracing::warn!(path = %path.display(), "apply: {error}");
                }
                for d in &report.diagnostics {
                    tracing::warn!(object = %d.object, "apply: {}", d.message);
                }
                if applied != Some(change_id) || !report.written().is_empty() {
                    tracing::info!(change_id, written = report.written().len(), "apply: files up to date");
                }
                applied = Some(change_id);
            }
            Err(e) => tracing::warn!("apply: cannot read the store: {e}"),
        }
        tokio::select! {
            _ = ticker.tick() => {}
            r = changes.changed() => if r.is_err() { return },
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
