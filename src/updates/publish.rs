//! `rules publish`: a channel built from a directory of rule files, ready to serve with any
//! web server plus two kinds of TXT record, the way updates.spamassassin.org is served.
//!
//! Output directory: `N.tar.gz`, `N.tar.gz.sha512`, `N.tar.gz.sha256`, `MIRRORED.BY`, and
//! `dns-records.txt` (zone-file lines). The tarball is checked with the same extractor and
//! linter as `rules update` uses, so a channel that publishes is a channel that installs.

use super::channel::{Channel, SaVersion};
use super::extract::{ExtractError, Limits, Rewrite, RuleFile, extract, pack};
use super::install::{ChannelPaths, InstallError, install};
use super::lint::RuleLint;
use super::mirrors::{Mirror, render_mirrored_by};
use super::verify::{Algorithm, render_checksum};
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct PublishOptions {
    pub source: PathBuf,
    pub version: u64,
    pub out: PathBuf,
    pub channel: Channel,
    /// Base URLs where `out` will be served, with their weights.
    pub mirrors: Vec<Mirror>,
    /// The URL of `MIRRORED.BY` for the `mirrors.<channel>` record; default: the first
    /// mirror's `/MIRRORED.BY`.
    pub mirrored_by_url: Option<String>,
    /// SpamAssassin releases that get a version record (`<reversed>.<channel>`).
    pub sa_versions: Vec<SaVersion>,
    pub ttl: u32,
    /// An armored, unprotected OpenPGP secret key: when set, `N.tar.gz.asc` and `GPG.KEY`
    /// (its public key) are written too.
    pub signing_key: Option<Vec<u8>>,
}

/// One TXT record to publish.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TxtRecord {
    pub name: String,
    pub value: String,
}

#[derive(Debug, serde::Serialize)]
pub struct Published {
    pub files: Vec<PathBuf>,
    pub records: Vec<TxtRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{0}: channel sources must be a flat directory of files")]
    NotAFile(PathBuf),
    #[error("the channel would not install: {0}")]
    Invalid(#[from] ExtractError),
    #[error("the rules fail lint: {0}")]
    Lint(InstallError),
    #[error("at least one --mirror URL is needed")]
    NoMirrors,
    #[error(transparent)]
    Sign(#[from] super::signature::SignatureError),
    #[error("version must be a positive number")]
    BadVersion,
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PublishError + 'a {
    move |source| PublishError::Io { action, path: path.to_path_buf(), source }
}

pub fn publish(options: &PublishOptions, lint: &dyn RuleLint) -> Result<Published, PublishError> {
    if options.version == 0 {
        return Err(PublishError::BadVersion);
    }
    if options.mirrors.is_empty() {
        return Err(PublishError::NoMirrors);
    }
    let files = read_sources(&options.source)?;
    let tarball = pack(&files);
    // What `rules update` (and sa-update) will accept: same caps, same names.
    let extracted = extract(&tarball, &Limits::default(), &Rewrite::debian(&SaVersion::DEFAULT))?;

    fs::create_dir_all(&options.out).map_err(io_err("cannot create", &options.out))?;
    let lint_dir = options.out.join(".lint");
    let _ = fs::remove_dir_all(&lint_dir);
    let linted = install(&options.channel, &ChannelPaths::new(&lint_dir, &options.channel), options.version, &extracted, None, lint);
    let _ = fs::remove_dir_all(&lint_dir);
    linted.map_err(PublishError::Lint)?;

    let signed = match &options.signing_key {
        Some(key) => Some(super::signature::sign_detached(key, &tarball)?),
        None => None,
    };
    let name = format!("{}.tar.gz", options.version);
    let mut written = Vec::new();
    let mut write = |file: String, bytes: &[u8]| -> Result<(), PublishError> {
        let path = options.out.join(file);
        fs::write(&path, bytes).map_err(io_err("cannot write", &path))?;
        written.push(path);
        Ok(())
    };
    write(name.clone(), &tarball)?;
    for alg in [Algorithm::Sha512, Algorithm::Sha256] {
        write(format!("{name}.{}", alg.extension()), render_checksum(alg, &tarball, &name).as_bytes())?;
    }
    if let Some((signature, public_key)) = signed {
        write(format!("{name}.asc"), signature.as_bytes())?;
        write("GPG.KEY".into(), public_key.as_bytes())?;
    }
    write("MIRRORED.BY".into(), render_mirrored_by(&options.mirrors).as_bytes())?;
    let records = txt_records(options);
    write("dns-records.txt".into(), render_zone_lines(&records, options.ttl).as_bytes())?;
    Ok(Published { files: written, records })
}

/// The version records (one per SpamAssassin release) and the mirror-list record.
pub fn txt_records(options: &PublishOptions) -> Vec<TxtRecord> {
    let mut records: Vec<TxtRecord> = options
        .sa_versions
        .iter()
        .map(|sa| TxtRecord { name: options.channel.version_query(sa), value: options.version.to_string() })
        .collect();
    let mirrored_by =
        options.mirrored_by_url.clone().unwrap_or_else(|| format!("{}/MIRRORED.BY", options.mirrors[0].url.trim_end_matches('/')));
    records.push(TxtRecord { name: options.channel.mirrors_query(), value: mirrored_by });
    records
}

pub fn render_zone_lines(records: &[TxtRecord], ttl: u32) -> String {
    let mut out = String::from("; TXT records for this channel (BIND zone-file syntax)\n");
    for r in records {
        out.push_str(&format!("{}. {ttl} IN TXT \"{}\"\n", r.name, r.value.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    out
}

fn read_sources(dir: &Path) -> Result<Vec<RuleFile>, PublishError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("cannot read", dir))? {
        let entry = entry.map_err(io_err("cannot read", dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Editor and VCS leftovers (`.git`, `.swp`) are not part of a channel.
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let meta = fs::symlink_metadata(&path).map_err(io_err("cannot read", &path))?;
        if !meta.is_file() {
            return Err(PublishError::NotAFile(path));
        }
        let contents = fs::read(&path).map_err(io_err("cannot read", &path))?;
        files.push(RuleFile { name, contents });
    }
    Ok(files)
}
