//! `mailward serve`: the daemon.
//!
//! Start-up order: data directory, store (migrations, presets), the first admin account,
//! optional demo data, then the listeners. Each listener is bound here and handed to the
//! part that serves it (`http::serve(listener, router, shutdown)`), so tests bind port 0 and
//! call the same entry points. SIGTERM or SIGINT stops every listener gracefully.

mod admin;
mod changes;
mod demo;
mod first_start;
mod http;

pub use changes::follow_changes;
pub use demo::seed_demo;
pub use first_start::ensure_admin;
pub use http::{admin_router, public_router, serve_http};

use crate::cli::Context;
use std::net::SocketAddr;
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
    if let Some(a) = args.http_listen {
        ctx.config.listen.http = a;
    }
    if let Some(a) = args.admin_listen {
        ctx.config.listen.admin = a;
    }
    if let Some(m) = &args.milter_listen {
        ctx.config.listen.milter = crate::config::MilterSocket::parse(m).map_err(|e| anyhow::anyhow!("--milter-listen: {e}"))?;
    }
    // Installed before anything is announced, so a SIGTERM right after start-up is handled.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    std::fs::create_dir_all(&ctx.config.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", ctx.config.data_dir.display()))?;
    let store = ctx.store().await?;
    outln!("mailward {}: data directory {}, database {}", env!("CARGO_PKG_VERSION"), ctx.config.data_dir.display(), crate::store::redact(&ctx.config.database_url()));
    if let Some(password) = ensure_admin(&store, std::env::var("MAILWARD_ADMIN_PASSWORD").ok()).await? {
        outln!("created administrator account 'admin'; password (shown once): {password}");
    }
    if args.demo {
        for line in seed_demo(&store).await? {
            outln!("{line}");
        }
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let public = tokio::net::TcpListener::bind(ctx.config.listen.http)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (public HTTP): {e}", ctx.config.listen.http))?;
    let admin = tokio::net::TcpListener::bind(ctx.config.listen.admin)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (admin HTTP): {e}", ctx.config.listen.admin))?;
    outln!("public HTTP (autoconfig) listening on http://{}", public.local_addr()?);
    outln!("admin HTTP (API, metrics) listening on http://{}", admin.local_addr()?);

    let (changes_tx, _changes_rx) = watch::channel(store.last_change_id().await?);
    let changes_task = tokio::spawn(follow_changes(store.clone(), std::time::Duration::from_secs(2), changes_tx, shutdown_rx.clone()));
    let public_task = tokio::spawn(serve_http(public, public_router(), shutdown_rx.clone()));
    let admin_task = tokio::spawn(serve_http(admin, admin_router(store.clone()), shutdown_rx.clone()));

    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    outln!("shutting down");
    let _ = shutdown_tx.send(true);
    public_task.await??;
    admin_task.await??;
    changes_task.await?;
    store.close().await;
    Ok(())
}
