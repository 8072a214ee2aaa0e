//! Noticing that the store changed, on this node or another one sharing the database.
//!
//! The change log's newest id is polled; when it moves, subscribers (the autoconfig snapshot,
//! the milter's policy directory, apply) are woken through a `watch` channel and reload what
//! they need. Polling one indexed `MAX(id)` is cheap and works the same on all three backends,
//! where LISTEN/NOTIFY would not.

use crate::store::Store;
use std::time::Duration;
use tokio::sync::watch;

/// Runs until `shutdown` turns true; publishes each new newest change id on `tx`.
pub async fn follow_changes(store: Store, interval: Duration, tx: watch::Sender<i64>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        match store.last_change_id().await {
            Ok(id) => {
                tx.send_if_modified(|current| {
                    let moved = *current != id;
                    *current = id;
                    moved
                });
            }
            // A database hiccup: keep serving from the last snapshot and try again.
            Err(e) => tracing::warn!("cannot read the change log: {e}"),
        }
    }
}
