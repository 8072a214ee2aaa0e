//! `mailward check ...` commands. The lead's CLI dispatches `mailward check` to [`run`].

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{CheckOptions, CheckReport, check_autoconfig};
use crate::autoconfig::request::decode_address;

#[derive(Debug, clap::Subcommand)]
pub enum CheckCommand {
    /// Fetch what Thunderbird and Outlook would, in their order, and report per client what
    /// configuration it would end up with and why.
    Autoconfig {
        /// The e-mail address a user would type into the client.
        address: String,
        /// Ask this DNS server (IP:PORT) instead of the system's resolvers.
        #[arg(long, value_name = "IP:PORT")]
        resolver: Option<SocketAddr>,
        /// Port for http:// URLs (a staging server behind another port).
        #[arg(long, default_value_t = 80)]
        http_port: u16,
        /// Port for https:// URLs.
        #[arg(long, default_value_t = 443)]
        https_port: u16,
        /// Also trust this CA certificate (PEM), e.g. a staging or private CA.
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
        /// Seconds to wait for each DNS answer and HTTP request.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
}

/// Exit code 0 when every client found a configuration, 1 when one did not, 2 on bad input.
pub async fn run(command: CheckCommand, json: bool, out: &mut dyn Write) -> anyhow::Result<i32> {
    match command {
        CheckCommand::Autoconfig { address, resolver, http_port, https_port, ca_file, timeout } => {
            let address = match decode_address(&address) {
                Ok(a) => a,
                Err(e) => {
                    writeln!(out, "{e}")?;
                    return Ok(2);
                }
            };
            let options = CheckOptions { resolver, http_port, https_port, ca_file, timeout: Duration::from_secs(timeout.max(1)) };
            let report = check_autoconfig(&address, options).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                write_text(&report, out)?;
            }
            Ok(if report.all_configured() { 0 } else { 1 })
        }
    }
}

fn write_text(report: &CheckReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "autoconfig check for {}", report.address)?;
    writeln!(out, "\nDNS")?;
    for f in &report.dns {
        let answer = match (&f.error, f.answers.is_empty()) {
            (Some(e), _) => format!("no answer ({e})"),
            (None, true) => "no answer".to_string(),
            (None, false) => f.answers.join(", "),
        };
        writeln!(out, "  {:<4} {:<40} {}", f.rtype, f.name, answer)?;
    }
    for client in &report.clients {
        writeln!(out, "\n{}", client.client)?;
        for a in &client.attempts {
            writeln!(out, "  [{}] {} {}: {}", if a.accepted { "ok" } else { "--" }, a.method, a.url, a.outcome)?;
        }
        if let Some(doc) = &client.document {
            for d in &doc.diagnostics {
                writeln!(out, "  warning: {d}")?;
            }
        }
        writeln!(out, "  => {}", client.verdict)?;
    }
    Ok(())
}
