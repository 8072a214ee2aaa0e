//! TXT lookups for channel versions and mirror lists, through hickory with an explicit name
//! server (the configured one, or the first of `/etc/resolv.conf`).

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("no name server configured and none found in /etc/resolv.conf")]
    NoServer,
    #[error("cannot build the DNS resolver: {0}")]
    Resolver(String),
    #[error("DNS lookup of {name} TXT failed: {reason}")]
    Lookup { name: String, reason: String },
}

pub struct TxtLookup {
    resolver: TokioResolver,
}

impl TxtLookup {
    /// `server`: the resolver to ask (`None`: the first `nameserver` of `/etc/resolv.conf`).
    /// `timeout` bounds each attempt; there are two attempts.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<Self, DnsError> {
        let server = match server {
            Some(s) => s,
            None => system_name_server().ok_or(DnsError::NoServer)?,
        };
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let mut ns = NameServerConfig::udp_and_tcp(server.ip());
        ns.connections = vec![udp, tcp];
        let config = ResolverConfig::from_name_servers(vec![ns]);
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 2;
        // Versions change hourly at most, but a stale cached answer would hide a new version
        // from the next hourly check inside the same long-running process.
        opts.cache_size = 0;
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| DnsError::Resolver(e.to_string()))?;
        Ok(Self { resolver })
    }

    /// The TXT strings at `name` (each record's strings joined, as sa-update joins them).
    /// An empty list when the name or the record does not exist.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let fqdn = if name.ends_with('.') { name.to_string() } else { format!("{name}.") };
        match self.resolver.lookup(fqdn.as_str(), RecordType::TXT).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(txt) => Some(txt.txt_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect::<String>()),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(DnsError::Lookup { name: name.to_string(), reason: e.to_string() }),
        }
    }
}

fn system_name_server() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == "nameserver").then_some(())?;
        let ip: IpAddr = words.next()?.split('%').next()?.parse().ok()?;
        Some(SocketAddr::new(ip, 53))
    })
}
