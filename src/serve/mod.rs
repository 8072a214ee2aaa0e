//! `mailward serve`: the daemon.
//!
//! Start-up order: data directory, store (migrations, presets), the first admin account,
//! optional demo data, the rules, then the listeners. Each listener is bound here and handed to
//! the part that serves it (`serve_http(listener, router, shutdown)`, `milter::run(listener,
//! state, shutdown)`), so tests bind port 0 and call the same entry points. When the change log
//! moves (on this node or another sharing the database), `views` are rebuilt and swapped into
//! the autoconfig and milter states, and, with `apply.enabled`, the files are rewritten.
//! SIGTERM or SIGINT stops every listener gracefully.

mod admin;
mod changes;
mod demo;
mod first_start;
mod http;

pub use changes::follow_changes;
pub use demo::seed_demo;
pub use first_start::ensure_admin;
pub use http::{admin_router, public_router, serve_http};

use crate::autoconfig::{AutoconfigState, Settings as AutoconfigSettings};
use crate::cli::Context;
use crate::config::Config;
use crate::milter::{MilterListener, MilterSettings, MilterState};
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Public HTTP listener (autoconfig/autodiscover).
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,
    /// Admin HTTP listener (panel, API, metrics).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    /// Milter socket: inet:HOST:PORT or unix:/path.
    #[arg(long, value_name = "SOCKET")]
    pub milter_listen: Option<String>,
    /// Seed an example reseller, customer, domain and mailboxes (once).
    #[arg(long)]
    pub demo: bool,
}

pub async fn run(mut ctx: Context, args: ServeArgs) -> anyhow::Result<()> {
    // Installed before anything is announced, so a SIGTERM right after start-up is handled.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    if let Some(a) = args.http_listen {
        ctx.config.listen.http = a;
    }
    if let Some(a) = args.admin_listen {
        ctx.config.listen.admin = a;
    }
    if let Some(m) = &args.milter_listen {
        ctx.config.listen.milter = crate::config::MilterSocket::parse(m).map_err(|e| anyhow::anyhow!("--milter-listen: {e}"))?;
    }
    let config = ctx.config.clone();
    let milter_settings = MilterSettings::from_config(&config).map_err(|errors| anyhow::anyhow!("milter settings: {}", errors.join("; ")))?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", config.data_dir.display()))?;
    let store = ctx.store().await?;
    outln!("mailward {}: data directory {}, database {}", env!("CARGO_PKG_VERSION"), config.data_dir.display(), crate::store::redact(&config.database_url()));
    if let Some(password) = ensure_admin(&store, std::env::var("MAILWARD_ADMIN_PASSWORD").ok()).await? {
        outln!("created administrator account 'admin'; password (shown once): {password}");
    }
    if args.demo {
        for line in seed_demo(&store).await? {
            outln!("{line}");
        }
    }

    // The views every request and message is answered from.
    let snapshot = store.mail_snapshot(None).await?;
    let autoconfig = AutoconfigState::new(AutoconfigSettings::from_config(&config), crate::autoconfig::Snapshot::from_mail_snapshot(&snapshot));
    let loader = crate::milter::rule_loader(config.rules.paths.clone(), config.rules.update_dir.clone());
    let scorer = match tokio::task::spawn_blocking({
        let loader = loader.clone();
        move || loader()
    })
    .await?
    {
        Ok(scorer) => scorer,
        Err(e) => {
            outln!("warning: {e}; the milter scores nothing until rules are installed (SIGHUP reloads)");
            Arc::new(crate::milter::NoRules) as Arc<dyn crate::milter::Scorer>
        }
    };
    let milter = MilterState::new(milter_settings, scorer, crate::views::policy_directory(&snapshot, &config.server.default_policy));

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let public = tokio::net::TcpListener::bind(config.listen.http)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (public HTTP): {e}", config.listen.http))?;
    let admin = tokio::net::TcpListener::bind(config.listen.admin)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (admin HTTP): {e}", config.listen.admin))?;
    let milter_listener = MilterListener::bind(milter.settings())
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (milter): {e}", config.listen.milter))?;
    outln!("public HTTP (autoconfig) listening on http://{}", public.local_addr()?);
    outln!("admin HTTP (API, metrics) listening on http://{}", admin.local_addr()?);
    outln!("milter listening on {}", milter_listener.local_addr().map(|a| format!("inet:{a}")).unwrap_or_else(|| config.listen.milter.to_string()));

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(async_io(serve_http(public, public_router(autoconfig.clone()), shutdown_rx.clone())));
    tasks.spawn(async_io(serve_http(admin, admin_router(store.clone(), config.server.public_hostname.clone()), shutdown_rx.clone())));
    tasks.spawn(async_io(crate::milter::run(milter_listener, milter.clone(), stopped(shutdown_rx.clone()))));
    let sighup = crate::milter::reload_on_sighup(milter.clone(), loader.clone())?;
    let mut watched = config.rules.paths.clone();
    watched.push(config.rules.update_dir.clone());
    let rule_watch = crate::milter::reload_on_rule_change(milter.clone(), loader.clone(), watched, std::time::Duration::from_secs(10));
    // These two run until shutdown; they hold no resource that needs a clean stop.
    let background = tokio::spawn(async move {
        tokio::join!(sighup, rule_watch);
    });

    let (changes_tx, changes_rx) = watch::channel(snapshot.change_id);
    let refresher = tokio::spawn(refresh_views(store.clone(), config.clone(), autoconfig, milter.clone(), changes_rx.clone()));
    if config.apply.enabled {
        let server_default = crate::views::server_default(&snapshot, &config.server.default_policy);
        let full_pass = std::time::Duration::from_secs(config.apply.full_pass_interval_secs);
        let apply = crate::apply::follow_and_apply(store.clone(), Some(config.server.name.clone()), crate::cli::apply_paths(&config), server_default, changes_rx, full_pass, shutdown_rx.clone());
        tasks.spawn(async move {
            apply.await;
            Ok(())
        });
        outln!("applying changes for node '{}' to {}", config.server.name, config.apply.postfix_dir.display());
    }
    if config.updates.enabled {
        tasks.spawn(update_rules_on_schedule(config.clone(), milter.clone(), loader, shutdown_rx.clone()));
        outln!("checking rule channels {} every {} s", config.updates.channels.join(", "), config.updates.interval_secs);
    }
    tasks.spawn(async move {
        follow_changes(store, std::time::Duration::from_secs(2), changes_tx, shutdown_rx).await;
        Ok(())
    });

    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        Some(result) = tasks.join_next() => {
            // A listener ended on its own: that is an error worth stopping for.
            result??;
        }
    }
    outln!("shutting down");
    let _ = shutdown_tx.send(true);
    background.abort();
    refresher.abort();
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

async fn async_io(f: impl std::future::Future<Output = std::io::Result<()>>) -> anyhow::Result<()> {
    Ok(f.await?)
}

async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The hourly channel check (`[updates]`): after an update the milter reloads its rules at
/// once, then the Rspamd ruleset, hooks and reload commands run. A configuration the updater
/// cannot use (an unreadable key file) is logged and the schedule is not started: mail flow
/// matters more than rule freshness.
async fn update_rules_on_schedule(config: Config, milter: Arc<MilterState>, loader: crate::milter::ScorerLoader, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let args = crate::updates::cli::UpdateArgs::from_config_only();
    let options = match crate::updates::cli::update_options(&args, &config) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("rule updates are off: {e:#}");
            return Ok(());
        }
    };
    let lint: Arc<dyn crate::updates::lint::RuleLint> = Arc::new(crate::updates::lint::LintChain::detect());
    let after = crate::updates::after::AfterUpdate::from_config(&config);
    let interval = std::time::Duration::from_secs(config.updates.interval_secs);
    crate::updates::schedule(options, lint, interval, stopped(shutdown), move |report| {
        for (channel, outcome) in &report.channels {
            tracing::info!("rule update: {}", crate::updates::cli::describe(channel, outcome));
        }
        let (milter, loader, after) = (milter.clone(), loader.clone(), after.clone());
        tokio::spawn(async move {
            crate::milter::server::reload(&milter, &loader, "rule update").await;
            for step in crate::updates::after::run_after_update(&after).await {
                if step.ok { tracing::info!("after rule update: {step}") } else { tracing::warn!("after rule update: {step}") }
            }
        });
    })
    .await;
    Ok(())
}

/// Rebuilds the views when the change log moves.
async fn refresh_views(store: Store, config: Config, autoconfig: Arc<AutoconfigState>, milter: Arc<MilterState>, mut changes: watch::Receiver<i64>) {
    loop {
        if changes.changed().await.is_err() {
            return;
        }
        let snapshot = match store.mail_snapshot(None).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot refresh from the store, keeping the current views: {e}");
                continue;
            }
        };
        let directory = crate::views::policy_directory(&snapshot, &config.server.default_policy);
        for d in &directory.diagnostics {
            tracing::warn!("spam policies: {d}");
        }
        autoconfig.replace_snapshot(crate::autoconfig::Snapshot::from_mail_snapshot(&snapshot));
        milter.replace_directory(directory);
    }
}
