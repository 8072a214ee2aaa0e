//! Building the autoconfig snapshot from the store's one consistent read of the mail objects
//! (`Store::mail_snapshot`). Only the conversion lives here; the daemon does the reading.

use super::Snapshot;
use crate::store::MailSnapshot;

impl Snapshot {
    /// Active mailboxes and aliases count as existing addresses (a catch-all as `@domain`);
    /// password hashes in `mail` are not looked at.
    pub fn from_mail_snapshot(mail: &MailSnapshot) -> Snapshot {
        let mailboxes = mail.mailboxes.iter().filter(|m| m.mailbox.active).map(|m| m.mailbox.address.clone());
        let aliases = mail.aliases.iter().filter(|a| a.active).map(|a| a.source.clone());
        Snapshot::build(&mail.domains, &mail.server_sets, mailboxes.chain(aliases), &mail.alias_domains)
    }
}
