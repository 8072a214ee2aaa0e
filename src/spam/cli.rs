//! The edge of `mailward spam ...` and `mailward policy explain`: reads the message, calls the
//! pure functions, prints text or JSON. The caller (the main CLI) supplies the
//! [`PolicyDirectory`] built from the store.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;

use super::{PolicyDirectory, explain, parse_spam_headers, render_explanation, render_policy_explanation};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum SpamCommand {
    /// Explain the X-Spam-* headers of a message (SpamAssassin, amavis or Rspamd format):
    /// each test's points, their sums, and with --for what the recipient's policy does with it.
    Explain {
        /// The message file (RFC 5322, or just its headers); standard input when absent.
        message: Option<PathBuf>,
        /// Show which of this recipient's policy levels the score reaches.
        #[arg(long = "for", value_name = "ADDRESS")]
        for_address: Option<String>,
    },
}

/// Largest message `spam explain` reads: the headers are at the start, and this keeps a
/// mistaken `spam explain /dev/zero` from eating memory.
const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Runs `mailward spam <cmd>`. Exit code 0; 1 when the message has no spam headers at all.
pub fn run(cmd: &SpamCommand, json: bool, directory: &PolicyDirectory, out: &mut dyn Write) -> anyhow::Result<i32> {
    match cmd {
        SpamCommand::Explain { message, for_address } => {
            let mut bytes = Vec::new();
            match message {
                Some(path) => std::fs::File::open(path)
                    .with_context(|| format!("cannot open message {}", path.display()))?
                    .take(MAX_INPUT)
                    .read_to_end(&mut bytes)
                    .with_context(|| format!("cannot read message {}", path.display()))?,
                None => std::io::stdin().take(MAX_INPUT).read_to_end(&mut bytes).context("cannot read the message from standard input")?,
            };
            let headers = parse_spam_headers(&bytes);
            let policy = for_address.as_deref().map(|a| directory.effective_policy(a));
            let explanation = explain(&headers, policy.as_ref());
            if json {
                serde_json::to_writer_pretty(&mut *out, &explanation)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", render_explanation(&explanation))?;
            }
            let found = headers.score.is_some() || !headers.tests.is_empty() || headers.is_spam.is_some();
            Ok(if found { 0 } else { 1 })
        }
    }
}

/// Runs `mailward policy explain ADDRESS`.
pub fn run_policy_explain(address: &str, json: bool, directory: &PolicyDirectory, out: &mut dyn Write) -> anyhow::Result<i32> {
    if !address.contains('@') || address.len() > 320 {
        anyhow::bail!("not an e-mail address: {address:?}");
    }
    let policy = directory.effective_policy(address);
    if json {
        serde_json::to_writer_pretty(&mut *out, &policy)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", render_policy_explanation(&policy))?;
    }
    Ok(0)
}
