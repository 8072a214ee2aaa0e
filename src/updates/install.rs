//! Installing a channel in SpamAssassin's layout, with an atomic swap and the previous version
//! kept for rollback.
//!
//! Layout under the update directory (what SpamAssassin reads, plus two hidden version dirs):
//!
//! ```text
//! <dir>.cf            # UPDATE version N, then `include <dir>/<file>.cf` lines (sorted)
//! <dir>.pre           `include <dir>/<file>.pre` lines, only when the channel has .pre files
//! <dir> -> .<dir>.vN  symbolic link to the installed version
//! .<dir>.vN/          the rule files of version N (and a copy of MIRRORED.BY)
//! .<dir>.vM/          the previous version, kept for `rollback`
//! .<dir>.MIRRORED.BY  the cached mirror list
//! ```
//!
//! SpamAssassin reads only `*.cf`/`*.pre` at the top of the update directory, so the hidden
//! directories are invisible to it. The new version is fully written and linted in a hidden
//! staging directory first; the switch is one `rename` of the symbolic link, then one `rename`
//! of `<dir>.cf` (and `.pre`). Between those two renames a reader sees the new files with the
//! old include list; everything else is all-old or all-new. A failure before the switch leaves
//! the installed channel untouched.

use super::channel::{Channel, include_files, installed_version};
use super::extract::RuleFile;
use super::lint::{LintError, RuleLint};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: io::Error },
    #[error("lint failed, installed rules left untouched: {0}")]
    Lint(#[from] LintError),
    #[error("channel {0} has no previous version to roll back to")]
    NoPrevious(String),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> InstallError + 'a {
    move |source| InstallError::Io { action, path: path.to_path_buf(), source }
}

/// Paths of one channel inside an update directory.
#[derive(Clone, Debug)]
pub struct ChannelPaths {
    pub update_dir: PathBuf,
    pub dir_name: String,
}

impl ChannelPaths {
    pub fn new(update_dir: &Path, channel: &Channel) -> Self {
        Self { update_dir: update_dir.to_path_buf(), dir_name: channel.dir_name() }
    }
    pub fn cf(&self) -> PathBuf {
        self.update_dir.join(format!("{}.cf", self.dir_name))
    }
    pub fn pre(&self) -> PathBuf {
        self.update_dir.join(format!("{}.pre", self.dir_name))
    }
    pub fn link(&self) -> PathBuf {
        self.update_dir.join(&self.dir_name)
    }
    pub fn version_dir_name(&self, version: u64) -> String {
        format!(".{}.v{version}", self.dir_name)
    }
    pub fn mirrored_by(&self) -> PathBuf {
        self.update_dir.join(format!(".{}.MIRRORED.BY", self.dir_name))
    }
    fn staging(&self) -> PathBuf {
        self.update_dir.join(format!(".{}.staging", self.dir_name))
    }
}

/// The version in the installed `<channel>.cf`, or `None` when the channel is not installed.
pub fn current_version(paths: &ChannelPaths) -> Result<Option<u64>, InstallError> {
    match fs::read(paths.cf()) {
        Ok(bytes) => Ok(installed_version(&String::from_utf8_lossy(&bytes))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InstallError::Io { action: "cannot read", path: paths.cf(), source: e }),
    }
}

/// Writes `files` as version `version` of the channel, lints it with `lint`, then switches to
/// it. `mirrored_by` is copied into the channel directory as sa-update keeps it there.
pub fn install(
    channel: &Channel,
    paths: &ChannelPaths,
    version: u64,
    files: &[RuleFile],
    mirrored_by: Option<&[u8]>,
    lint: &dyn RuleLint,
) -> Result<(), InstallError> {
    fs::create_dir_all(&paths.update_dir).map_err(io_err("cannot create", &paths.update_dir))?;
    let staging = paths.staging();
    remove_dir_if_exists(&staging)?;
    let result = stage_and_switch(channel, paths, version, files, mirrored_by, lint, &staging);
    // The staging area never outlives the attempt, whatever happened.
    let _ = fs::remove_dir_all(&staging);
    result
}

fn stage_and_switch(
    channel: &Channel,
    paths: &ChannelPaths,
    version: u64,
    files: &[RuleFile],
    mirrored_by: Option<&[u8]>,
    lint: &dyn RuleLint,
    staging: &Path,
) -> Result<(), InstallError> {
    // The staging area is itself a one-channel update directory, so the linters read exactly
    // what SpamAssassin will read.
    let staged_rules = staging.join(&paths.dir_name);
    fs::create_dir_all(&staged_rules).map_err(io_err("cannot create", &staged_rules))?;
    for file in files {
        let path = staged_rules.join(&file.name);
        fs::write(&path, &file.contents).map_err(io_err("cannot write", &path))?;
    }
    if let Some(mirrors) = mirrored_by {
        let path = staged_rules.join("MIRRORED.BY");
        fs::write(&path, mirrors).map_err(io_err("cannot write", &path))?;
    }
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    let (cf, pre) = include_files(channel, version, &names);
    write_file(&staging.join(format!("{}.cf", paths.dir_name)), cf.as_bytes())?;
    if !pre.is_empty() {
        write_file(&staging.join(format!("{}.pre", paths.dir_name)), pre.as_bytes())?;
    }
    lint.lint(staging)?;

    // Point of no return, in the order that keeps the old version loadable longest.
    let version_dir = paths.update_dir.join(paths.version_dir_name(version));
    let current_target = link_target(paths);
    if current_target.as_deref() != Some(paths.version_dir_name(version).as_str()) {
        remove_dir_if_exists(&version_dir)?;
    }
    fs::rename(&staged_rules, &version_dir).map_err(io_err("cannot move staged rules to", &version_dir))?;
    let previous = switch_to(paths, &paths.version_dir_name(version), &cf, &pre)?.or(current_target);
    prune(paths, &[paths.version_dir_name(version), previous.unwrap_or_default()]);
    Ok(())
}

/// Switches back to the version kept before the last install.
pub fn rollback(channel: &Channel, paths: &ChannelPaths) -> Result<u64, InstallError> {
    let current = link_target(paths);
    let mut kept: Vec<(u64, String)> = version_dirs(paths).into_iter().filter(|(_, name)| Some(name) != current.as_ref()).collect();
    kept.sort();
    let Some((version, dir_name)) = kept.pop() else { return Err(InstallError::NoPrevious(channel.to_string())) };
    let dir = paths.update_dir.join(&dir_name);
    let mut names = Vec::new();
    for entry in fs::read_dir(&dir).map_err(io_err("cannot read", &dir))? {
        let entry = entry.map_err(io_err("cannot read", &dir))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    let (cf, pre) = include_files(channel, version, &names);
    switch_to(paths, &dir_name, &cf, &pre)?;
    Ok(version)
}

/// Points the channel at `version_dir_name` and rewrites its include files. Returns the name
/// the replaced directory was kept under, when it was a real directory (sa-update's layout).
fn switch_to(paths: &ChannelPaths, version_dir_name: &str, cf: &str, pre: &str) -> Result<Option<String>, InstallError> {
    let link = paths.link();
    let mut moved_aside = None;
    // A real directory there was installed by sa-update: keep it as the previous version.
    if let Ok(meta) = fs::symlink_metadata(&link)
        && meta.is_dir()
    {
        let old = current_version(paths)?.unwrap_or(0);
        let name = paths.version_dir_name(old);
        let kept = paths.update_dir.join(&name);
        remove_dir_if_exists(&kept)?;
        fs::rename(&link, &kept).map_err(io_err("cannot move aside", &link))?;
        moved_aside = Some(name);
    }
    let tmp_link = paths.update_dir.join(format!(".{}.link", paths.dir_name));
    let _ = fs::remove_file(&tmp_link);
    std::os::unix::fs::symlink(version_dir_name, &tmp_link).map_err(io_err("cannot create link", &tmp_link))?;
    fs::rename(&tmp_link, &link).map_err(io_err("cannot switch", &link))?;
    write_file(&paths.cf(), cf.as_bytes())?;
    if pre.is_empty() {
        match fs::remove_file(paths.pre()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(InstallError::Io { action: "cannot remove", path: paths.pre(), source: e }),
        }
    } else {
        write_file(&paths.pre(), pre.as_bytes())?;
    }
    Ok(moved_aside)
}

/// The version directory the channel link points to, by name.
fn link_target(paths: &ChannelPaths) -> Option<String> {
    fs::read_link(paths.link()).ok().map(|t| t.to_string_lossy().into_owned())
}

fn version_dirs(paths: &ChannelPaths) -> Vec<(u64, String)> {
    let prefix = format!(".{}.v", paths.dir_name);
    let Ok(entries) = fs::read_dir(&paths.update_dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version = name.strip_prefix(&prefix)?.parse().ok()?;
            Some((version, name))
        })
        .collect()
}

/// Removes version directories other than `keep` (best effort: a leftover only costs space).
fn prune(paths: &ChannelPaths, keep: &[String]) {
    for (_, name) in version_dirs(paths) {
        if !keep.contains(&name) {
            let _ = fs::remove_dir_all(paths.update_dir.join(name));
        }
    }
}

/// Writes through a temporary file and a rename, so readers see the old or the new content.
pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), InstallError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, contents).map_err(io_err("cannot write", &tmp))?;
    fs::rename(&tmp, path).map_err(io_err("cannot replace", path))
}

fn remove_dir_if_exists(path: &Path) -> Result<(), InstallError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(InstallError::Io { action: "cannot remove", path: path.to_path_buf(), source: e }),
    }
}
