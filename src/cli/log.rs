//! `mailward log`: the change log, newest last.

use super::Context;
use crate::store::LogQuery;
use clap::Args;

#[derive(Args, Debug)]
pub struct LogArgs {
    /// How many entries (the newest).
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Only entries after this sequence number (oldest first).
    #[arg(long)]
    after: Option<i64>,
    /// Only entries about this object (address, domain, account name).
    #[arg(long)]
    object: Option<String>,
}

pub async fn run(ctx: &Context, args: LogArgs) -> anyhow::Result<i32> {
    let (control, actor) = ctx.control().await?;
    let query = LogQuery { after: args.after, limit: args.limit.clamp(1, 100_000), object: args.object, ..Default::default() };
    let entries = control.read_log(&actor, query).await?;
    if ctx.out.json {
        ctx.out.table(&entries, &[]);
        return Ok(0);
    }
    for e in entries {
        let when = time::OffsetDateTime::from_unix_timestamp(e.at)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| e.at.to_string());
        outln!("{:>6}  {when}  {:<28}  {:<16}  {}", e.id, e.actor, e.action, e.object);
    }
    Ok(0)
}
