//! The hourly check inside `serve`: a DNS lookup per channel, and a download only when the
//! published version moved (that is what [`update`] does when nothing is new).

use super::lint::RuleLint;
use super::update::{UpdateOptions, UpdateReport, update};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Runs [`update`] now and then every `interval` until `shutdown` completes. `after_update` is
/// called with every report in which a channel installed something (reload the milter's rules,
/// run reload hooks). Spawn it: `tokio::spawn(updates::schedule(opts, lint, HOUR, shutdown, f))`.
pub async fn schedule<F>(
    options: UpdateOptions,
    lint: Arc<dyn RuleLint>,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
    mut after_update: F,
) where
    F: FnMut(&UpdateReport) + Send,
{
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(interval);
    // A suspended machine should check once when it wakes, not catch up hour by hour.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticker.tick() => {}
        }
        let report = tokio::select! {
            _ = &mut shutdown => return,
            report = update(&options, lint.clone()) => report,
        };
        if report.updated() {
            after_update(&report);
        }
    }
}
