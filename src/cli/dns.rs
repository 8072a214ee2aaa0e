//! `mailward dns zone|record ...`.

use super::Context;
use crate::model::DnsRecord;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum DnsCommand {
    #[command(subcommand)]
    Zone(ZoneCommand),
    #[command(subcommand)]
    Record(RecordCommand),
    /// The records DOMAIN needs so clients and servers find it (zone syntax, or --json).
    Records { domain: String },
}

#[derive(Subcommand, Debug)]
pub enum ZoneCommand {
    Add {
        name: String,
        #[arg(long)]
        customer: String,
    },
    List,
    Del {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RecordCommand {
    /// `dns record add example.org www A 192.0.2.10`
    Add {
        zone: String,
        name: String,
        rtype: String,
        data: String,
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
    List {
        zone: String,
    },
    Del {
        zone: String,
        id: i64,
    },
}

pub async fn run(ctx: &Context, cmd: DnsCommand) -> anyhow::Result<i32> {
    if let DnsCommand::Records { domain } = &cmd {
        return super::parts::run_dns_records(ctx, domain).await;
    }
    let (control, actor) = ctx.control().await?;
    match cmd {
        DnsCommand::Records { .. } => {}
        DnsCommand::Zone(ZoneCommand::Add { name, customer }) => {
            let z = control.add_dns_zone(&actor, &name, &customer).await?;
            ctx.out.done(&format!("added DNS zone {}", z.name), serde_json::json!({ "name": z.name }));
        }
        DnsCommand::Zone(ZoneCommand::List) => ctx.out.table(&control.list_dns_zones(&actor).await?, &["name", "customer_id"]),
        DnsCommand::Zone(ZoneCommand::Del { name }) => {
            control.delete_dns_zone(&actor, &name).await?;
            ctx.out.done(&format!("deleted DNS zone {name}"), serde_json::json!({}));
        }
        DnsCommand::Record(RecordCommand::Add { zone, name, rtype, data, ttl }) => {
            let r = control.add_dns_record(&actor, &zone, DnsRecord { id: 0, zone_id: 0, name, rtype, ttl, data }).await?;
            ctx.out.done(&format!("added record {} {} {} {}", r.name, r.ttl, r.rtype, r.data), serde_json::json!({ "id": r.id }));
        }
        DnsCommand::Record(RecordCommand::List { zone }) => ctx.out.table(&control.list_dns_records(&actor, &zone).await?, &["id", "name", "ttl", "rtype", "data"]),
        DnsCommand::Record(RecordCommand::Del { zone, id }) => {
            control.delete_dns_record(&actor, &zone, id).await?;
            ctx.out.done(&format!("deleted record {id} of {zone}"), serde_json::json!({}));
        }
    }
    Ok(0)
}
