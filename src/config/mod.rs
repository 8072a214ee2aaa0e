//! The configuration file: `/etc/mailward/mailward.toml` by default; every key optional.
//!
//! Two stages: the TOML text is parsed into a table, then `Config::from_table` reads each known
//! key into a typed value. Every problem (wrong type, bad value, unknown key) is collected with
//! its dotted key, and all of them are reported together, so an admin fixes a file in one pass.
//! Reading the file is the caller's business (`load_file`); parsing is pure.

mod reader;

use reader::Reader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG_PATH: &str = "/etc/mailward/mailward.toml";
pub const DEFAULT_DATA_DIR: &str = "/var/lib/mailward";

/// One problem in the configuration, with the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config file {path} has {} problem(s):\n{}", .problems.len(), .problems.iter().map(|p| format!("  {}: {}", p.key, p.message)).collect::<Vec<_>>().join("\n"))]
    Invalid { path: PathBuf, problems: Vec<ConfigProblem> },
}

/// Where the milter listens, as Postfix's `smtpd_milters` spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MilterSocket {
    Inet(SocketAddr),
    Unix(PathBuf),
}

impl MilterSocket {
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path".into());
            }
            return Ok(MilterSocket::Unix(PathBuf::from(path)));
        }
        let addr = s.strip_prefix("inet:").ok_or_else(|| format!("'{s}' must start with inet: or unix:"))?;
        // Postfix also writes inet:port@host; accept both orders.
        let addr = match addr.split_once('@') {
            Some((port, host)) => format!("{host}:{port}"),
            None => addr.to_string(),
        };
        addr.parse().map(MilterSocket::Inet).map_err(|_| format!("'{s}' is not inet:HOST:PORT"))
    }
}

impl std::fmt::Display for MilterSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MilterSocket::Inet(a) => write!(f, "inet:{a}"),
            MilterSocket::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureAction {
    Tempfail,
    Accept,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Holds the embedded database and everything mailward generates.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub listen: ListenConfig,
    pub log: LogConfig,
    pub milter: MilterConfig,
    pub rules: RulesConfig,
    pub autoconfig: AutoconfigConfig,
    pub apply: ApplyConfig,
    pub updates: UpdatesConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// This node's name in a multi-server setup; server sets name the node that applies them.
    pub name: String,
    /// The hostname clients reach this server under (AutodiscoverV1 answers, DNS records).
    pub public_hostname: String,
    /// Spam policy (by name) for addresses whose mailbox and domain have none.
    pub default_policy: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseConfig {
    /// `sqlite://...`, `postgres://...` or `mysql://...`; `None` = `<data_dir>/mailward.db`.
    pub url: Option<String>,
    pub max_connections: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListenConfig {
    pub http: SocketAddr,
    pub admin: SocketAddr,
    pub milter: MilterSocket,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// tracing filter, e.g. `info` or `mailward=debug`.
    pub level: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MilterConfig {
    /// Larger messages are passed unscored with a header saying so.
    pub max_message_bytes: u64,
    pub scoring_timeout_ms: u64,
    pub failure_action: FailureAction,
    /// Relays whose X-Spam-* headers are kept (and may be used instead of our score).
    pub trusted_relays: Vec<String>,
    /// Use a trusted relay's `X-Spam-Score` instead of scoring the message again.
    pub use_trusted_scores: bool,
    /// Permission bits of a `unix:` milter socket (Postfix connects as user `postfix`).
    pub socket_mode: u32,
    /// Defer (452 4.5.3) recipients whose policy differs from the first recipient's.
    pub defer_mixed_policies: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RulesConfig {
    /// Rule files or directories, loaded in order.
    pub paths: Vec<PathBuf>,
    /// Where `rules update` installs channels (SpamAssassin's layout).
    pub update_dir: PathBuf,
}

/// `[updates]`: the hourly sa-update channel check inside `serve`, and what runs after new
/// rules are installed (by `serve` or by `mailward rules update`).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatesConfig {
    /// Let `serve` check the channels every `interval_secs` (a DNS lookup; a download only when
    /// a channel published a new version).
    pub enabled: bool,
    pub interval_secs: u64,
    pub channels: Vec<String>,
    /// Trust the published checksums instead of requiring an OpenPGP signature.
    pub nogpg: bool,
    /// Directory of trusted OpenPGP public keys (`mailward rules update --import` adds to it).
    pub keyring: PathBuf,
    /// Key files trusted besides the keyring (Debian ships the ASF key for the default channel).
    pub trusted_key_files: Vec<PathBuf>,
    /// DNS server for the version lookups; `None` uses /etc/resolv.conf.
    pub dns_server: Option<SocketAddr>,
    /// Where the flattened ruleset for Rspamd's spamassassin module is written (`sa_ruleset`);
    /// `None` writes none.
    pub rspamd_dir: Option<PathBuf>,
    /// Executables run in name order after an update, as Debian's sa-update cron runs them.
    pub hooks_dir: Option<PathBuf>,
    /// Shell commands run after an update (`systemctl reload rspamd`, ...).
    pub reload_commands: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AutoconfigConfig {
    /// Answer only for addresses that exist (allows user enumeration; off by default).
    pub only_existing_addresses: bool,
    pub rate_limit_per_minute: u32,
    pub sign_cert: Option<PathBuf>,
    pub sign_key: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApplyConfig {
    /// `serve` applies every change and runs a periodic full pass. Off by default so that a
    /// zero-configuration `serve` writes nothing outside its data directory.
    pub enabled: bool,
    pub postfix_dir: PathBuf,
    /// Dovecot's passdb/userdb passwd-file.
    pub dovecot_passwd: PathBuf,
    /// Mailbox homes are `<mail_root>/<domain>/<local>`.
    pub mail_root: PathBuf,
    /// The uid/gid Dovecot delivers and reads mail as (Debian: a `vmail` user you create).
    pub vmail_uid: u32,
    pub vmail_gid: u32,
    /// The group that may read the passwd-file (Dovecot's auth process runs in it).
    pub passwd_group: String,
    pub sieve_dir: PathBuf,
    pub full_pass_interval_secs: u64,
}

impl Config {
    /// The configuration with no file at all.
    pub fn defaults() -> Config {
        Config::from_toml_str("").expect("the empty configuration is valid")
    }

    pub fn from_toml_str(text: &str) -> Result<Config, Vec<ConfigProblem>> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            vec![ConfigProblem { key: "(file)".into(), message: e.message().to_string() }]
        })?;
        Config::from_table(table)
    }

    pub fn from_table(table: toml::Table) -> Result<Config, Vec<ConfigProblem>> {
        let mut r = Reader::new(table);
        let data_dir = r.path("data_dir", DEFAULT_DATA_DIR);
        let default_name = "localhost".to_string();
        let config = Config {
            server: ServerConfig {
                name: r.string("server.name", &default_name),
                public_hostname: r.string("server.public_hostname", "localhost"),
                default_policy: r.string("server.default_policy", "Normal"),
            },
            database: DatabaseConfig {
                url: r.optional_string("database.url").filter(|u| !u.is_empty()),
                max_connections: r.u32_in("database.max_connections", 5, 1..=1000),
            },
            listen: ListenConfig {
                http: r.socket_addr("listen.http", "127.0.0.1:8080"),
                admin: r.socket_addr("listen.admin", "127.0.0.1:8081"),
                milter: r.parsed("listen.milter", "inet:127.0.0.1:8891", MilterSocket::parse),
            },
            log: LogConfig { level: r.string("log.level", "info") },
            milter: MilterConfig {
                max_message_bytes: r.u64_in("milter.max_message_bytes", 10 * 1024 * 1024, 1024..=1024 * 1024 * 1024),
                scoring_timeout_ms: r.u64_in("milter.scoring_timeout_ms", 5000, 10..=600_000),
                failure_action: r.parsed("milter.failure_action", "tempfail", |s| match s {
                    "tempfail" => Ok(FailureAction::Tempfail),
                    "accept" => Ok(FailureAction::Accept),
                    _ => Err("must be tempfail or accept".into()),
                }),
                trusted_relays: r.string_list("milter.trusted_relays"),
                use_trusted_scores: r.bool("milter.use_trusted_scores", false),
                socket_mode: r.parsed("milter.socket_mode", "0660", parse_mode),
                defer_mixed_policies: r.bool("milter.defer_mixed_policies", false),
            },
            rules: RulesConfig {
                paths: r.path_list("rules.paths", &["/usr/share/spamassassin", "/etc/mailward/rules"]),
                update_dir: r.path("rules.update_dir", "/var/lib/spamassassin/4.000001"),
            },
            autoconfig: AutoconfigConfig {
                only_existing_addresses: r.bool("autoconfig.only_existing_addresses", false),
                rate_limit_per_minute: r.u32_in("autoconfig.rate_limit_per_minute", 120, 1..=1_000_000),
                sign_cert: r.optional_path("autoconfig.sign_cert"),
                sign_key: r.optional_path("autoconfig.sign_key"),
            },
            apply: ApplyConfig {
                enabled: r.bool("apply.enabled", false),
                postfix_dir: r.path("apply.postfix_dir", "/etc/postfix/mailward"),
                dovecot_passwd: r.path("apply.dovecot_passwd", "/etc/dovecot/mailward.passwd"),
                mail_root: r.path("apply.mail_root", "/var/vmail"),
                vmail_uid: r.u32_in("apply.vmail_uid", 5000, 1..=4_000_000_000),
                vmail_gid: r.u32_in("apply.vmail_gid", 5000, 1..=4_000_000_000),
                passwd_group: r.string("apply.passwd_group", "dovecot"),
                sieve_dir: r.path("apply.sieve_dir", "/var/lib/mailward/sieve"),
                full_pass_interval_secs: r.u64_in("apply.full_pass_interval_secs", 3600, 10..=604_800),
            },
            updates: UpdatesConfig {
                enabled: r.bool("updates.enabled", true),
                interval_secs: r.u64_in("updates.interval_secs", 3600, 60..=604_800),
                channels: r.string_list_or("updates.channels", &["updates.spamassassin.org"]),
                nogpg: r.bool("updates.nogpg", false),
                keyring: r.path("updates.keyring", "/etc/mailward/update-keys"),
                trusted_key_files: r.path_list("updates.trusted_key_files", &["/usr/share/spamassassin/GPG.KEY"]),
                dns_server: r.optional_string("updates.dns_server").filter(|s| !s.is_empty()).and_then(|s| match parse_dns_server(&s) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        r.problem("updates.dns_server", e);
                        None
                    }
                }),
                // an empty string turns the step off
                rspamd_dir: Some(r.path("updates.rspamd_dir", "/var/lib/spamassassin/rspamd")).filter(|p| !p.as_os_str().is_empty()),
                hooks_dir: Some(r.path("updates.hooks_dir", "/etc/spamassassin/sa-update-hooks.d")).filter(|p| !p.as_os_str().is_empty()),
                reload_commands: r.string_list("updates.reload_commands"),
            },
            data_dir,
        };
        for (i, relay) in config.milter.trusted_relays.iter().enumerate() {
            if let Err(e) = crate::milter::settings::TrustedRelay::parse(relay) {
                r.problem(&format!("milter.trusted_relays[{i}]"), e);
            }
        }
        for (i, channel) in config.updates.channels.iter().enumerate() {
            if let Err(e) = crate::updates::channel::Channel::new(channel) {
                r.problem(&format!("updates.channels[{i}]"), e.to_string());
            }
        }
        if config.autoconfig.sign_cert.is_some() != config.autoconfig.sign_key.is_some() {
            r.problem("autoconfig.sign_key", "sign_cert and sign_key must be set together");
        }
        r.finish().map(|()| config)
    }

    /// The database URL, defaulting to the embedded SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("mailward.db").display()),
        }
    }
}

impl Default for MilterConfig {
    /// The defaults of the config file (for code that builds a milter without one).
    fn default() -> Self {
        Config::defaults().milter
    }
}

/// `0660` (octal, as chmod takes it) -> 0o660.
fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o777).ok_or_else(|| format!("'{s}' is not an octal permission mode like \"0660\""))
}

/// `IP` or `IP:PORT` (port 53 by default).
pub fn parse_dns_server(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("'{text}' is not a DNS server address: expected IP or IP:PORT"))
}

/// Reads the config file. A missing file at the default path is not an error (every key has a
/// default); a missing file that was asked for explicitly is.
pub fn load_file(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(Config::defaults()),
        Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }),
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax { path: path.to_path_buf(), message: e.to_string().trim().to_string() })?;
    Config::from_table(table).map_err(|problems| ConfigError::Invalid { path: path.to_path_buf(), problems })
}

#[cfg(test)]
mod tests;
