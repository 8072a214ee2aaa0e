//! Linting a staged channel before it replaces the installed one.
//!
//! [`RuleLint`] is the seam: [`EngineLint`] loads the rules with our engine, and
//! [`SpamAssassinLint`] runs Debian's `spamassassin --lint`; [`LintChain`] runs several in order.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("{linter} rejected the new rules: {problems}")]
    Rejected { linter: String, problems: String },
    #[error("cannot run {linter}: {source}")]
    CannotRun { linter: String, source: std::io::Error },
}

/// Checks a staged channel. `config_dir` is a SpamAssassin update directory holding only the
/// new channel: `<channel>.cf`, `<channel>.pre` and `<channel>/`.
pub trait RuleLint: Send + Sync {
    fn name(&self) -> String;
    fn lint(&self, config_dir: &Path) -> Result<(), LintError>;
}

/// `spamassassin --lint --configpath=<staged dir>`, with the site configuration (plugins from
/// `/etc/spamassassin/*.pre`) as sa-update lints it. Exit status 0 means clean.
#[derive(Clone, Debug)]
pub struct SpamAssassinLint {
    pub program: PathBuf,
    /// `--siteconfigpath`; `None` keeps SpamAssassin's default (`/etc/spamassassin`).
    pub site_config: Option<PathBuf>,
}

impl SpamAssassinLint {
    /// The `spamassassin` found on `PATH`, if any.
    pub fn detect() -> Option<Self> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join("spamassassin"))
            .find(|p| p.is_file())
            .map(|program| Self { program, site_config: None })
    }
}

impl RuleLint for SpamAssassinLint {
    fn name(&self) -> String {
        "spamassassin --lint".into()
    }

    fn lint(&self, config_dir: &Path) -> Result<(), LintError> {
        let mut cmd = Command::new(&self.program);
        cmd.arg("--lint").arg(format!("--configpath={}", config_dir.display()));
        if let Some(site) = &self.site_config {
            cmd.arg(format!("--siteconfigpath={}", site.display()));
        }
        // spamassassin creates ~/.spamassassin: keep it inside the staging area, which is
        // removed afterwards, instead of the caller's home.
        let output = cmd.env("HOME", config_dir).output().map_err(|source| LintError::CannotRun { linter: self.name(), source })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let problems: Vec<String> = stderr
            .lines()
            .filter_map(|l| l.split_once("warn: ").map(|(_, rest)| rest.trim().to_string()))
            .filter(|l| !l.starts_with("lint: ") && !l.contains("registryboundaries"))
            .collect();
        let problems = if problems.is_empty() { format!("exit status {}", output.status) } else { problems.join("; ") };
        Err(LintError::Rejected { linter: self.name(), problems })
    }
}

/// mailward's own rule engine: loads the staged channel as the milter will and rejects it when
/// a rule is malformed (diagnostics of severity error). Warnings and notes (features the engine
/// does not run) do not block an update: SpamAssassin accepts those rules.
#[derive(Clone, Debug, Default)]
pub struct EngineLint;

impl RuleLint for EngineLint {
    fn name(&self) -> String {
        "mailward rules engine".into()
    }

    fn lint(&self, config_dir: &Path) -> Result<(), LintError> {
        use crate::rules::{RuleSet, Severity};
        let env = crate::rules::Environment::spamassassin_4_0_1();
        let (set, mut diagnostics) = RuleSet::load(&[config_dir.to_path_buf()], &env);
        diagnostics.extend(set.compile_now());
        let errors: Vec<String> = diagnostics.iter().filter(|d| d.severity >= Severity::Error).map(|d| d.to_string()).collect();
        if errors.is_empty() { Ok(()) } else { Err(LintError::Rejected { linter: self.name(), problems: errors.join("; ") }) }
    }
}

/// Several linters, all of which must accept the rules.
#[derive(Default)]
pub struct LintChain(pub Vec<Box<dyn RuleLint>>);

impl LintChain {
    /// Our engine, then `spamassassin --lint` when it is installed.
    pub fn detect() -> Self {
        let mut chain = Self::default();
        chain.0.push(Box::new(EngineLint));
        if let Some(sa) = SpamAssassinLint::detect() {
            chain.0.push(Box::new(sa));
        }
        chain
    }
}

impl RuleLint for LintChain {
    fn name(&self) -> String {
        self.0.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
    }

    fn lint(&self, config_dir: &Path) -> Result<(), LintError> {
        self.0.iter().try_for_each(|l| l.lint(config_dir))
    }
}
