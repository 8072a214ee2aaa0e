//! Commands whose work lives in the product's parts: `rules`, `spam`, `policy explain`,
//! `check`, `dns records`, `apply`. Here they get what they need from the store and the
//! configuration; the parts themselves never open the store.

use super::Context;
use crate::apply::{ApplyInput, ApplyPaths};
use std::io::Write;

fn stdout() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

/// `mailward rules ...`: the engine's commands and the channel updater's, side by side.
#[derive(Debug, clap::Subcommand)]
pub enum RulesNoun {
    #[command(flatten)]
    Engine(crate::rules::cli::RulesCommand),
    #[command(flatten)]
    Updates(crate::updates::cli::RulesUpdateCommand),
}

pub async fn run_rules(ctx: &Context, cmd: RulesNoun) -> anyhow::Result<i32> {
    let json = ctx.out.json;
    let cmd = match cmd {
        RulesNoun::Updates(update) => return crate::updates::cli::run(update, &ctx.config, json, &mut std::io::stdout()).await,
        RulesNoun::Engine(cmd) => cmd,
    };
    // Loading Debian's full rule set is CPU work: keep it off the async workers.
    tokio::task::spawn_blocking(move || crate::rules::cli::run(&cmd, json, &mut stdout())).await?
}

/// The policy directory built from the store, for `spam explain --for` and `policy explain`.
async fn policy_directory(ctx: &Context) -> anyhow::Result<crate::spam::PolicyDirectory> {
    let store = ctx.store().await?;
    let snapshot = store.mail_snapshot(None).await?;
    Ok(crate::views::policy_directory(&snapshot, &ctx.config.server.default_policy))
}

pub async fn run_spam(ctx: &Context, cmd: crate::spam::cli::SpamCommand) -> anyhow::Result<i32> {
    let directory = policy_directory(ctx).await?;
    crate::spam::cli::run(&cmd, ctx.out.json, &directory, &mut stdout())
}

pub async fn run_policy_explain(ctx: &Context, address: &str) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    // Explaining a mailbox's policy reads it: the same privilege as showing the mailbox.
    if let Ok(parsed) = crate::model::Address::parse(address) {
        if control.store.mailbox_by_address(parsed.as_str()).await?.is_some() {
            control.show_mailbox(&actor, parsed.as_str()).await?;
        }
    }
    let directory = policy_directory(ctx).await?;
    crate::spam::cli::run_policy_explain(address, ctx.out.json, &directory, &mut stdout())
}

pub async fn run_check(ctx: &Context, cmd: crate::check::cli::CheckCommand) -> anyhow::Result<i32> {
    crate::check::cli::run(cmd, ctx.out.json, &mut stdout()).await
}

/// `mailward dns records DOMAIN`: what the domain needs published for clients to find us.
pub async fn run_dns_records(ctx: &Context, domain: &str) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    let records = control.dns_records(&actor, domain, &ctx.config.server.public_hostname).await?;
    let text = if ctx.out.json { crate::dns::records::render_json(&records) } else { crate::dns::records::render_zone(&records) };
    write!(stdout(), "{text}")?;
    Ok(0)
}

/// Where `apply` writes, from the `[apply]` section over Debian's defaults.
pub fn apply_paths(config: &crate::config::Config) -> ApplyPaths {
    let a = &config.apply;
    let mut paths = ApplyPaths::debian_defaults();
    paths.postfix_dir = a.postfix_dir.clone();
    paths.dovecot_passwd = a.dovecot_passwd.clone();
    paths.sieve_dir = a.sieve_dir.clone();
    paths.mail_root = a.mail_root.clone();
    paths.vmail_uid = a.vmail_uid;
    paths.vmail_gid = a.vmail_gid;
    paths.passwd_gid = group_id(&a.passwd_group);
    if paths.passwd_gid.is_none() {
        tracing::warn!("group '{}' (apply.passwd_group) does not exist: the passwd-file keeps its group", a.passwd_group);
    }
    paths
}

/// A group's id from /etc/group.
fn group_id(name: &str) -> Option<u32> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then(|| fields.nth(1)?.parse().ok()).flatten()
    })
}

pub async fn run_apply(ctx: &Context, cmd: crate::apply::cli::ApplyCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let snapshot = store.mail_snapshot(Some(&ctx.config.server.name)).await?;
    let server_default = crate::views::server_default(&snapshot, &ctx.config.server.default_policy);
    let input = ApplyInput::from_snapshot(&snapshot, crate::apply::tag2_resolver(&snapshot, server_default));
    let paths = apply_paths(&ctx.config);
    let json = ctx.out.json;
    tokio::task::spawn_blocking(move || crate::apply::cli::run(&cmd, &input, &paths, json, &mut stdout())).await?
}
