//! Building the plan: the full text of every generated file. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
#[cfg(test)]
use std::path::Path;

use super::{ApplyInput, ApplyPaths, MARKER};
use crate::model::{AliasKind, MailFilter};
use crate::sieve::{MailboxSieve, render_sieve};

/// What a generated file is; decides the post-write step, mode and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// A Postfix `hash:` table source; `postmap` builds the `.db` next to it.
    PostfixMap,
    /// The Dovecot passwd-file (holds password hashes: not world-readable).
    DovecotPasswd,
    /// A mailbox's Sieve script; `sievec` checks it before it is installed.
    Sieve { address: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub kind: FileKind,
    /// Generated text, ending with the [`MARKER`] line.
    pub content: String,
}

/// Something left out of the plan, and which object it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDiagnostic {
    pub object: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub files: Vec<PlannedFile>,
    pub diagnostics: Vec<PlanDiagnostic>,
}

/// A local part as one file-name component: bytes outside `[a-z0-9._+-]` become `=xx`, and a
/// leading dot too, so no name is `.`, `..` or hidden. Dovecot does not expand `=`.
pub fn encode_file_name(local: &str) -> String {
    let mut out = String::with_capacity(local.len());
    for (i, b) in local.bytes().enumerate() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'+' | b'-') || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02x}"));
        }
    }
    out
}

/// Whether `value` may stand in a Postfix table or passwd-file field as one token.
fn is_token(value: &str) -> bool {
    !value.is_empty() && value.len() <= 320 && value.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b',' | b':' | b'#'))
}

fn is_address(value: &str) -> bool {
    is_token(value) && value.rsplit_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
}

impl Plan {
    pub fn build(input: &ApplyInput, paths: &ApplyPaths) -> Plan {
        let mut diagnostics = Vec::new();
        let mut diag = |object: &str, message: String| diagnostics.push(PlanDiagnostic { object: object.to_string(), message });

        let domain_by_id: HashMap<i64, &str> = input.domains.iter().filter(|d| d.active).map(|d| (d.id, d.name.as_str())).collect();
        let mut domains: BTreeSet<&str> = BTreeSet::new();
        for d in input.domains.iter().filter(|d| d.active) {
            if is_token(&d.name) {
                domains.insert(&d.name);
            } else {
                diag(&d.name, "domain name cannot stand in a Postfix table: left out".into());
            }
        }

        let mut filters_by_mailbox: HashMap<i64, Vec<MailFilter>> = HashMap::new();
        for f in &input.filters {
            filters_by_mailbox.entry(f.mailbox_id).or_default().push(f.clone());
        }

        // Mailboxes that can be written; the rest are reported and left out everywhere.
        let mut mailboxes = Vec::new();
        let mut mailbox_addresses: BTreeSet<&str> = BTreeSet::new();
        for m in &input.mailboxes {
            let mb = &m.mailbox;
            if !mb.active {
                continue;
            }
            let Some(&domain) = domain_by_id.get(&mb.domain_id) else { continue };
            let Some((local, addr_domain)) = mb.address.rsplit_once('@') else {
                diag(&mb.address, "address has no '@': left out".into());
                continue;
            };
            if !is_address(&mb.address) || addr_domain != domain || !domains.contains(domain) {
                diag(&mb.address, "address cannot stand in a Postfix table or does not belong to its domain: left out".into());
                continue;
            }
            // A passwd-file field: printable, no ':' (the separator); commas are fine (argon2 params).
            let hash = &m.password_hash;
            if !hash.starts_with('{') || hash.len() > 1024 || !hash.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                diag(&mb.address, "password hash is empty or holds ':' or whitespace: left out".into());
                continue;
            }
            mailbox_addresses.insert(&mb.address);
            mailboxes.push((m, local, domain));
        }

        // Aliases, and for the autoresponder which addresses deliver to which mailbox.
        let mut virtual_aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut aliases_of: HashMap<String, Vec<String>> = HashMap::new();
        let mut catchall_of: HashMap<&str, Vec<String>> = HashMap::new();
        for a in input.aliases.iter().filter(|a| a.active) {
            let Some(&domain) = domain_by_id.get(&a.domain_id) else { continue };
            let dests: Vec<String> = a.destinations.iter().map(|d| d.trim().to_string()).filter(|d| is_address(d)).collect();
            if dests.len() != a.destinations.len() || dests.is_empty() {
                diag(&a.source, "a destination is not an address: alias left out".into());
                continue;
            }
            let source_ok = match a.kind {
                AliasKind::Catchall => a.source == format!("@{domain}"),
                _ => is_address(&a.source) && a.source.rsplit_once('@').is_some_and(|(_, d)| d == domain),
            };
            if !source_ok {
                diag(&a.source, "source does not belong to its domain: alias left out".into());
                continue;
            }
            if a.kind == AliasKind::Catchall {
                catchall_of.insert(domain, dests.clone());
            } else {
                for d in &dests {
                    aliases_of.entry(d.clone()).or_default().push(a.source.clone());
                }
            }
            virtual_aliases.entry(a.source.clone()).or_default().extend(dests);
        }
        for (_, local, domain) in &mailboxes {
            let addr = format!("{local}@{domain}");
            virtual_aliases.insert(addr.clone(), vec![addr]);
        }

        // Alias domains: every address of the target spelled out, plus its catch-all.
        let local_targets: Vec<(String, String)> = virtual_aliases.keys().filter(|k| !k.starts_with('@')).filter_map(|k| k.rsplit_once('@').map(|(l, d)| (l.to_string(), d.to_string()))).collect();
        let mut alias_domain_names: BTreeSet<String> = BTreeSet::new();
        for ad in input.alias_domains.iter().filter(|a| a.active) {
            let Some(&target) = domain_by_id.get(&ad.target_domain_id) else {
                diag(&ad.source, "target domain is missing or inactive: alias domain left out".into());
                continue;
            };
            if !is_token(&ad.source) || domains.contains(ad.source.as_str()) {
                diag(&ad.source, "alias domain is also a hosted domain or cannot stand in a table: left out".into());
                continue;
            }
            alias_domain_names.insert(ad.source.clone());
            for (local, d) in local_targets.iter().filter(|(_, d)| d == target) {
                let src = format!("{local}@{}", ad.source);
                aliases_of.entry(format!("{local}@{d}")).or_default().push(src.clone());
                virtual_aliases.entry(src).or_insert_with(|| vec![format!("{local}@{d}")]);
            }
            if let Some(dests) = catchall_of.get(target) {
                virtual_aliases.entry(format!("@{}", ad.source)).or_insert_with(|| dests.clone());
            }
        }
        // Aliases of aliases: a vacation answers for every address that reaches the mailbox
        // through alias-domain spelling of an alias (info@alias.org -> info@example.org -> anna).
        let snapshot = aliases_of.clone();
        for sources in aliases_of.values_mut() {
            let extra: Vec<String> = sources.iter().filter_map(|s| snapshot.get(s)).flatten().cloned().collect();
            sources.extend(extra);
        }

        let mut files = Vec::new();
        let mut text = String::new();
        for d in domains.iter().map(|d| d.to_string()).chain(alias_domain_names.iter().cloned()) {
            text.push_str(&d);
            text.push_str(" OK\n");
        }
        files.push(map_file(paths, "virtual_domains", text));

        let mut text = String::new();
        for a in &mailbox_addresses {
            text.push_str(a);
            text.push_str(" OK\n");
        }
        files.push(map_file(paths, "virtual_mailboxes", text));

        let mut text = String::new();
        for (src, dests) in &virtual_aliases {
            text.push_str(src);
            text.push(' ');
            text.push_str(&dests.join(", "));
            text.push('\n');
        }
        files.push(map_file(paths, "virtual_aliases", text));

        let mut passwd = String::from("# Generated by mailward apply: user:hash:uid:gid::home::userdb fields\n");
        for (m, local, domain) in &mailboxes {
            let mb = &m.mailbox;
            let file_local = encode_file_name(local);
            let home = paths.mail_root.join(domain).join(&file_local);
            let sieve_path = paths.sieve_dir.join(domain).join(format!("{file_local}.sieve"));
            let mut fields = Vec::new();
            if mb.quota_mb > 0 {
                fields.push(format!("userdb_quota_rule=*:storage={}M", mb.quota_mb));
            }
            fields.push(format!("userdb_sieve=file:{}", sieve_path.display()));
            passwd.push_str(&format!(
                "{}:{}:{}:{}::{}::{}\n",
                mb.address,
                m.password_hash,
                paths.vmail_uid,
                paths.vmail_gid,
                home.display(),
                fields.join(" ")
            ));

            let mut aliases = aliases_of.get(&mb.address).cloned().unwrap_or_default();
            aliases.sort();
            aliases.dedup();
            let rendered = render_sieve(&MailboxSieve {
                address: mb.address.clone(),
                spam_move: mb.spam_move,
                tag2: m.effective_tag2,
                filters: filters_by_mailbox.remove(&mb.id).unwrap_or_default(),
                autoresponder: mb.autoresponder.clone(),
                alias_addresses: aliases,
                copy_to: mb.copy_to.clone(),
            });
            for message in rendered.diagnostics {
                diag(&mb.address, message);
            }
            files.push(PlannedFile { path: sieve_path, kind: FileKind::Sieve { address: mb.address.clone() }, content: with_marker(rendered.script) });
        }
        files.push(PlannedFile { path: paths.dovecot_passwd.clone(), kind: FileKind::DovecotPasswd, content: with_marker(passwd) });

        Plan { files, diagnostics }
    }
}

fn map_file(paths: &ApplyPaths, name: &str, body: String) -> PlannedFile {
    let mut text = format!("# Generated by mailward apply ({name}). Edit below the marker line only.\n");
    text.push_str(&body);
    PlannedFile { path: paths.postfix_dir.join(name), kind: FileKind::PostfixMap, content: with_marker(text) }
}

fn with_marker(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(MARKER);
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
