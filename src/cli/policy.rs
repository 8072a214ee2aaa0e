//! `mailward policy|serverset|site ...`.

use super::{parse_bool, Context};
use crate::model::{AuthMethod, Endpoint, SpamPolicy, ServerSet};
use clap::{Args, Subcommand};

/// Policy levels; an omitted value inherits from the next level (domain, server default).
#[derive(Args, Debug, Default)]
pub struct PolicyFields {
    /// Score from which X-Spam headers are added.
    #[arg(long, allow_negative_numbers = true)]
    tag: Option<f64>,
    /// Score from which a message is spam (flag, subject tag, Junk).
    #[arg(long, allow_negative_numbers = true)]
    tag2: Option<f64>,
    /// Score from which a message is refused.
    #[arg(long, allow_negative_numbers = true)]
    kill: Option<f64>,
    #[arg(long, value_parser = parse_bool)]
    modifies_subject: Option<bool>,
    #[arg(long)]
    subject_tag: Option<String>,
    #[arg(long, value_parser = parse_bool)]
    spam_lover: Option<bool>,
    #[arg(long, value_parser = parse_bool)]
    virus_lover: Option<bool>,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    Add {
        name: String,
        #[command(flatten)]
        fields: PolicyFields,
    },
    List,
    Show {
        name: String,
    },
    Set {
        name: String,
        #[command(flatten)]
        fields: PolicyFields,
    },
    Del {
        name: String,
    },
    /// Which policy values apply to ADDRESS and where each comes from (mailbox, domain, server
    /// default).
    Explain {
        address: String,
    },
}

pub async fn run_policy(ctx: &Context, cmd: PolicyCommand) -> anyhow::Result<i32> {
    if let PolicyCommand::Explain { address } = &cmd {
        return super::parts::run_policy_explain(ctx, address).await;
    }
    let (control, actor) = ctx.control().await?;
    match cmd {
        PolicyCommand::Add { name, fields: f } => {
            let p = SpamPolicy {
                id: 0,
                name,
                tag: f.tag,
                tag2: f.tag2,
                kill: f.kill,
                modifies_subject: f.modifies_subject,
                subject_tag: f.subject_tag,
                spam_lover: f.spam_lover,
                virus_lover: f.virus_lover,
                builtin: false,
            };
            let p = control.add_policy(&actor, p).await?;
            ctx.out.done(&format!("added policy {}", p.name), serde_json::json!({ "name": p.name }));
        }
        PolicyCommand::List => ctx.out.table(&control.list_policies().await?, &["name", "tag", "tag2", "kill", "modifies_subject", "spam_lover", "virus_lover"]),
        PolicyCommand::Show { name } => ctx.out.object(&control.policy_named(&name).await?),
        PolicyCommand::Set { name, fields: f } => {
            let p = control
                .update_policy(&actor, &name, |p| {
                    p.tag = f.tag.or(p.tag);
                    p.tag2 = f.tag2.or(p.tag2);
                    p.kill = f.kill.or(p.kill);
                    p.modifies_subject = f.modifies_subject.or(p.modifies_subject);
                    p.subject_tag = f.subject_tag.or(p.subject_tag.take());
                    p.spam_lover = f.spam_lover.or(p.spam_lover);
                    p.virus_lover = f.virus_lover.or(p.virus_lover);
                })
                .await?;
            ctx.out.object(&p);
        }
        PolicyCommand::Del { name } => {
            control.delete_policy(&actor, &name).await?;
            ctx.out.done(&format!("deleted policy {name}"), serde_json::json!({}));
        }
        PolicyCommand::Explain { .. } => {}
    }
    Ok(0)
}

#[derive(Args, Debug, Default)]
pub struct ServerSetFields {
    /// PROTOCOL:HOST:PORT:SECURITY, e.g. imap:mail.example.org:993:tls (repeatable, in order of
    /// preference; replaces the list on `set`).
    #[arg(long = "endpoint")]
    endpoints: Vec<String>,
    #[arg(long)]
    provider_id: Option<String>,
    #[arg(long)]
    display_name: Option<String>,
    #[arg(long)]
    display_short_name: Option<String>,
    /// The mail server node that applies its domains (default: every node).
    #[arg(long)]
    node: Option<String>,
    /// Also announce OAuth2 (listed before the password method).
    #[arg(long, value_parser = parse_bool)]
    oauth2: Option<bool>,
    #[arg(long)]
    caldav_url: Option<String>,
    #[arg(long)]
    carddav_url: Option<String>,
}

fn endpoints(specs: &[String]) -> anyhow::Result<Vec<Endpoint>> {
    specs.iter().map(|s| Endpoint::parse_spec(s).map_err(anyhow::Error::msg)).collect()
}

#[derive(Subcommand, Debug)]
pub enum ServerSetCommand {
    Add {
        name: String,
        #[command(flatten)]
        fields: ServerSetFields,
    },
    List,
    Show {
        name: String,
    },
    Set {
        name: String,
        #[command(flatten)]
        fields: ServerSetFields,
    },
    Del {
        name: String,
    },
}

pub async fn run_server_set(ctx: &Context, cmd: ServerSetCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        ServerSetCommand::Add { name, fields: f } => {
            let mut eps = endpoints(&f.endpoints)?;
            if f.oauth2 == Some(true) {
                for e in &mut eps {
                    e.auth.insert(0, AuthMethod::OAuth2);
                }
            }
            let set = ServerSet {
                id: 0,
                provider_id: f.provider_id.unwrap_or_else(|| name.clone()),
                display_name: f.display_name.unwrap_or_else(|| name.clone()),
                display_short_name: f.display_short_name.unwrap_or_else(|| name.clone()),
                name,
                node: f.node,
                endpoints: eps,
                oauth2: None,
                caldav_url: f.caldav_url,
                carddav_url: f.carddav_url,
            };
            let s = control.add_server_set(&actor, set).await?;
            ctx.out.done(&format!("added server set {}", s.name), serde_json::json!({ "name": s.name }));
        }
        ServerSetCommand::List => ctx.out.table(&control.list_server_sets(&actor).await?, &["name", "provider_id", "node"]),
        ServerSetCommand::Show { name } => ctx.out.object(&control.server_set_named(&name).await?),
        ServerSetCommand::Set { name, fields: f } => {
            let eps = if f.endpoints.is_empty() { None } else { Some(endpoints(&f.endpoints)?) };
            let s = control
                .update_server_set(&actor, &name, |s| {
                    if let Some(e) = eps {
                        s.endpoints = e;
                    }
                    if let Some(v) = f.provider_id {
                        s.provider_id = v;
                    }
                    if let Some(v) = f.display_name {
                        s.display_name = v;
                    }
                    if let Some(v) = f.display_short_name {
                        s.display_short_name = v;
                    }
                    if let Some(v) = f.node {
                        s.node = if v.is_empty() { None } else { Some(v) };
                    }
                    if let Some(v) = f.caldav_url {
                        s.caldav_url = Some(v).filter(|v| !v.is_empty());
                    }
                    if let Some(v) = f.carddav_url {
                        s.carddav_url = Some(v).filter(|v| !v.is_empty());
                    }
                    if let Some(on) = f.oauth2 {
                        for e in &mut s.endpoints {
                            e.auth.retain(|a| *a != AuthMethod::OAuth2);
                            if on {
                                e.auth.insert(0, AuthMethod::OAuth2);
                            }
                        }
                    }
                })
                .await?;
            ctx.out.object(&s);
        }
        ServerSetCommand::Del { name } => {
            control.delete_server_set(&actor, &name).await?;
            ctx.out.done(&format!("deleted server set {name}"), serde_json::json!({}));
        }
    }
    Ok(0)
}

#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    Add {
        name: String,
        #[arg(long)]
        customer: String,
        /// Days web server logs are kept (default 10, the GDPR default).
        #[arg(long)]
        log_retention: Option<i64>,
        /// Visitor statistics (off by default: they store full IP addresses).
        #[arg(long, value_parser = parse_bool, default_value = "no")]
        statistics: bool,
    },
    List,
    Set {
        name: String,
        #[arg(long)]
        log_retention: Option<i64>,
        #[arg(long, value_parser = parse_bool)]
        statistics: Option<bool>,
    },
    Del {
        name: String,
    },
}

pub async fn run_site(ctx: &Context, cmd: SiteCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        SiteCommand::Add { name, customer, log_retention, statistics } => {
            let s = control.add_site(&actor, &name, &customer, log_retention, statistics).await?;
            ctx.out.done(&format!("added site {} (logs kept {} days, statistics {})", s.name, s.log_retention_days, if s.statistics { "on" } else { "off" }), serde_json::json!({ "name": s.name }));
        }
        SiteCommand::List => ctx.out.table(&control.list_sites(&actor).await?, &["name", "customer_id", "log_retention_days", "statistics"]),
        SiteCommand::Set { name, log_retention, statistics } => {
            if log_retention.is_none() && statistics.is_none() {
                anyhow::bail!("nothing to change: give --log-retention or --statistics");
            }
            ctx.out.object(&control.update_site(&actor, &name, log_retention, statistics).await?);
        }
        SiteCommand::Del { name } => {
            control.delete_site(&actor, &name).await?;
            ctx.out.done(&format!("deleted site {name}"), serde_json::json!({}));
        }
    }
    Ok(0)
}
