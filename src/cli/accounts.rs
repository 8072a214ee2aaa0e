//! `mailward reseller|customer|apiuser add|list|show|set|del`.

use super::{parse_bool, password_input, Context};
use crate::control::AccountUpdate;
use crate::model::{AccountKind, LimitKind, Limits};
use clap::{Args, Subcommand};

#[derive(Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Maximum customers (resellers only); -1 = unlimited.
    #[arg(long, allow_negative_numbers = true)]
    pub limit_customers: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pub limit_domains: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pub limit_mailboxes: Option<i64>,
    /// Aliases, forwards and catch-alls together.
    #[arg(long, allow_negative_numbers = true)]
    pub limit_aliases: Option<i64>,
    /// Total mailbox quota in MiB.
    #[arg(long, allow_negative_numbers = true)]
    pub limit_quota: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pub limit_dns_zones: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pub limit_dns_records: Option<i64>,
}

impl LimitArgs {
    fn pairs(&self) -> [(LimitKind, Option<i64>); 7] {
        [
            (LimitKind::Customers, self.limit_customers),
            (LimitKind::Domains, self.limit_domains),
            (LimitKind::Mailboxes, self.limit_mailboxes),
            (LimitKind::Aliases, self.limit_aliases),
            (LimitKind::QuotaMb, self.limit_quota),
            (LimitKind::DnsZones, self.limit_dns_zones),
            (LimitKind::DnsRecords, self.limit_dns_records),
        ]
    }

    pub fn any(&self) -> bool {
        self.pairs().iter().any(|(_, v)| v.is_some())
    }

    pub fn apply(&self, limits: &mut Limits) {
        for (kind, value) in self.pairs() {
            if let Some(v) = value {
                limits.set(kind, v);
            }
        }
    }
}

#[derive(Args, Debug)]
pub struct PasswordArgs {
    /// The password (visible in the process list: prefer --password-stdin). Without either,
    /// one is generated and printed once.
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    Add {
        name: String,
        /// The reseller a new customer belongs to (default: the acting reseller, or none).
        #[arg(long)]
        reseller: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    List,
    Show {
        name: String,
    },
    Set {
        name: String,
        #[arg(long, value_parser = parse_bool)]
        active: Option<bool>,
        #[command(flatten)]
        password: PasswordArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    Del {
        name: String,
    },
}

const ACCOUNT_COLUMNS: &[&str] = &["name", "kind", "active", "limits.domains", "limits.mailboxes", "limits.aliases", "limits.quota_mb"];

pub async fn run(ctx: &Context, kind: AccountKind, cmd: AccountCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        AccountCommand::Add { name, reseller, password, limits } => {
            let (pw, generated) = password_input(password.password, password.password_stdin)?;
            let mut l = Limits::UNLIMITED;
            limits.apply(&mut l);
            let account = match kind {
                AccountKind::Reseller => {
                    if reseller.is_some() {
                        anyhow::bail!("--reseller applies to customers only");
                    }
                    control.add_reseller(&actor, &name, &pw, l).await?
                }
                _ => control.add_customer(&actor, &name, reseller.as_deref(), &pw, l).await?,
            };
            let mut fields = serde_json::json!({ "name": account.name });
            let mut msg = format!("added {} {}", kind.as_str(), account.name);
            if generated {
                fields["password"] = pw.clone().into();
                msg.push_str(&format!("\npassword (shown once): {pw}"));
            }
            ctx.out.done(&msg, fields);
        }
        AccountCommand::List => ctx.out.table(&control.list_accounts(&actor, kind).await?, ACCOUNT_COLUMNS),
        AccountCommand::Show { name } => ctx.out.object(&control.show_account(&actor, kind, &name).await?),
        AccountCommand::Set { name, active, password, limits } => {
            let new_password = if password.password.is_some() || password.password_stdin {
                Some(password_input(password.password, password.password_stdin)?.0)
            } else {
                None
            };
            if active.is_none() && new_password.is_none() && !limits.any() {
                anyhow::bail!("nothing to change: give --active, --password or a --limit-* option");
            }
            let update = AccountUpdate {
                limits: if limits.any() { Some(Box::new(move |l: &mut Limits| limits.apply(l))) } else { None },
                active,
                password: new_password,
            };
            let account = control.update_account(&actor, kind, &name, update).await?;
            ctx.out.object(&account);
        }
        AccountCommand::Del { name } => {
            control.delete_account(&actor, kind, &name).await?;
            ctx.out.done(&format!("deleted {} {}", kind.as_str(), name), serde_json::json!({}));
        }
    }
    Ok(0)
}

#[derive(Subcommand, Debug)]
pub enum ApiUserCommand {
    Add {
        name: String,
        /// A function it may call (`domain.write`, `mailbox.*`, `read`, `*`); repeatable.
        #[arg(long = "function", required = true)]
        functions: Vec<String>,
        /// Confine it to this reseller's customers.
        #[arg(long)]
        reseller: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    List,
    Del {
        name: String,
    },
}

pub async fn run_api(ctx: &Context, cmd: ApiUserCommand) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    match cmd {
        ApiUserCommand::Add { name, functions, reseller, password } => {
            let (pw, generated) = password_input(password.password, password.password_stdin)?;
            let account = control.add_api_user(&actor, &name, &pw, functions, reseller.as_deref()).await?;
            let mut fields = serde_json::json!({ "name": account.name, "functions": account.api_functions });
            let mut msg = format!("added API user {}", account.name);
            if generated {
                fields["password"] = pw.clone().into();
                msg.push_str(&format!("\npassword (shown once): {pw}"));
            }
            ctx.out.done(&msg, fields);
        }
        ApiUserCommand::List => ctx.out.table(&control.list_accounts(&actor, AccountKind::Api).await?, &["name", "api_functions", "active"]),
        ApiUserCommand::Del { name } => {
            control.delete_account(&actor, AccountKind::Api, &name).await?;
            ctx.out.done(&format!("deleted API user {name}"), serde_json::json!({}));
        }
    }
    Ok(0)
}
