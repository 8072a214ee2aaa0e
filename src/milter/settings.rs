//! The milter's settings: [`RawMilterConfig`] (plain values, from the `[milter]` section of
//! `crate::config::Config` via [`MilterSettings::from_config`], or written by tests) validated
//! into [`MilterSettings`], with every error reported at once and named by key.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RawMilterConfig {
    /// `unix:/path/to/socket` or `inet:host:port`, as Postfix's `smtpd_milters` names it.
    pub listen: String,
    /// Messages larger than this are passed unscored, with a header saying so.
    pub max_message_size: usize,
    /// Scoring that takes longer ends with the failure action.
    pub scoring_timeout_ms: u64,
    /// `tempfail` (451 4.7.1, the sender retries) or `accept` (deliver unscored).
    pub failure_action: String,
    /// Upstream relays (addresses or CIDR networks) whose `X-Spam-*` headers are kept.
    pub trusted_relays: Vec<String>,
    /// Use a trusted relay's score instead of scoring again.
    pub use_trusted_scores: bool,
    /// Defer (452 4.5.3) recipients whose policy differs from the first recipient's, so that
    /// each transaction has one policy.
    pub one_policy_per_transaction: bool,
    /// Permissions of the unix socket (Postfix connects as user `postfix`).
    pub socket_mode: u32,
}

impl Default for RawMilterConfig {
    fn default() -> Self {
        RawMilterConfig {
            listen: "unix:/run/mailward/milter.sock".into(),
            max_message_size: 2 * 1024 * 1024,
            scoring_timeout_ms: 10_000,
            failure_action: "tempfail".into(),
            trusted_relays: Vec::new(),
            use_trusted_scores: false,
            one_policy_per_transaction: false,
            socket_mode: 0o660,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureAction {
    Tempfail,
    Accept,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    /// `host:port`; TCP sockets get TCP_NODELAY (without it Postfix waits ~40 ms per reply).
    Inet(String),
    Unix(PathBuf),
}

impl ListenAddress {
    pub fn parse(s: &str) -> Result<ListenAddress, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if !path.starts_with('/') {
                return Err(format!("unix socket path must be absolute: {s:?}"));
            }
            Ok(ListenAddress::Unix(PathBuf::from(path)))
        } else if let Some(addr) = s.strip_prefix("inet:") {
            // Also sendmail's `inet:port@host`.
            let addr = match addr.split_once('@') {
                Some((port, host)) => format!("{host}:{port}"),
                None => addr.to_string(),
            };
            let port = addr.rsplit_once(':').map(|(_, p)| p).unwrap_or("");
            if port.parse::<u16>().is_err() {
                return Err(format!("inet address needs host:port: {s:?}"));
            }
            Ok(ListenAddress::Inet(addr))
        } else {
            Err(format!("milter address must start with unix: or inet:, found {s:?}"))
        }
    }
}

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

#[derive(Debug, Clone)]
pub struct MilterSettings {
    pub listen: ListenAddress,
    pub max_message_size: usize,
    pub scoring_timeout: Duration,
    pub failure_action: FailureAction,
    pub trusted_relays: Vec<Network>,
    pub use_trusted_scores: bool,
    pub one_policy_per_transaction: bool,
    pub socket_mode: u32,
}

impl MilterSettings {
    /// From the daemon's validated config file.
    pub fn from_config(config: &crate::config::Config) -> Result<MilterSettings, Vec<String>> {
        let m = &config.milter;
        MilterSettings::from_raw(&RawMilterConfig {
            listen: config.listen.milter.to_string(),
            max_message_size: usize::try_from(m.max_message_bytes).unwrap_or(usize::MAX),
            scoring_timeout_ms: m.scoring_timeout_ms,
            failure_action: match m.failure_action {
                crate::config::FailureAction::Tempfail => "tempfail".into(),
                crate::config::FailureAction::Accept => "accept".into(),
            },
            trusted_relays: m.trusted_relays.clone(),
            use_trusted_scores: m.use_trusted_scores,
            one_policy_per_transaction: m.defer_mixed_policies,
            socket_mode: m.socket_mode,
        })
    }

    /// Validates every key; errors are `milter.<key>: <what is wrong>`.
    pub fn from_raw(raw: &RawMilterConfig) -> Result<MilterSettings, Vec<String>> {
        let mut errors = Vec::new();
        let listen = ListenAddress::parse(&raw.listen).map_err(|e| errors.push(format!("milter.listen: {e}"))).ok();
        let failure_action = match raw.failure_action.as_str() {
            "tempfail" => Some(FailureAction::Tempfail),
            "accept" => Some(FailureAction::Accept),
            other => {
                errors.push(format!("milter.failure_action: expected tempfail or accept, found {other:?}"));
                None
            }
        };
        let mut trusted_relays = Vec::new();
        for r in &raw.trusted_relays {
            match Network::parse(r) {
                Ok(n) => trusted_relays.push(n),
                Err(e) => errors.push(format!("milter.trusted_relays: {e}")),
            }
        }
        if raw.max_message_size == 0 {
            errors.push("milter.max_message_size: must be more than 0".into());
        }
        if raw.scoring_timeout_ms == 0 {
            errors.push("milter.scoring_timeout_ms: must be more than 0".into());
        }
        if raw.socket_mode > 0o777 {
            errors.push(format!("milter.socket_mode: {:o} is not a permission mode", raw.socket_mode));
        }
        match (listen, failure_action) {
            (Some(listen), Some(failure_action)) if errors.is_empty() => Ok(MilterSettings {
                listen,
                max_message_size: raw.max_message_size,
                scoring_timeout: Duration::from_millis(raw.scoring_timeout_ms),
                failure_action,
                trusted_relays,
                use_trusted_scores: raw.use_trusted_scores,
                one_policy_per_transaction: raw.one_policy_per_transaction,
                socket_mode: raw.socket_mode,
            }),
            _ => Err(errors),
        }
    }
}

impl Default for MilterSettings {
    fn default() -> Self {
        MilterSettings::from_raw(&RawMilterConfig::default()).expect("default milter settings are valid")
    }
}
