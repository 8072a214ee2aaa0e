//! `rules update`: for each channel, the DNS version check, the mirror list, the download, the
//! checks and the install. One channel's failure never touches another channel or the
//! installed rules of the failed one.

use super::channel::{Channel, SaVersion, announced_version};
use super::dns::{DnsError, TxtLookup};
use super::download::{DownloadError, Http};
use super::extract::{ExtractError, Limits, Rewrite, extract};
use super::install::{ChannelPaths, InstallError, current_version, install, write_file};
use super::lint::RuleLint;
use super::mirrors::{Mirror, parse_mirrored_by, try_order};
use super::verify::{self, Algorithm, VerifyError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How a downloaded tarball is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// sa-update's `--nogpg`: the `.sha512` (else `.sha256`) file from the same mirror.
    ChecksumOnly,
    /// The checksums and the detached OpenPGP signature `.asc`, made by one of these keys.
    Signature { trusted: Vec<pgp::composed::SignedPublicKey> },
}

#[derive(Clone, Debug)]
pub struct UpdateOptions {
    pub channels: Vec<Channel>,
    pub update_dir: PathBuf,
    pub sa_version: SaVersion,
    /// The DNS server to ask; `None` uses the first name server of `/etc/resolv.conf`.
    pub dns_server: Option<SocketAddr>,
    pub dns_timeout: Duration,
    pub http_timeout: Duration,
    pub verification: Verification,
    /// Only report whether a newer version exists (`--checkonly`).
    pub check_only: bool,
    pub limits: Limits,
    pub rewrite: Rewrite,
    /// How long a cached `MIRRORED.BY` is used before it is fetched again (sa-update: a week).
    pub mirrors_max_age: Duration,
    pub refresh_mirrors: bool,
}

impl UpdateOptions {
    pub fn new(channels: Vec<Channel>, update_dir: PathBuf) -> Self {
        let sa_version = SaVersion::DEFAULT;
        Self {
            channels,
            update_dir,
            sa_version,
            dns_server: None,
            dns_timeout: Duration::from_secs(5),
            http_timeout: Duration::from_secs(60),
            verification: Verification::ChecksumOnly,
            check_only: false,
            limits: Limits::default(),
            rewrite: Rewrite::debian(&sa_version),
            mirrors_max_age: Duration::from_secs(7 * 24 * 3600),
            refresh_mirrors: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Dns(#[from] DnsError),
    #[error("no TXT record at {0}: the channel does not exist or has no mirrors")]
    NoMirrorRecord(String),
    #[error("cannot fetch the mirror list: {0}")]
    MirrorList(DownloadError),
    #[error("the mirror list {0} names no http or https mirror")]
    NoMirrors(String),
    #[error("every mirror failed: {}", .0.join("; "))]
    AllMirrorsFailed(Vec<String>),
    #[error(transparent)]
    Signature(#[from] super::signature::SignatureError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error("cannot build the HTTP client: {0}")]
    Http(DownloadError),
    #[error("internal error: {0}")]
    Task(String),
}

#[derive(Debug)]
pub enum ChannelOutcome {
    Updated { from: Option<u64>, to: u64 },
    /// Nothing newer (or no version published for this SpamAssassin version).
    UpToDate { installed: Option<u64>, published: Option<u64> },
    /// `--checkonly` found a newer version.
    Available { installed: Option<u64>, published: u64 },
    Failed(UpdateError),
}

#[derive(Debug)]
pub struct UpdateReport {
    pub channels: Vec<(Channel, ChannelOutcome)>,
}

impl UpdateReport {
    /// sa-update's exit codes: 0 something new (installed, or available with `--checkonly`),
    /// 1 nothing new, 3 some channels failed, 4 all failed.
    pub fn exit_code(&self) -> i32 {
        let failed = self.channels.iter().filter(|(_, o)| matches!(o, ChannelOutcome::Failed(_))).count();
        if failed > 0 {
            return if failed == self.channels.len() { 4 } else { 3 };
        }
        let news = self.channels.iter().any(|(_, o)| matches!(o, ChannelOutcome::Updated { .. } | ChannelOutcome::Available { .. }));
        if news { 0 } else { 1 }
    }

    pub fn updated(&self) -> bool {
        self.channels.iter().any(|(_, o)| matches!(o, ChannelOutcome::Updated { .. }))
    }
}

/// Runs the update for every channel. Never fails as a whole: each channel's outcome, error
/// included, is in the report.
pub async fn update(options: &UpdateOptions, lint: Arc<dyn RuleLint>) -> UpdateReport {
    let mut report = UpdateReport { channels: Vec::new() };
    let dns = TxtLookup::new(options.dns_server, options.dns_timeout);
    let http = Http::new(options.http_timeout);
    let (dns, http) = match (dns, http) {
        (Ok(d), Ok(h)) => (d, h),
        (dns, http) => {
            for channel in &options.channels {
                let error = match (&dns, &http) {
                    (Err(e), _) => UpdateError::Dns(DnsError::Resolver(e.to_string())),
                    (_, Err(e)) => UpdateError::Http(DownloadError::Client(e.to_string())),
                    _ => unreachable!("one of the two failed"),
                };
                report.channels.push((channel.clone(), ChannelOutcome::Failed(error)));
            }
            return report;
        }
    };
    for channel in &options.channels {
        let outcome = match update_channel(options, channel, &dns, &http, lint.clone()).await {
            Ok(outcome) => outcome,
            Err(e) => ChannelOutcome::Failed(e),
        };
        match &outcome {
            ChannelOutcome::Failed(e) => tracing::warn!(channel = %channel, "rule update failed: {e}"),
            ChannelOutcome::Updated { from, to } => tracing::info!(channel = %channel, ?from, to, "rules updated"),
            _ => tracing::debug!(channel = %channel, "rules current"),
        }
        report.channels.push((channel.clone(), outcome));
    }
    report
}

async fn update_channel(
    options: &UpdateOptions,
    channel: &Channel,
    dns: &TxtLookup,
    http: &Http,
    lint: Arc<dyn RuleLint>,
) -> Result<ChannelOutcome, UpdateError> {
    let paths = ChannelPaths::new(&options.update_dir, channel);
    let installed = current_version(&paths)?;
    let answers = dns.txt(&channel.version_query(&options.sa_version)).await?;
    let published = answers.iter().filter_map(|a| announced_version(a)).max();
    let Some(published) = published else {
        // Like sa-update: no version for this SpamAssassin release is not an error as long as
        // the channel itself exists.
        if dns.txt(&channel.mirrors_query()).await?.is_empty() {
            return Err(UpdateError::NoMirrorRecord(channel.mirrors_query()));
        }
        return Ok(ChannelOutcome::UpToDate { installed, published: None });
    };
    if installed.is_some_and(|v| v >= published) {
        return Ok(ChannelOutcome::UpToDate { installed, published: Some(published) });
    }
    if options.check_only {
        return Ok(ChannelOutcome::Available { installed, published });
    }
    if let Verification::Signature { trusted } = &options.verification
        && trusted.is_empty()
    {
        return Err(super::signature::SignatureError::NoTrustedKeys.into());
    }

    let (mirrors, mirrored_by) = mirror_list(options, channel, &paths, dns, http).await?;
    let random = getrandom::u64().unwrap_or(0);
    let mut failures = Vec::new();
    let mut tarball = None;
    for mirror in try_order(&mirrors, random) {
        match fetch_verified(http, &mirror, published, &options.limits, &options.verification).await {
            Ok(bytes) => {
                tarball = Some(bytes);
                break;
            }
            Err(e) => {
                tracing::warn!(channel = %channel, mirror = %mirror.url, "mirror failed: {e}");
                failures.push(e);
            }
        }
    }
    let Some(tarball) = tarball else { return Err(UpdateError::AllMirrorsFailed(failures)) };
    let files = extract(&tarball, &options.limits, &options.rewrite)?;

    let channel_owned = channel.clone();
    tokio::task::spawn_blocking(move || install(&channel_owned, &paths, published, &files, Some(&mirrored_by), lint.as_ref()))
        .await
        .map_err(|e| UpdateError::Task(e.to_string()))??;
    Ok(ChannelOutcome::Updated { from: installed, to: published })
}

/// The tarball of `version` from one mirror, checked against the mirror's checksum file.
async fn fetch_verified(
    http: &Http,
    mirror: &Mirror,
    version: u64,
    limits: &Limits,
    verification: &Verification,
) -> Result<Vec<u8>, String> {
    let url = format!("{}/{version}.tar.gz", mirror.url);
    let tarball = http.get(&url, limits.max_compressed).await.map_err(|e| e.to_string())?;
    if let Verification::Signature { trusted } = verification {
        let asc_url = format!("{url}.asc");
        let asc = match http.get(&asc_url, 64 * 1024).await {
            Ok(asc) => asc,
            Err(e) if e.is_not_found() => return Err(super::signature::SignatureError::Missing(asc_url).to_string()),
            Err(e) => return Err(e.to_string()),
        };
        let signer = super::signature::verify_detached(trusted, &asc, &tarball, &asc_url).map_err(|e| e.to_string())?;
        tracing::info!(mirror = %mirror.url, signer, "good signature");
    }
    let mut last_missing = None;
    for algorithm in [Algorithm::Sha512, Algorithm::Sha256] {
        let sum_url = format!("{url}.{}", algorithm.extension());
        match http.get(&sum_url, 4096).await {
            Ok(sum) => {
                let text = String::from_utf8_lossy(&sum);
                return verify::check(algorithm, &text, &tarball, &sum_url).map(|()| tarball).map_err(|e: VerifyError| e.to_string());
            }
            Err(e) if e.is_not_found() => last_missing = Some(e),
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("{url}: no .sha512 or .sha256 checksum file ({})", last_missing.map(|e| e.to_string()).unwrap_or_default()))
}

/// The channel's mirrors: the cached `MIRRORED.BY` while it is fresh, else the file named by
/// the `mirrors.<channel>` TXT record (cached again). Returns the mirrors and the file's bytes.
async fn mirror_list(
    options: &UpdateOptions,
    channel: &Channel,
    paths: &ChannelPaths,
    dns: &TxtLookup,
    http: &Http,
) -> Result<(Vec<Mirror>, Vec<u8>), UpdateError> {
    let cache = paths.mirrored_by();
    if !options.refresh_mirrors
        && let Ok(meta) = std::fs::metadata(&cache)
        && meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age < options.mirrors_max_age)
        && let Ok(bytes) = std::fs::read(&cache)
    {
        let (mirrors, _) = parse_mirrored_by(&String::from_utf8_lossy(&bytes));
        if !mirrors.is_empty() {
            return Ok((mirrors, bytes));
        }
    }
    let urls = dns.txt(&channel.mirrors_query()).await?;
    if urls.is_empty() {
        return Err(UpdateError::NoMirrorRecord(channel.mirrors_query()));
    }
    let mut last_error = None;
    for url in urls {
        match http.get(url.trim(), 64 * 1024).await {
            Ok(bytes) => {
                let (mirrors, diagnostics) = parse_mirrored_by(&String::from_utf8_lossy(&bytes));
                for d in diagnostics {
                    tracing::info!(channel = %channel, "{url}:{}: {}", d.line, d.message);
                }
                if mirrors.is_empty() {
                    last_error = Some(UpdateError::NoMirrors(url));
                    continue;
                }
                std::fs::create_dir_all(&paths.update_dir)
                    .map_err(|source| InstallError::Io { action: "cannot create", path: paths.update_dir.clone(), source })?;
                write_file(&cache, &bytes)?;
                return Ok((mirrors, bytes));
            }
            Err(e) => last_error = Some(UpdateError::MirrorList(e)),
        }
    }
    Err(last_error.unwrap_or_else(|| UpdateError::NoMirrorRecord(channel.mirrors_query())))
}
