//! `mailward <noun> <verb>`: argument parsing, the acting account (`--as`), and output
//! (`--json` or human text). Every command exits non-zero with one line naming what was wrong.

mod accounts;
mod dns;
mod log;
mod mail;
mod output;
mod parts;
mod policy;

use crate::access::Actor;
use crate::config::{self, Config};
use crate::control::Control;
use crate::store::Store;
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub use output::Output;
pub use parts::apply_paths;

#[derive(Parser, Debug)]
#[command(name = "mailward", version, about = "Mail hosting next to Postfix and Dovecot: accounts, domains, mailboxes, spam policies, autoconfig, milter")]
pub struct Cli {
    /// Configuration file (every key is optional).
    #[arg(long, global = true, env = "MAILWARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: the embedded database and generated files.
    #[arg(long, global = true, env = "MAILWARD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Act as this account (reseller/customer/API user name, or a mailbox address), with its
    /// privileges. Default: the administrator.
    #[arg(long = "as", global = true, value_name = "ACCOUNT")]
    pub as_account: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: HTTP listeners, milter, apply, jobs.
    Serve(crate::serve::ServeArgs),
    /// Resellers: manage customers and their domains, mailboxes and DNS.
    #[command(subcommand)]
    Reseller(accounts::AccountCommand),
    /// Customers: own domains, mailboxes, aliases.
    #[command(subcommand)]
    Customer(accounts::AccountCommand),
    /// API users, limited to named functions.
    #[command(subcommand)]
    Apiuser(accounts::ApiUserCommand),
    /// Mail domains.
    #[command(subcommand)]
    Domain(mail::DomainCommand),
    /// Alias domains: every address of SOURCE delivers as the same address of TARGET.
    #[command(subcommand)]
    Aliasdomain(mail::AliasDomainCommand),
    /// Mailboxes.
    #[command(subcommand)]
    Mailbox(mail::MailboxCommand),
    /// Aliases, forwards and catch-alls (`@example.org`).
    #[command(subcommand)]
    Alias(mail::AliasCommand),
    /// A mailbox's mail filters.
    #[command(subcommand)]
    Filter(mail::FilterCommand),
    /// Spam policies (tag, tag2, kill levels).
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Mail server sets: what mail clients are told to connect to.
    #[command(subcommand)]
    Serverset(policy::ServerSetCommand),
    /// Websites: log retention and statistics (GDPR defaults).
    #[command(subcommand)]
    Site(policy::SiteCommand),
    /// DNS zones and records.
    #[command(subcommand)]
    Dns(dns::DnsCommand),
    /// The change log (audit trail).
    Log(log::LogArgs),
    /// SpamAssassin-format rules: lint, test a message, export for Rspamd, update, publish.
    #[command(subcommand)]
    Rules(parts::RulesNoun),
    /// Explain X-Spam-* headers and what a recipient's policy does with them.
    #[command(subcommand)]
    Spam(crate::spam::cli::SpamCommand),
    /// Check what mail clients would configure for an address.
    #[command(subcommand)]
    Check(crate::check::cli::CheckCommand),
    /// Write the Postfix maps, Dovecot passdb and Sieve scripts of this server; purge Junk.
    #[command(subcommand)]
    Apply(crate::apply::cli::ApplyCommand),
}

/// What every command needs: the configuration, the output mode and who acts.
pub struct Context {
    pub config: Config,
    pub out: Output,
    pub as_account: Option<String>,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Context> {
        let (path, explicit) = match &cli.config {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(config::DEFAULT_CONFIG_PATH), false),
        };
        let mut config = config::load_file(&path, explicit)?;
        if let Some(dir) = &cli.data_dir {
            config.data_dir = dir.clone();
        }
        Ok(Context { config, out: Output { json: cli.json }, as_account: cli.as_account.clone() })
    }

    /// Opens the store, creating the data directory for the embedded database.
    pub async fn store(&self) -> anyhow::Result<Store> {
        if self.config.database.url.is_none() {
            std::fs::create_dir_all(&self.config.data_dir)
                .with_context(|| format!("cannot create data directory {}", self.config.data_dir.display()))?;
        }
        Ok(Store::open(&self.config.database_url(), self.config.database.max_connections).await?)
    }

    pub async fn control(&self) -> anyhow::Result<(Control, Actor)> {
        let control = Control::new(self.store().await?);
        let actor = match &self.as_account {
            Some(name) => control.actor_named(name).await?,
            // Whoever runs the CLI on the server is its administrator.
            None => Actor::Admin { name: std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "root".into()) },
        };
        Ok((control, actor))
    }
}

/// Runs one command and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let ctx = Context::from_cli(&cli)?;
    match cli.command {
        Command::Serve(args) => crate::serve::run(ctx, args).await.map(|()| 0),
        Command::Reseller(cmd) => accounts::run(&ctx, crate::model::AccountKind::Reseller, cmd).await,
        Command::Customer(cmd) => accounts::run(&ctx, crate::model::AccountKind::Customer, cmd).await,
        Command::Apiuser(cmd) => accounts::run_api(&ctx, cmd).await,
        Command::Domain(cmd) => mail::run_domain(&ctx, cmd).await,
        Command::Aliasdomain(cmd) => mail::run_alias_domain(&ctx, cmd).await,
        Command::Mailbox(cmd) => mail::run_mailbox(&ctx, cmd).await,
        Command::Alias(cmd) => mail::run_alias(&ctx, cmd).await,
        Command::Filter(cmd) => mail::run_filter(&ctx, cmd).await,
        Command::Policy(cmd) => policy::run_policy(&ctx, cmd).await,
        Command::Serverset(cmd) => policy::run_server_set(&ctx, cmd).await,
        Command::Site(cmd) => policy::run_site(&ctx, cmd).await,
        Command::Dns(cmd) => dns::run(&ctx, cmd).await,
        Command::Log(args) => log::run(&ctx, args).await,
        Command::Rules(cmd) => parts::run_rules(&ctx, cmd).await,
        Command::Spam(cmd) => parts::run_spam(&ctx, cmd).await,
        Command::Check(cmd) => parts::run_check(&ctx, cmd).await,
        Command::Apply(cmd) => parts::run_apply(&ctx, cmd).await,
    }
}

/// A password from `--password`, from standard input (`--password-stdin`), or generated and
/// shown once.
pub(crate) fn password_input(given: Option<String>, stdin: bool) -> anyhow::Result<(String, bool)> {
    if let Some(p) = given {
        return Ok((p, false));
    }
    if stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
        let p = line.trim_end_matches(['\r', '\n']).to_string();
        return Ok((p, false));
    }
    Ok((crate::password::generate_password(), true))
}

/// Parses `yes/no/on/off/true/false`.
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "on" | "true" | "1" => Ok(true),
        "no" | "off" | "false" | "0" => Ok(false),
        _ => Err(format!("'{s}' is not yes or no")),
    }
}
