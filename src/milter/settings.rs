//! The milter's settings: the `[milter]` section and `listen.milter` of
//! [`crate::config::Config`] (already checked key by key when the file was read), with the
//! trusted relays parsed into networks and host names, and sizes and times in the units the
//! milter uses.

use std::net::IpAddr;
use std::time::Duration;

pub use crate::config::{FailureAction, MilterConfig, MilterSocket};

/// An address or CIDR network of trusted relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Network {
    pub fn parse(s: &str) -> Result<Network, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| format!("not an IP address: {s:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("bad prefix length in {s:?}"))?,
            None => max,
        };
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - self.prefix) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - self.prefix) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A trusted upstream relay, as the admin wrote it in `milter.trusted_relays`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedRelay {
    Network(Network),
    /// A host name, matched against the client name the MTA verified, never resolved here:
    /// Postfix passes at CONNECT the forward-confirmed reverse name of the client (`unknown`
    /// when the reverse and forward lookups disagree), so a sender cannot claim the name with
    /// its own PTR record, and the milter does no DNS of its own on the mail path.
    Host(String),
    /// `.example.net`: any host under that domain (Postfix's notation), verified the same way.
    Domain(String),
}

impl TrustedRelay {
    pub fn parse(s: &str) -> Result<TrustedRelay, String> {
        let s = s.trim();
        // an address, a network, or something that looks like one but is wrong: say what
        if s.contains('/') || s.contains(':') || s.parse::<IpAddr>().is_ok() || s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Network::parse(s).map(TrustedRelay::Network);
        }
        let (domain, name) = match s.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let name = host_name(name).map_err(|why| format!("not an IP address, network or host name: {s:?} {why}"))?;
        if name == "unknown" {
            // Postfix's name for every client it could not verify
            return Err("\"unknown\" is what Postfix calls every client whose name it could not verify: trusting it would trust them all".into());
        }
        Ok(if domain { TrustedRelay::Domain(name) } else { TrustedRelay::Host(name) })
    }

    /// Whether a client with this address and MTA-verified name is this relay.
    pub fn matches(&self, ip: Option<IpAddr>, verified_name: Option<&str>) -> bool {
        match self {
            TrustedRelay::Network(n) => ip.is_some_and(|ip| n.contains(ip)),
            TrustedRelay::Host(host) => verified_name.is_some_and(|name| name.trim_end_matches('.').eq_ignore_ascii_case(host)),
            TrustedRelay::Domain(domain) => verified_name.is_some_and(|name| {
                // bytes, not str slices: an MTA may pass a name that is not ASCII
                let (name, domain) = (name.trim_end_matches('.').as_bytes(), domain.as_bytes());
                name.len() > domain.len() + 1 && name[name.len() - domain.len()..].eq_ignore_ascii_case(domain) && name[name.len() - domain.len() - 1] == b'.'
            }),
        }
    }
}

/// A host name as DNS gives it (ASCII, punycode for IDN), lowercased: one label is enough
/// (`localhost`, an internal filter host), unlike the mail domains of `model::names`.
fn host_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 {
        return Err("is empty or longer than 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("has an empty label or one longer than 63 characters");
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') || label.starts_with('-') || label.ends_with('-') {
            return Err("has characters a host name cannot have");
        }
    }
    Ok(name.to_ascii_lowercase())
}

#[derive(Debug, Clone)]
pub struct MilterSettings {
    pub listen: MilterSocket,
    /// Messages larger than this are passed unscored, with a header saying so.
    pub max_message_size: usize,
    /// Scoring that takes longer ends with the failure action.
    pub scoring_timeout: Duration,
    pub failure_action: FailureAction,
    /// Upstream relays whose `X-Spam-*` headers are kept.
    pub trusted_relays: Vec<TrustedRelay>,
    /// Use a trusted relay's score instead of scoring again.
    pub use_trusted_scores: bool,
    /// Defer (452 4.5.3) recipients whose policy differs from the first recipient's.
    pub one_policy_per_transaction: bool,
    /// Permissions of the unix socket (Postfix connects as user `postfix`).
    pub socket_mode: u32,
}

impl MilterSettings {
    /// From the daemon's config file.
    pub fn from_config(config: &crate::config::Config) -> Result<MilterSettings, Vec<String>> {
        MilterSettings::new(config.listen.milter.clone(), &config.milter)
    }

    /// The config reader reports bad relays by key already; a `MilterConfig` built in code
    /// gets the same check here, every error at once.
    pub fn new(listen: MilterSocket, m: &MilterConfig) -> Result<MilterSettings, Vec<String>> {
        let mut errors = Vec::new();
        let mut trusted_relays = Vec::new();
        for (i, r) in m.trusted_relays.iter().enumerate() {
            match TrustedRelay::parse(r) {
                Ok(n) => trusted_relays.push(n),
                Err(e) => errors.push(format!("milter.trusted_relays[{i}]: {e}")),
            }
        }
        if m.max_message_bytes == 0 {
            errors.push("milter.max_message_bytes: must be more than 0".into());
        }
        if m.scoring_timeout_ms == 0 {
            errors.push("milter.scoring_timeout_ms: must be more than 0".into());
        }
        if m.socket_mode > 0o777 {
            errors.push(format!("milter.socket_mode: {:o} is not a permission mode", m.socket_mode));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(MilterSettings {
            listen,
            max_message_size: usize::try_from(m.max_message_bytes).unwrap_or(usize::MAX),
            scoring_timeout: Duration::from_millis(m.scoring_timeout_ms),
            failure_action: m.failure_action,
            trusted_relays,
            use_trusted_scores: m.use_trusted_scores,
            one_policy_per_transaction: m.defer_mixed_policies,
            socket_mode: m.socket_mode,
        })
    }
}

impl MilterSettings {
    /// Whether the connecting client is one of the trusted relays.
    pub fn trusts(&self, ip: Option<IpAddr>, verified_name: Option<&str>) -> bool {
        self.trusted_relays.iter().any(|r| r.matches(ip, verified_name))
    }
}

impl Default for MilterSettings {
    fn default() -> Self {
        MilterSettings::from_config(&crate::config::Config::defaults()).expect("default milter settings are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_relays_are_networks_or_verified_host_names() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let net = TrustedRelay::parse("10.0.0.0/8").unwrap();
        assert!(net.matches(ip("10.1.2.3"), None));
        assert!(!net.matches(ip("11.1.2.3"), Some("mx.example.net")));
        let host = TrustedRelay::parse("MX.Example.NET.").unwrap();
        assert_eq!(host, TrustedRelay::Host("mx.example.net".into()));
        assert!(host.matches(ip("192.0.2.1"), Some("mx.example.net")));
        assert!(host.matches(None, Some("MX.EXAMPLE.NET.")));
        assert!(!host.matches(ip("192.0.2.1"), Some("unknown")));
        assert!(!host.matches(ip("192.0.2.1"), Some("evil-mx.example.net")));
        let domain = TrustedRelay::parse(".example.net").unwrap();
        assert!(domain.matches(None, Some("mx1.example.net")));
        assert!(!domain.matches(None, Some("example.net")));
        assert!(!domain.matches(None, Some("badexample.net")));
        assert!(!domain.matches(None, None));
        assert!(!domain.matches(None, Some("ééxample.net")), "a non-ASCII name is compared, not sliced");
        assert!(TrustedRelay::parse("unknown").unwrap_err().contains("could not verify"));
        assert!(TrustedRelay::parse("UNKNOWN.").is_err());
        // what is refused names what was wrong
        assert!(TrustedRelay::parse("10.0.0.0/40").unwrap_err().contains("bad prefix"));
        assert!(TrustedRelay::parse("10.0.0.300").unwrap_err().contains("not an IP address"));
        assert!(TrustedRelay::parse("host name").unwrap_err().contains("not an IP address, network or host name"));
        assert!(TrustedRelay::parse("").is_err());
        assert!(TrustedRelay::parse("a..b").unwrap_err().contains("empty label"));
        assert_eq!(TrustedRelay::parse("localhost").unwrap(), TrustedRelay::Host("localhost".into()));
    }
}
