//! The plain input of `apply`: what the store's query returns, and where files go.

use std::path::PathBuf;

use crate::model::{Alias, AliasDomain, Domain, MailFilter, Mailbox};

/// Everything `apply` writes from, for the objects assigned to this server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyInput {
    pub domains: Vec<Domain>,
    pub mailboxes: Vec<MailboxInput>,
    pub aliases: Vec<Alias>,
    pub alias_domains: Vec<AliasDomain>,
    /// All filters; each belongs to the mailbox named by `mailbox_id`.
    pub filters: Vec<MailFilter>,
}

/// A mailbox plus what only `apply` may see or needs resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct MailboxInput {
    pub mailbox: Mailbox,
    /// `{ARGON2ID}$argon2id$...` as Dovecot verifies it.
    pub password_hash: String,
    /// Effective SPAM tag2 level (mailbox policy over domain policy over server default).
    pub effective_tag2: f64,
}

/// Where the files go and who owns them. Plain data: building a plan reads no file.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyPaths {
    pub postfix_dir: PathBuf,
    pub dovecot_passwd: PathBuf,
    pub sieve_dir: PathBuf,
    /// Mailbox homes are `<mail_root>/<domain>/<local>`.
    pub mail_root: PathBuf,
    /// uid/gid Dovecot delivers and reads mail as (written into the passwd-file).
    pub vmail_uid: u32,
    pub vmail_gid: u32,
    /// Group that may read the passwd-file (Dovecot's auth process); `None` keeps the group.
    pub passwd_gid: Option<u32>,
    /// Change owners (needs root); off in tests that run as an ordinary user.
    pub chown: bool,
    /// `postmap` and `sievec` to run; `None` skips that step (and says so in the report).
    pub postmap: Option<PathBuf>,
    pub sievec: Option<PathBuf>,
}

impl ApplyPaths {
    /// Debian's usual places.
    pub fn debian_defaults() -> Self {
        ApplyPaths {
            postfix_dir: "/etc/postfix/mailward".into(),
            dovecot_passwd: "/etc/dovecot/mailward.passwd".into(),
            sieve_dir: "/var/lib/mailward/sieve".into(),
            mail_root: "/var/vmail".into(),
            vmail_uid: 5000,
            vmail_gid: 5000,
            passwd_gid: None,
            chown: true,
            postmap: Some("/usr/sbin/postmap".into()),
            sievec: Some("/usr/bin/sievec".into()),
        }
    }

    /// Everything under one directory (tests, benchmarks, a staging tree).
    pub fn under(root: &std::path::Path) -> Self {
        ApplyPaths {
            postfix_dir: root.join("postfix"),
            dovecot_passwd: root.join("dovecot/passwd"),
            sieve_dir: root.join("sieve"),
            mail_root: root.join("vmail"),
            vmail_uid: 5000,
            vmail_gid: 5000,
            passwd_gid: None,
            chown: false,
            postmap: None,
            sievec: None,
        }
    }
}
