//! `mailward domain|aliasdomain|mailbox|alias|filter ...`.

use super::accounts::PasswordArgs;
use super::{parse_bool, password_input, Context};
use crate::control::{MailboxChange, NewMailboxInput};
use crate::model::*;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum DomainCommand {
    Add {
        name: String,
        /// The customer who owns it (default: the acting customer).
        #[arg(long)]
        customer: Option<String>,
        #[arg(long)]
        server_set: Option<String>,
        #[arg(long)]
        policy: Option<String>,
    },
    List,
    Show {
        name: String,
    },
    Set {
        name: String,
        #[arg(long, value_parser = parse_bool)]
        active: Option<bool>,
        /// A server set name, or `none`.
        #[arg(long)]
        server_set: Option<String>,
        /// A policy name, or `inherit` for the server default.
        #[arg(long)]
        policy: Option<String>,
    },
    Del {
        name: String,
    },
}

pub async fn run_domain(ctx: &Context, cmd: DomainCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        DomainCommand::Add { name, customer, server_set, policy } => {
            let d = control.add_domain(&actor, &name, customer.as_deref(), server_set.as_deref(), policy.as_deref()).await?;
            ctx.out.done(&format!("added domain {}", d.name), serde_json::json!({ "name": d.name, "id": d.id }));
        }
        DomainCommand::List => ctx.out.table(&control.list_domains(&actor).await?, &["name", "active", "customer_id", "server_set_id", "policy_id"]),
        DomainCommand::Show { name } => ctx.out.object(&control.show_domain(&actor, &name).await?),
        DomainCommand::Set { name, active, server_set, policy } => {
            if active.is_none() && server_set.is_none() && policy.is_none() {
                anyhow::bail!("nothing to change: give --active, --server-set or --policy");
            }
            let server_set = server_set.as_deref().map(|s| if s == "none" { None } else { Some(s) });
            let policy = policy.as_deref().map(|p| if p == "inherit" { None } else { Some(p) });
            ctx.out.object(&control.update_domain(&actor, &name, active, server_set, policy).await?);
        }
        DomainCommand::Del { name } => {
            control.delete_domain(&actor, &name).await?;
            ctx.out.done(&format!("deleted domain {name}"), serde_json::json!({}));
        }
    }
    Ok(0)
}

#[derive(Subcommand, Debug)]
pub enum AliasDomainCommand {
    Add { source: String, target: String },
    List,
    Del { source: String },
}

pub async fn run_alias_domain(ctx: &Context, cmd: AliasDomainCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        AliasDomainCommand::Add { source, target } => {
            let a = control.add_alias_domain(&actor, &source, &target).await?;
            ctx.out.done(&format!("added alias domain {} -> {target}", a.source), serde_json::json!({ "source": a.source }));
        }
        AliasDomainCommand::List => ctx.out.table(&control.list_alias_domains(&actor).await?, &["source", "target_domain_id", "active"]),
        AliasDomainCommand::Del { source } => {
            control.delete_alias_domain(&actor, &source).await?;
            ctx.out.done(&format!("deleted alias domain {source}"), serde_json::json!({}));
        }
    }
    Ok(0)
}

fn parse_spam_move(s: &str) -> Result<SpamMove, String> {
    SpamMove::parse(s).ok_or_else(|| format!("'{s}' is not before, after or off"))
}

/// `YYYY-MM-DD` (midnight UTC) or Unix seconds.
fn parse_date(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &format)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| format!("'{s}' is not a date (YYYY-MM-DD)"))
}

#[derive(Args, Debug, Default)]
pub struct MailboxSettings {
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Quota in MiB (0 = unlimited).
    #[arg(long, allow_negative_numbers = true)]
    quota: Option<i64>,
    /// Move spam to Junk before the user's filters, after them, or not at all.
    #[arg(long, value_parser = parse_spam_move)]
    spam_move: Option<SpamMove>,
    /// A spam policy name (`inherit` = the domain's).
    #[arg(long)]
    policy: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum MailboxCommand {
    Add {
        address: String,
        #[command(flatten)]
        password: PasswordArgs,
        #[command(flatten)]
        settings: MailboxSettings,
    },
    /// All mailboxes in your scope, or of one domain.
    List {
        #[arg(long)]
        domain: Option<String>,
    },
    Show {
        address: String,
    },
    Set {
        address: String,
        #[command(flatten)]
        password: PasswordArgs,
        #[command(flatten)]
        settings: MailboxSettings,
        #[arg(long, value_parser = parse_bool)]
        active: Option<bool>,
        /// Send a copy of every message here (repeatable); `--copy-to none` clears the list.
        #[arg(long)]
        copy_to: Vec<String>,
        /// Purge Junk after this many days (0 = never).
        #[arg(long)]
        junk_purge_days: Option<i64>,
        #[arg(long)]
        trash_purge_days: Option<i64>,
        #[arg(long, value_parser = parse_bool)]
        autoresponder: Option<bool>,
        #[arg(long)]
        autoresponder_subject: Option<String>,
        #[arg(long)]
        autoresponder_text: Option<String>,
        /// First day of the autoresponder (YYYY-MM-DD); `none` clears it.
        #[arg(long)]
        autoresponder_start: Option<String>,
        #[arg(long)]
        autoresponder_end: Option<String>,
    },
    Del {
        address: String,
    },
}

const MAILBOX_COLUMNS: &[&str] = &["address", "display_name", "quota_mb", "spam_move", "policy_id", "active"];

pub async fn run_mailbox(ctx: &Context, cmd: MailboxCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        MailboxCommand::Add { address, password, settings } => {
            let (pw, generated) = password_input(password.password, password.password_stdin)?;
            let input = NewMailboxInput {
                address,
                password: pw.clone(),
                display_name: settings.name.unwrap_or_default(),
                quota_mb: settings.quota.unwrap_or(0),
                spam_move: settings.spam_move.unwrap_or(SpamMove::Before),
                policy: settings.policy.filter(|p| p != "inherit"),
            };
            let m = control.add_mailbox(&actor, input).await?;
            let mut fields = serde_json::json!({ "address": m.address });
            let mut msg = format!("added mailbox {}", m.address);
            if generated {
                fields["password"] = pw.clone().into();
                msg.push_str(&format!("\npassword (shown once): {pw}"));
            }
            ctx.out.done(&msg, fields);
        }
        MailboxCommand::List { domain } => ctx.out.table(&control.list_mailboxes(&actor, domain.as_deref()).await?, MAILBOX_COLUMNS),
        MailboxCommand::Show { address } => ctx.out.object(&control.show_mailbox(&actor, &address).await?),
        MailboxCommand::Set {
            address,
            password,
            settings,
            active,
            copy_to,
            junk_purge_days,
            trash_purge_days,
            autoresponder,
            autoresponder_subject,
            autoresponder_text,
            autoresponder_start,
            autoresponder_end,
        } => {
            let mut change = MailboxChange {
                password: if password.password.is_some() || password.password_stdin {
                    Some(password_input(password.password, password.password_stdin)?.0)
                } else {
                    None
                },
                display_name: settings.name,
                quota_mb: settings.quota,
                active,
                copy_to: match copy_to.as_slice() {
                    [] => None,
                    [only] if only == "none" => Some(vec![]),
                    list => Some(list.to_vec()),
                },
                spam_move: settings.spam_move,
                junk_purge_days,
                trash_purge_days,
                policy: settings.policy.map(|p| if p == "inherit" { None } else { Some(p) }),
                autoresponder: None,
            };
            let touches_autoresponder = autoresponder.is_some()
                || autoresponder_subject.is_some()
                || autoresponder_text.is_some()
                || autoresponder_start.is_some()
                || autoresponder_end.is_some();
            if touches_autoresponder {
                let mut a = control.show_mailbox(&actor, &address).await?.autoresponder;
                if let Some(e) = autoresponder {
                    a.enabled = e;
                }
                if let Some(s) = autoresponder_subject {
                    a.subject = s;
                }
                if let Some(t) = autoresponder_text {
                    a.text = t;
                }
                let date = |v: Option<String>, current: Option<i64>| -> anyhow::Result<Option<i64>> {
                    Ok(match v.as_deref() {
                        None => current,
                        Some("none") => None,
                        Some(s) => Some(parse_date(s).map_err(anyhow::Error::msg)?),
                    })
                };
                a.start = date(autoresponder_start, a.start)?;
                a.end = date(autoresponder_end, a.end)?;
                change.autoresponder = Some(a);
            }
            let nothing = change.password.is_none()
                && change.display_name.is_none()
                && change.quota_mb.is_none()
                && change.active.is_none()
                && change.copy_to.is_none()
                && change.spam_move.is_none()
                && change.junk_purge_days.is_none()
                && change.trash_purge_days.is_none()
                && change.policy.is_none()
                && change.autoresponder.is_none();
            if nothing {
                anyhow::bail!("nothing to change: see `mailward mailbox set --help`");
            }
            ctx.out.object(&control.update_mailbox(&actor, &address, change).await?);
        }
        MailboxCommand::Del { address } => {
            control.delete_mailbox(&actor, &address).await?;
            ctx.out.done(&format!("deleted mailbox {address}"), serde_json::json!({}));
        }
    }
    Ok(0)
}

#[derive(Subcommand, Debug)]
pub enum AliasCommand {
    /// SOURCE is an address, or `@domain` for a catch-all.
    Add {
        source: String,
        #[arg(required = true)]
        destinations: Vec<String>,
    },
    List {
        #[arg(long)]
        domain: Option<String>,
    },
    Set {
        source: String,
        /// Replace the destinations (repeatable).
        #[arg(long = "to")]
        destinations: Vec<String>,
        #[arg(long, value_parser = parse_bool)]
        active: Option<bool>,
    },
    Del {
        source: String,
    },
}

pub async fn run_alias(ctx: &Context, cmd: AliasCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        AliasCommand::Add { source, destinations } => {
            let a = control.add_alias(&actor, &source, &destinations).await?;
            ctx.out.done(
                &format!("added {} {} -> {}", a.kind.as_str(), a.source, a.destinations.join(", ")),
                serde_json::json!({ "source": a.source, "kind": a.kind }),
            );
        }
        AliasCommand::List { domain } => ctx.out.table(&control.list_aliases(&actor, domain.as_deref()).await?, &["source", "kind", "destinations", "active"]),
        AliasCommand::Set { source, destinations, active } => {
            if destinations.is_empty() && active.is_none() {
                anyhow::bail!("nothing to change: give --to or --active");
            }
            let d = if destinations.is_empty() { None } else { Some(destinations.as_slice()) };
            ctx.out.object(&control.update_alias(&actor, &source, d, active).await?);
        }
        AliasCommand::Del { source } => {
            control.delete_alias(&actor, &source).await?;
            ctx.out.done(&format!("deleted {source}"), serde_json::json!({}));
        }
    }
    Ok(0)
}

fn enum_parser<T>(parse: fn(&str) -> Option<T>, names: &'static [&'static str]) -> impl Fn(&str) -> Result<T, String> + Clone {
    move |s: &str| parse(s).ok_or_else(|| format!("'{s}' is not one of {}", names.join(", ")))
}

#[derive(Subcommand, Debug)]
pub enum FilterCommand {
    /// Add a filter to MAILBOX: `filter add alice@example.org lists --field header --header List-Id --match contains --value announce --action move --argument Lists`.
    Add {
        mailbox: String,
        name: String,
        #[arg(long, value_parser = enum_parser(FilterField::parse, FilterField::NAMES))]
        field: FilterField,
        /// Header name when --field header.
        #[arg(long, default_value = "")]
        header: String,
        #[arg(long = "match", value_parser = enum_parser(FilterMatch::parse, FilterMatch::NAMES))]
        matching: FilterMatch,
        #[arg(long)]
        value: String,
        #[arg(long, value_parser = enum_parser(FilterAction::parse, FilterAction::NAMES))]
        action: FilterAction,
        /// Folder (move), address (forward) or reason (reject).
        #[arg(long, default_value = "")]
        argument: String,
    },
    List {
        mailbox: String,
    },
    Del {
        mailbox: String,
        name: String,
    },
}

pub async fn run_filter(ctx: &Context, cmd: FilterCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        FilterCommand::Add { mailbox, name, field, header, matching, value, action, argument } => {
            let filter = MailFilter { id: 0, mailbox_id: 0, name, field, header, matching, value, action, argument, position: 0, active: true };
            let f = control.add_filter(&actor, &mailbox, filter).await?;
            ctx.out.done(&format!("added filter {} to {mailbox}", f.name), serde_json::json!({ "name": f.name, "position": f.position }));
        }
        FilterCommand::List { mailbox } => {
            ctx.out.table(&control.list_filters(&actor, &mailbox).await?, &["position", "name", "field", "header", "matching", "value", "action", "argument"])
        }
        FilterCommand::Del { mailbox, name } => {
            control.delete_filter(&actor, &mailbox, &name).await?;
            ctx.out.done(&format!("deleted filter {name} of {mailbox}"), serde_json::json!({}));
        }
    }
    Ok(0)
}
