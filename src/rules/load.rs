//! The file edge of the rule engine: reads `.cf` files and directories (every `*.cf`, sorted by
//! name, as SpamAssassin reads a rules directory), then hands the text to the pure parser.

use std::path::{Path, PathBuf};

use super::engine::RuleSet;
use super::parse::Environment;
use super::{Diagnostic, Location, Severity};

/// Rule files larger than this are refused instead of read.
const MAX_RULE_FILE: u64 = 32 << 20;

fn read_text(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string().to_lowercase())?;
    if meta.len() > MAX_RULE_FILE {
        return Err(format!("file is larger than {} bytes", MAX_RULE_FILE));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string().to_lowercase())?;
    if bytes.contains(&0) {
        return Err("file contains NUL bytes (binary data)".into());
    }
    // Rule files are bytes to SpamAssassin. A file that is not UTF-8 gets its high bytes written
    // as \xNN escapes, so a pattern still matches exactly those bytes.
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| if b < 0x80 { (b as char).to_string() } else { format!("\\x{b:02X}") }).collect(),
    })
}

/// The `.cf` files a path stands for.
pub fn cf_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("cannot read directory {}: {}", path.display(), e.to_string().to_lowercase()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cf") && p.is_file())
            .collect();
        files.sort();
        Ok(files)
    } else if path.exists() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(format!("no such file or directory: {}", path.display()))
    }
}

impl RuleSet {
    /// Loads rule files and directories in order. Unreadable files become diagnostics.
    pub fn load(paths: &[PathBuf], env: &Environment) -> (RuleSet, Vec<Diagnostic>) {
        let mut sources = Vec::new();
        let mut diags = Vec::new();
        for p in paths {
            match cf_files(p) {
                Ok(files) => {
                    for f in files {
                        match read_text(&f) {
                            Ok(t) => sources.push((f.display().to_string(), t)),
                            Err(e) => diags.push(Diagnostic { location: Location { file: f.display().to_string(), line: 0 }, severity: Severity::Error, message: format!("cannot read rule file: {e}") }),
                        }
                    }
                }
                Err(e) => diags.push(Diagnostic { location: Location { file: p.display().to_string(), line: 0 }, severity: Severity::Error, message: e }),
            }
        }
        let loader = |from: &str, target: &str| -> Result<(String, String), String> {
            let base = Path::new(from).parent().unwrap_or(Path::new("."));
            let path = if Path::new(target).is_absolute() { PathBuf::from(target) } else { base.join(target) };
            read_text(&path).map(|t| (path.display().to_string(), t))
        };
        let (set, mut more) = RuleSet::from_sources(&sources, env, &loader);
        diags.append(&mut more);
        (set, diags)
    }
}

/// SpamAssassin's default rules directory, which an installed `updates.spamassassin.org`
/// channel replaces.
pub const SPAMASSASSIN_DEFAULT_RULES: &str = "/usr/share/spamassassin";

/// The rule paths to load, given the configured ones and the channel update directory, as
/// SpamAssassin chooses them: once `updates.spamassassin.org` is installed in `update_dir`, the
/// update directory takes the place of the default rules directory (the channel is a newer copy
/// of the same rules); other installed channels are loaded after the configured paths, so their
/// definitions win. An empty or missing update directory changes nothing.
pub fn effective_paths(configured: &[PathBuf], update_dir: &Path) -> Vec<PathBuf> {
    let installed = cf_files(update_dir).unwrap_or_default();
    if installed.is_empty() {
        return configured.to_vec();
    }
    let official = installed.iter().any(|f| f.file_name().is_some_and(|n| n == "updates_spamassassin_org.cf"));
    let mut out = Vec::new();
    let mut placed = false;
    for p in configured {
        if p == update_dir {
            placed = true;
            out.push(p.clone());
        } else if official && p == Path::new(SPAMASSASSIN_DEFAULT_RULES) {
            if !placed {
                out.push(update_dir.to_path_buf());
                placed = true;
            }
        } else {
            out.push(p.clone());
        }
    }
    if !placed {
        out.push(update_dir.to_path_buf());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_dir_replaces_the_default_rules_only_with_the_official_channel() {
        let dir = tempfile::tempdir().unwrap();
        let configured = vec![PathBuf::from(SPAMASSASSIN_DEFAULT_RULES), PathBuf::from("/etc/mailward/rules")];
        assert_eq!(effective_paths(&configured, dir.path()), configured, "empty update dir");
        std::fs::write(dir.path().join("sa_schaal_it.cf"), "include sa_schaal_it/x.cf\n").unwrap();
        let mut with_channel = configured.clone();
        with_channel.push(dir.path().to_path_buf());
        assert_eq!(effective_paths(&configured, dir.path()), with_channel, "third-party channel comes last");
        std::fs::write(dir.path().join("updates_spamassassin_org.cf"), "include updates_spamassassin_org/x.cf\n").unwrap();
        assert_eq!(effective_paths(&configured, dir.path()), vec![dir.path().to_path_buf(), PathBuf::from("/etc/mailward/rules")]);
    }
}
