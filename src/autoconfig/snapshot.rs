//! The read-only picture of hosted domains that every autoconfig request answers from.
//!
//! Built from plain model values (the caller reads them from the store), so it is cheap to test
//! and the HTTP handlers never wait on the database. Lookups are by canonical (punycode,
//! lowercase) domain name; alias domains answer with their target domain's server set.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::model::{AliasDomain, Domain, ServerSet};

/// One domain clients may ask about, with the server set that answers for it.
#[derive(Debug, Clone)]
pub struct HostedDomain {
    /// The domain the client asked about (an alias domain keeps its own name here).
    pub name: String,
    /// The domain whose mailboxes receive the mail (`name` unless this is an alias domain).
    pub delivers_as: String,
    pub server_set: Arc<ServerSet>,
}

/// Why a domain from the store was left out of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedDomain {
    pub name: String,
    pub reason: &'static str,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    domains: HashMap<String, HostedDomain>,
    /// Canonical addresses of mailboxes and aliases, and `@domain` for a catch-all (every
    /// address of the domain exists); consulted only when the admin asked to answer for
    /// existing addresses only.
    addresses: HashSet<String>,
    /// Domains of the store that were not included and why, for `mailward serve` to log once.
    pub skipped: Vec<SkippedDomain>,
}

impl Snapshot {
    /// Builds the snapshot. Inactive domains and domains without a (known) server set are
    /// skipped and listed in `skipped`; an alias domain follows its target's server set.
    pub fn build(
        domains: &[Domain],
        server_sets: &[ServerSet],
        addresses: impl IntoIterator<Item = String>,
        alias_domains: &[AliasDomain],
    ) -> Snapshot {
        let sets: HashMap<i64, Arc<ServerSet>> = server_sets.iter().map(|s| (s.id, Arc::new(s.clone()))).collect();
        let mut snapshot = Snapshot::default();
        let mut by_id: HashMap<i64, &HostedDomain> = HashMap::new();
        let mut hosted = Vec::new();
        for domain in domains {
            let skip = |reason| SkippedDomain { name: domain.name.clone(), reason };
            if !domain.active {
                snapshot.skipped.push(skip("domain is inactive"));
                continue;
            }
            let Some(set_id) = domain.server_set_id else {
                snapshot.skipped.push(skip("domain has no server set"));
                continue;
            };
            let Some(set) = sets.get(&set_id) else {
                snapshot.skipped.push(skip("domain's server set does not exist"));
                continue;
            };
            let name = domain.name.to_ascii_lowercase();
            hosted.push((domain.id, HostedDomain { name: name.clone(), delivers_as: name, server_set: set.clone() }));
        }
        for (id, h) in &hosted {
            by_id.insert(*id, h);
        }
        let mut aliases = Vec::new();
        for alias in alias_domains {
            let name = alias.source.to_ascii_lowercase();
            match by_id.get(&alias.target_domain_id) {
                Some(target) if alias.active => aliases.push(HostedDomain {
                    name,
                    delivers_as: target.delivers_as.clone(),
                    server_set: target.server_set.clone(),
                }),
                Some(_) => snapshot.skipped.push(SkippedDomain { name, reason: "alias domain is inactive" }),
                None => snapshot.skipped.push(SkippedDomain { name, reason: "alias domain's target is not hosted" }),
            }
        }
        for (_, h) in hosted {
            snapshot.domains.insert(h.name.clone(), h);
        }
        for h in aliases {
            snapshot.domains.entry(h.name.clone()).or_insert(h);
        }
        snapshot.addresses = addresses.into_iter().map(|a| a.to_ascii_lowercase()).collect();
        snapshot
    }

    pub fn domain(&self, name: &str) -> Option<&HostedDomain> {
        self.domains.get(name)
    }

    /// Whether `local@domain` is a mailbox, an alias or covered by a catch-all, following
    /// alias domains.
    pub fn address_exists(&self, local: &str, domain: &HostedDomain) -> bool {
        self.addresses.contains(&format!("{local}@{}", domain.delivers_as)) || self.addresses.contains(&format!("@{}", domain.delivers_as))
    }

    pub fn domain_count(&self) -> usize {
        self.domains.len()
    }
}
