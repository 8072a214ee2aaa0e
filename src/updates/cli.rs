//! `mailward rules update|publish|rollback`: argument parsing and output. The lead's CLI
//! wires [`RulesUpdateCommand`] under `mailward rules` and calls [`run`].

use super::after::{AfterUpdate, run_after_update};
use super::channel::{Channel, SaVersion};
use crate::config::Config;
use super::extract::Rewrite;
use super::install::{ChannelPaths, rollback};
use super::lint::{LintChain, RuleLint};
use super::mirrors::Mirror;
use super::publish::{PublishOptions, publish};
use super::signature;
use super::update::{ChannelOutcome, UpdateOptions, Verification, update};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum RulesUpdateCommand {
    /// Fetch new rules from sa-update channels (exit 0 updated, 1 nothing new, 3 some channels
    /// failed, 4 all failed)
    Update(UpdateArgs),
    /// Build a channel (tarball, checksums, MIRRORED.BY, TXT records) from a rule directory
    Publish(PublishArgs),
    /// Switch a channel back to the version installed before the last update
    Rollback {
        #[arg(long)]
        channel: String,
        /// Default: `rules.update_dir` from the config file
        #[arg(long)]
        updatedir: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Channel to update (repeatable); default: `updates.channels` from the config file
    #[arg(long = "channel")]
    pub channels: Vec<String>,
    /// File with one channel per line (`#` comments)
    #[arg(long)]
    pub channelfile: Option<PathBuf>,
    /// Trust the .sha512/.sha256 checksums instead of an OpenPGP signature (also
    /// `updates.nogpg`)
    #[arg(long)]
    pub nogpg: bool,
    /// OpenPGP key id to trust (repeatable)
    #[arg(long = "gpgkey")]
    pub gpgkeys: Vec<String>,
    /// Import an OpenPGP public key file into the keyring (repeatable)
    #[arg(long = "import")]
    pub import: Vec<PathBuf>,
    /// Directory of trusted OpenPGP public keys (sa-update keeps them in a GnuPG home instead);
    /// default: `updates.keyring`
    #[arg(long)]
    pub keyring: Option<PathBuf>,
    /// Only check whether a newer version exists (exit 0 if so, 1 if not)
    #[arg(long)]
    pub checkonly: bool,
    /// Where channels are installed (SpamAssassin's layout); default: `rules.update_dir`
    #[arg(long)]
    pub updatedir: Option<PathBuf>,
    /// DNS server for the TXT lookups, `IP` or `IP:PORT` (default: `updates.dns_server`, else
    /// /etc/resolv.conf)
    #[arg(long, value_parser = crate::config::parse_dns_server)]
    pub dns_server: Option<std::net::SocketAddr>,
    /// Seconds per DNS attempt
    #[arg(long, default_value_t = 5)]
    pub dns_timeout: u64,
    /// Seconds per HTTP request
    #[arg(long, default_value_t = 60)]
    pub http_timeout: u64,
    /// SpamAssassin version whose rules to fetch
    #[arg(long, default_value = "4.0.1")]
    pub sa_version: String,
    /// Fetch MIRRORED.BY again even if the cached copy is fresh
    #[arg(long)]
    pub refreshmirrors: bool,
    /// Keep loadplugin and similar lines from the channel (they load code: dangerous)
    #[arg(long)]
    pub allowplugins: bool,
    /// Skip what runs after an update (Rspamd ruleset, hooks, reload commands)
    #[arg(long)]
    pub no_after_update: bool,
}

impl UpdateArgs {
    /// `--keyring`, else `updates.keyring`.
    pub fn keyring<'a>(&'a self, config: &'a Config) -> &'a Path {
        self.keyring.as_deref().unwrap_or(&config.updates.keyring)
    }

    /// The arguments of a bare `mailward rules update`: every choice left to the config file
    /// (what the schedule inside `serve` runs).
    pub fn from_config_only() -> Self {
        #[derive(clap::Parser)]
        struct Bare {
            #[command(flatten)]
            args: UpdateArgs,
        }
        <Bare as clap::Parser>::parse_from(["update"]).args
    }
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// Directory of rule files (flat)
    pub dir: PathBuf,
    #[arg(long)]
    pub version: u64,
    #[arg(long)]
    pub out: PathBuf,
    /// Channel name, e.g. rules.example.net
    #[arg(long)]
    pub channel: String,
    /// Base URL the output directory is served at, `URL` or `URL=WEIGHT` (repeatable)
    #[arg(long = "mirror", required = true)]
    pub mirrors: Vec<String>,
    /// URL of MIRRORED.BY for the mirrors TXT record (default: first mirror + /MIRRORED.BY)
    #[arg(long)]
    pub mirrored_by_url: Option<String>,
    /// SpamAssassin versions to publish a version record for (repeatable)
    #[arg(long = "sa-version", default_values = ["4.0.0", "4.0.1", "4.0.2"])]
    pub sa_versions: Vec<String>,
    #[arg(long, default_value_t = 3600)]
    pub ttl: u32,
    /// Armored, unprotected OpenPGP secret key file to sign the tarball with (writes
    /// N.tar.gz.asc and GPG.KEY, the public key to hand to users)
    #[arg(long)]
    pub sign: Option<PathBuf>,
}

/// Runs one command; the returned number is the process exit code.
/// `config` supplies every default the command line leaves open (`[updates]`,
/// `rules.update_dir`).
pub async fn run(cmd: RulesUpdateCommand, config: &Config, json: bool, out: &mut (dyn Write + Send)) -> anyhow::Result<i32> {
    match cmd {
        RulesUpdateCommand::Update(args) => run_update(args, config, json, out).await,
        RulesUpdateCommand::Publish(args) => run_publish(args, json, out),
        RulesUpdateCommand::Rollback { channel, updatedir } => {
            let updatedir = updatedir.unwrap_or_else(|| config.rules.update_dir.clone());
            let channel = Channel::new(&channel)?;
            let version = rollback(&channel, &ChannelPaths::new(&updatedir, &channel))?;
            if json {
                writeln!(out, "{}", serde_json::json!({"channel": channel.as_str(), "version": version}))?;
            } else {
                writeln!(out, "{channel}: rolled back to version {version}")?;
            }
            Ok(0)
        }
    }
}

/// The update options from the command line, with the config file's values where it is silent.
pub fn update_options(args: &UpdateArgs, config: &Config) -> anyhow::Result<UpdateOptions> {
    let mut names = args.channels.clone();
    if let Some(file) = &args.channelfile {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read channel file {}", file.display()))?;
        names.extend(text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()).map(String::from));
    }
    if names.is_empty() {
        names = config.updates.channels.clone();
    }
    let mut channels = Vec::new();
    for name in names {
        let channel = Channel::new(&name)?;
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    let sa_version = SaVersion::parse(&args.sa_version)?;
    let mut options = UpdateOptions::new(channels, args.updatedir.clone().unwrap_or_else(|| config.rules.update_dir.clone()));
    options.sa_version = sa_version;
    options.rewrite = Rewrite { allow_plugins: args.allowplugins, ..Rewrite::debian(&sa_version) };
    options.dns_server = args.dns_server.or(config.updates.dns_server);
    options.dns_timeout = Duration::from_secs(args.dns_timeout.max(1));
    options.http_timeout = Duration::from_secs(args.http_timeout.max(1));
    options.check_only = args.checkonly;
    options.refresh_mirrors = args.refreshmirrors;
    options.verification = if args.nogpg || config.updates.nogpg {
        Verification::ChecksumOnly
    } else {
        Verification::Signature { trusted: trusted_keys(args.keyring(config), &config.updates.trusted_key_files, &args.gpgkeys)? }
    };
    Ok(options)
}

/// Copies each key file, validated, into the keyring as `<FINGERPRINT>.asc`.
pub fn import_keys(keyring: &Path, files: &[PathBuf], out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("cannot read key file {}", file.display()))?;
        let keys = signature::parse_public_keys(&bytes).with_context(|| format!("key file {}", file.display()))?;
        std::fs::create_dir_all(keyring).with_context(|| format!("cannot create keyring {}", keyring.display()))?;
        for key in keys {
            let fingerprint = signature::fingerprint(&key);
            let path = keyring.join(format!("{fingerprint}.asc"));
            std::fs::write(&path, signature::armored_public_key(&key)?).with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(out, "imported key {fingerprint}")?;
        }
    }
    Ok(())
}

/// The keys of the keyring directory and of the key files that exist, narrowed to `ids` when
/// any are given. A key file that is missing is skipped (Debian's key comes with the
/// `spamassassin` package, which need not be installed); one that is unreadable is an error.
pub fn trusted_keys(keyring: &Path, key_files: &[PathBuf], ids: &[String]) -> anyhow::Result<Vec<pgp::composed::SignedPublicKey>> {
    let mut keys = Vec::new();
    for path in key_files.iter().filter(|p| p.exists()) {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read trusted key file {}", path.display()))?;
        keys.extend(signature::parse_public_keys(&bytes).with_context(|| format!("trusted key file {}", path.display()))?);
    }
    if let Ok(entries) = std::fs::read_dir(keyring) {
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "asc" || e == "gpg") {
                let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
                keys.extend(signature::parse_public_keys(&bytes).with_context(|| format!("keyring file {}", path.display()))?);
            }
        }
    }
    if !ids.is_empty() {
        keys.retain(|k| ids.iter().any(|id| signature::key_matches(k, id)));
    }
    Ok(keys)
}

async fn run_update(args: UpdateArgs, config: &Config, json: bool, out: &mut (dyn Write + Send)) -> anyhow::Result<i32> {
    import_keys(args.keyring(config), &args.import, out)?;
    let options = update_options(&args, config)?;
    let lint: Arc<dyn RuleLint> = Arc::new(LintChain::detect());
    let report = update(&options, lint).await;
    for (channel, outcome) in &report.channels {
        if json {
            let value = match outcome {
                ChannelOutcome::Updated { from, to } => serde_json::json!({"channel": channel.as_str(), "result": "updated", "from": from, "to": to}),
                ChannelOutcome::UpToDate { installed, published } => {
                    serde_json::json!({"channel": channel.as_str(), "result": "current", "installed": installed, "published": published})
                }
                ChannelOutcome::Available { installed, published } => {
                    serde_json::json!({"channel": channel.as_str(), "result": "available", "installed": installed, "published": published})
                }
                ChannelOutcome::Failed(e) => serde_json::json!({"channel": channel.as_str(), "result": "failed", "error": e.to_string()}),
            };
            writeln!(out, "{value}")?;
            continue;
        }
        let line = describe(channel, outcome);
        writeln!(out, "{line}")?;
    }
    if report.updated() && !args.no_after_update {
        let mut after = AfterUpdate::from_config(config);
        after.update_dir = options.update_dir.clone();
        for step in run_after_update(&after).await {
            if json {
                writeln!(out, "{}", serde_json::json!({"after_update": step}))?;
            } else {
                writeln!(out, "after update: {step}")?;
            }
        }
    }
    Ok(report.exit_code())
}

/// One line per channel, as `rules update` prints it and `serve` logs it.
pub fn describe(channel: &Channel, outcome: &ChannelOutcome) -> String {
    match outcome {
        ChannelOutcome::Updated { from: Some(from), to } => format!("{channel}: installed version {to} (was {from})"),
        ChannelOutcome::Updated { from: None, to } => format!("{channel}: installed version {to}"),
        ChannelOutcome::UpToDate { installed: Some(v), .. } => format!("{channel}: version {v} is current"),
        ChannelOutcome::UpToDate { installed: None, .. } => format!("{channel}: no version published for this SpamAssassin release"),
        ChannelOutcome::Available { installed, published } => match installed {
            Some(v) => format!("{channel}: version {published} available (installed {v})"),
            None => format!("{channel}: version {published} available (not installed)"),
        },
        ChannelOutcome::Failed(e) => format!("{channel}: error: {e}; installed rules left untouched"),
    }
}

fn run_publish(args: PublishArgs, json: bool, out: &mut (dyn Write + Send)) -> anyhow::Result<i32> {
    let signing_key = match &args.sign {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read signing key {}", path.display()))?),
        None => None,
    };
    let mut mirrors = Vec::new();
    for spec in &args.mirrors {
        let (url, weight) = match spec.rsplit_once('=') {
            Some((url, w)) if w.bytes().all(|b| b.is_ascii_digit()) && !w.is_empty() => {
                (url, w.parse::<u64>().with_context(|| format!("invalid mirror weight in {spec:?}"))?)
            }
            _ => (spec.as_str(), 1),
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!("invalid mirror {url:?}: expected an http:// or https:// URL");
        }
        mirrors.push(Mirror { url: url.trim_end_matches('/').to_string(), weight: weight.max(1) });
    }
    let sa_versions = args.sa_versions.iter().map(|v| SaVersion::parse(v)).collect::<Result<Vec<_>, _>>()?;
    let options = PublishOptions {
        source: args.dir,
        version: args.version,
        out: args.out,
        channel: Channel::new(&args.channel)?,
        mirrors,
        mirrored_by_url: args.mirrored_by_url,
        sa_versions,
        ttl: args.ttl,
        signing_key,
    };
    let published = publish(&options, &LintChain::detect())?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&published)?)?;
    } else {
        for file in &published.files {
            writeln!(out, "wrote {}", file.display())?;
        }
        writeln!(out, "publish these TXT records:")?;
        for r in &published.records {
            writeln!(out, "{} TXT \"{}\"", r.name, r.value)?;
        }
    }
    Ok(0)
}
