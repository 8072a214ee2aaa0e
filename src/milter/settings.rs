//! The milter's settings: the `[milter]` section and `listen.milter` of
//! [`crate::config::Config`] (already checked key by key when the file was read), with the
//! trusted relays parsed into networks and sizes and times in the units the milter uses.

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

#[derive(Debug, Clone)]
pub struct MilterSettings {
    pub listen: MilterSocket,
    /// Messages larger than this are passed unscored, with a header saying so.
    pub max_message_size: usize,
    /// Scoring that takes longer ends with the failure action.
    pub scoring_timeout: Duration,
    pub failure_action: FailureAction,
    /// Upstream relays whose `X-Spam-*` headers are kept.
    pub trusted_relays: Vec<Network>,
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
            match Network::parse(r) {
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

impl Default for MilterSettings {
    fn default() -> Self {
        MilterSettings::from_config(&crate::config::Config::defaults()).expect("default milter settings are valid")
    }
}
