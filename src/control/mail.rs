//! Domains, alias domains, mailboxes, aliases and filters.

use super::{Control, ControlError};
use crate::access::{Actor, Operation, Scope};
use crate::model::*;
use crate::password::hash_password;
use crate::store::{NewDomain, NewMailbox};

pub struct NewMailboxInput {
    pub address: String,
    pub password: String,
    pub display_name: String,
    pub quota_mb: i64,
    pub spam_move: SpamMove,
    pub policy: Option<String>,
}

/// A change to a mailbox; `None` leaves the field. Each group needs its own privilege: a
/// mailbox user may change its password, spam settings and autoresponder, not its quota.
#[derive(Default, Debug, Clone)]
pub struct MailboxChange {
    pub password: Option<String>,
    pub display_name: Option<String>,
    pub quota_mb: Option<i64>,
    pub active: Option<bool>,
    pub copy_to: Option<Vec<String>>,
    pub spam_move: Option<SpamMove>,
    pub junk_purge_days: Option<i64>,
    pub trash_purge_days: Option<i64>,
    /// `Some(None)` clears the mailbox's own policy (inherit the domain's).
    pub policy: Option<Option<String>>,
    pub autoresponder: Option<Autoresponder>,
}

const MAX_AUTORESPONDER_TEXT: usize = 64 * 1024;
const MAX_FILTER_VALUE: usize = 1024;

impl Control {
    async fn domain_named(&self, name: &str) -> Result<Domain, ControlError> {
        let name = DomainName::parse(name)?;
        self.store.domain_by_name(name.as_str()).await?.ok_or_else(|| ControlError::not_found("domain", name.as_str()))
    }

    async fn domain_scope(&self, domain: &Domain) -> Result<Scope, ControlError> {
        Ok(self.store.customer_scope(domain.customer_id).await?)
    }

    pub async fn policy_id(&self, name: Option<&str>) -> Result<Option<i64>, ControlError> {
        match name {
            None => Ok(None),
            Some(n) => Ok(Some(self.store.policy_by_name(n).await?.ok_or_else(|| ControlError::not_found("policy", n))?.id)),
        }
    }

    pub async fn add_domain(
        &self,
        actor: &Actor,
        name: &str,
        customer: Option<&str>,
        server_set: Option<&str>,
        policy: Option<&str>,
    ) -> Result<Domain, ControlError> {
        let name = DomainName::parse(name)?;
        let customer_id = match (customer, actor) {
            (Some(c), _) => self.account_of_kind(c, AccountKind::Customer).await?.id,
            (None, Actor::Customer { id, .. }) => *id,
            (None, _) => return Err(ControlError::Invalid("which customer owns the domain? give --customer NAME".into())),
        };
        let scope = self.store.customer_scope(customer_id).await?;
        Self::check(actor, Operation::DomainAdd, scope)?;
        if policy.is_some() {
            Self::check(actor, Operation::DomainPolicy, scope)?;
        }
        let server_set_id = match server_set {
            Some(s) => Some(self.store.server_set_by_name(s).await?.ok_or_else(|| ControlError::not_found("server set", s))?.id),
            None => None,
        };
        let policy_id = self.policy_id(policy).await?;
        let new = NewDomain { name: name.to_string(), customer_id, server_set_id, policy_id, active: true };
        Ok(self.store.add_domain(&actor.label(), new).await?)
    }

    pub async fn update_domain(
        &self,
        actor: &Actor,
        name: &str,
        active: Option<bool>,
        server_set: Option<Option<&str>>,
        policy: Option<Option<&str>>,
    ) -> Result<Domain, ControlError> {
        let domain = self.domain_named(name).await?;
        let scope = self.domain_scope(&domain).await?;
        Self::check(actor, Operation::DomainWrite, scope)?;
        let mut new = domain.clone();
        if let Some(a) = active {
            new.active = a;
        }
        if let Some(s) = server_set {
            // Which servers a domain is on is server configuration: admin only.
            Self::check(actor, Operation::ServerSetWrite, Scope::default())?;
            new.server_set_id = match s {
                Some(s) => Some(self.store.server_set_by_name(s).await?.ok_or_else(|| ControlError::not_found("server set", s))?.id),
                None => None,
            };
        }
        if let Some(p) = policy {
            Self::check(actor, Operation::DomainPolicy, scope)?;
            new.policy_id = self.policy_id(p).await?;
        }
        Ok(self.store.update_domain(&actor.label(), &new).await?)
    }

    pub async fn delete_domain(&self, actor: &Actor, name: &str) -> Result<(), ControlError> {
        let domain = self.domain_named(name).await?;
        Self::check(actor, Operation::DomainWrite, self.domain_scope(&domain).await?)?;
        Ok(self.store.delete_domain(&actor.label(), &domain).await?)
    }

    pub async fn list_domains(&self, actor: &Actor) -> Result<Vec<Domain>, ControlError> {
        let scope = Self::check_read(actor)?;
        if let Actor::Mailbox { id, .. } = actor {
            let mailbox = self.store.list_mailboxes(scope, None).await?.into_iter().find(|m| m.id == *id);
            return Ok(match mailbox {
                Some(m) => vec![self.store.domain(m.domain_id).await?],
                None => vec![],
            });
        }
        Ok(self.store.list_domains(scope).await?)
    }

    pub async fn show_domain(&self, actor: &Actor, name: &str) -> Result<Domain, ControlError> {
        let domain = self.domain_named(name).await?;
        Self::check(actor, Operation::Read, self.domain_scope(&domain).await?)?;
        Ok(domain)
    }

    pub async fn add_alias_domain(&self, actor: &Actor, source: &str, target: &str) -> Result<AliasDomain, ControlError> {
        let source = DomainName::parse(source)?;
        let target = self.domain_named(target).await?;
        Self::check(actor, Operation::DomainAdd, self.domain_scope(&target).await?)?;
        Ok(self.store.add_alias_domain(&actor.label(), source.as_str(), &target).await?)
    }

    pub async fn delete_alias_domain(&self, actor: &Actor, source: &str) -> Result<(), ControlError> {
        let source = DomainName::parse(source)?;
        let all = self.store.list_alias_domains(Scope::default()).await?;
        let ad = all.into_iter().find(|a| a.source == source.as_str()).ok_or_else(|| ControlError::not_found("alias domain", source.as_str()))?;
        Self::check(actor, Operation::DomainWrite, self.store.customer_scope(ad.customer_id).await?)?;
        Ok(self.store.delete_alias_domain(&actor.label(), &ad).await?)
    }

    pub async fn list_alias_domains(&self, actor: &Actor) -> Result<Vec<AliasDomain>, ControlError> {
        let scope = Self::check_read(actor)?;
        if matches!(actor, Actor::Mailbox { .. }) {
            return Ok(vec![]);
        }
        Ok(self.store.list_alias_domains(scope).await?)
    }

    /// The mailbox, its domain and its scope (with `mailbox` set) by address.
    pub async fn mailbox_named(&self, address: &str) -> Result<(Mailbox, Domain, Scope), ControlError> {
        let address = Address::parse(address)?;
        let mailbox = self.store.mailbox_by_address(address.as_str()).await?.ok_or_else(|| ControlError::not_found("mailbox", address.as_str()))?;
        let domain = self.store.domain(mailbox.domain_id).await?;
        let mut scope = self.domain_scope(&domain).await?;
        scope.mailbox = Some(mailbox.id);
        Ok((mailbox, domain, scope))
    }

    pub async fn add_mailbox(&self, actor: &Actor, input: NewMailboxInput) -> Result<Mailbox, ControlError> {
        let address = Address::parse(&input.address)?;
        let domain = self.domain_named(address.domain()).await?;
        let scope = self.domain_scope(&domain).await?;
        Self::check(actor, Operation::MailboxAdd, scope)?;
        validate_quota(input.quota_mb)?;
        validate_text("display name", &input.display_name, 255)?;
        let policy_id = self.policy_id(input.policy.as_deref()).await?;
        let new = NewMailbox {
            address: address.to_string(),
            password_hash: hash_password(&input.password)?,
            display_name: input.display_name,
            quota_mb: input.quota_mb,
            spam_move: input.spam_move,
            policy_id,
        };
        Ok(self.store.add_mailbox(&actor.label(), &domain, new).await?)
    }

    pub async fn update_mailbox(&self, actor: &Actor, address: &str, change: MailboxChange) -> Result<Mailbox, ControlError> {
        let (mailbox, _domain, scope) = self.mailbox_named(address).await?;
        let mut new = mailbox.clone();
        if change.display_name.is_some() || change.quota_mb.is_some() || change.active.is_some() || change.copy_to.is_some() {
            Self::check(actor, Operation::MailboxWrite, scope)?;
        }
        if change.password.is_some() {
            Self::check(actor, Operation::MailboxPassword, scope)?;
        }
        if change.spam_move.is_some() || change.junk_purge_days.is_some() || change.trash_purge_days.is_some() || change.policy.is_some() {
            Self::check(actor, Operation::MailboxSpamSettings, scope)?;
        }
        if change.autoresponder.is_some() {
            Self::check(actor, Operation::MailboxAutoresponder, scope)?;
        }
        if let Some(n) = change.display_name {
            validate_text("display name", &n, 255)?;
            new.display_name = n;
        }
        if let Some(q) = change.quota_mb {
            validate_quota(q)?;
            new.quota_mb = q;
        }
        if let Some(a) = change.active {
            new.active = a;
        }
        if let Some(list) = change.copy_to {
            let mut parsed = Vec::new();
            for a in list {
                let a = Address::parse(&a)?;
                if a.as_str() == mailbox.address {
                    return Err(ControlError::Invalid(format!("{} cannot send copies to itself", mailbox.address)));
                }
                parsed.push(a.to_string());
            }
            new.copy_to = parsed;
        }
        if let Some(s) = change.spam_move {
            new.spam_move = s;
        }
        for (value, slot, what) in
            [(change.junk_purge_days, &mut new.junk_purge_days, "junk purge days"), (change.trash_purge_days, &mut new.trash_purge_days, "trash purge days")]
        {
            if let Some(v) = value {
                if !(0..=3650).contains(&v) {
                    return Err(ControlError::Invalid(format!("{what} must be 0 (never) to 3650")));
                }
                *slot = v;
            }
        }
        if let Some(p) = change.policy {
            new.policy_id = self.policy_id(p.as_deref()).await?;
        }
        if let Some(a) = change.autoresponder {
            validate_text("autoresponder subject", &a.subject, 255)?;
            if a.text.len() > MAX_AUTORESPONDER_TEXT {
                return Err(ControlError::Invalid(format!("autoresponder text longer than {MAX_AUTORESPONDER_TEXT} bytes")));
            }
            if let (Some(s), Some(e)) = (a.start, a.end) {
                if e <= s {
                    return Err(ControlError::Invalid("autoresponder end must be after its start".into()));
                }
            }
            if a.enabled && a.text.trim().is_empty() {
                return Err(ControlError::Invalid("an enabled autoresponder needs a text".into()));
            }
            new.autoresponder = a;
        }
        let hash = change.password.as_deref().map(hash_password).transpose()?;
        Ok(self.store.update_mailbox(&actor.label(), &new, hash).await?)
    }

    pub async fn delete_mailbox(&self, actor: &Actor, address: &str) -> Result<(), ControlError> {
        let (mailbox, _, scope) = self.mailbox_named(address).await?;
        Self::check(actor, Operation::MailboxWrite, scope)?;
        Ok(self.store.delete_mailbox(&actor.label(), &mailbox).await?)
    }

    pub async fn show_mailbox(&self, actor: &Actor, address: &str) -> Result<Mailbox, ControlError> {
        let (mailbox, _, scope) = self.mailbox_named(address).await?;
        Self::check(actor, Operation::Read, scope)?;
        Ok(mailbox)
    }

    pub async fn list_mailboxes(&self, actor: &Actor, domain: Option<&str>) -> Result<Vec<Mailbox>, ControlError> {
        let scope = Self::check_read(actor)?;
        let domain_id = match domain {
            Some(d) => Some(self.domain_named(d).await?.id),
            None => None,
        };
        Ok(self.store.list_mailboxes(scope, domain_id).await?)
    }

    /// Adds an alias (`info@example.org`), a catch-all (`@example.org`) or a forward. The kind
    /// follows from the destinations: all hosted mailboxes/aliases make an alias, anything
    /// else a forward.
    pub async fn add_alias(&self, actor: &Actor, source: &str, destinations: &[String]) -> Result<Alias, ControlError> {
        let (source, domain_name, catchall) = match source.trim().strip_prefix('@') {
            Some(d) => {
                let d = DomainName::parse(d)?;
                (format!("@{d}"), d.to_string(), true)
            }
            None => {
                let a = Address::parse(source)?;
                (a.to_string(), a.domain().to_string(), false)
            }
        };
        let domain = self.domain_named(&domain_name).await?;
        Self::check(actor, Operation::AliasWrite, self.domain_scope(&domain).await?)?;
        let destinations = self.parse_destinations(destinations, &source).await?;
        let mut local = true;
        for d in &destinations {
            let hosted = self.store.mailbox_by_address(d).await?.is_some() || self.store.alias_by_source(d).await?.is_some();
            local &= hosted;
        }
        let kind = if catchall {
            AliasKind::Catchall
        } else if local {
            AliasKind::Alias
        } else {
            AliasKind::Forward
        };
        Ok(self.store.add_alias(&actor.label(), &domain, kind, &source, &destinations).await?)
    }

    async fn parse_destinations(&self, destinations: &[String], source: &str) -> Result<Vec<String>, ControlError> {
        if destinations.is_empty() {
            return Err(ControlError::Invalid("an alias needs at least one destination".into()));
        }
        if destinations.len() > 100 {
            return Err(ControlError::Invalid("an alias may have at most 100 destinations".into()));
        }
        let mut out = Vec::new();
        for d in destinations {
            let a = Address::parse(d)?;
            if a.as_str() == source {
                return Err(ControlError::Invalid(format!("alias {source} cannot point to itself")));
            }
            if !out.contains(&a.to_string()) {
                out.push(a.to_string());
            }
        }
        Ok(out)
    }

    async fn alias_named(&self, source: &str) -> Result<(Alias, Scope), ControlError> {
        let key = match source.trim().strip_prefix('@') {
            Some(d) => format!("@{}", DomainName::parse(d)?),
            None => Address::parse(source)?.to_string(),
        };
        let alias = self.store.alias_by_source(&key).await?.ok_or_else(|| ControlError::not_found("alias", &key))?;
        let domain = self.store.domain(alias.domain_id).await?;
        Ok((alias, self.domain_scope(&domain).await?))
    }

    pub async fn update_alias(&self, actor: &Actor, source: &str, destinations: Option<&[String]>, active: Option<bool>) -> Result<Alias, ControlError> {
        let (alias, scope) = self.alias_named(source).await?;
        Self::check(actor, Operation::AliasWrite, scope)?;
        let mut new = alias.clone();
        if let Some(d) = destinations {
            new.destinations = self.parse_destinations(d, &alias.source).await?;
        }
        if let Some(a) = active {
            new.active = a;
        }
        Ok(self.store.update_alias(&actor.label(), &alias, &new).await?)
    }

    pub async fn delete_alias(&self, actor: &Actor, source: &str) -> Result<(), ControlError> {
        let (alias, scope) = self.alias_named(source).await?;
        Self::check(actor, Operation::AliasWrite, scope)?;
        Ok(self.store.delete_alias(&actor.label(), &alias).await?)
    }

    pub async fn list_aliases(&self, actor: &Actor, domain: Option<&str>) -> Result<Vec<Alias>, ControlError> {
        let scope = Self::check_read(actor)?;
        if matches!(actor, Actor::Mailbox { .. }) {
            return Ok(vec![]);
        }
        let domain_id = match domain {
            Some(d) => Some(self.domain_named(d).await?.id),
            None => None,
        };
        Ok(self.store.list_aliases(scope, domain_id).await?)
    }

    pub async fn add_filter(&self, actor: &Actor, address: &str, filter: MailFilter) -> Result<MailFilter, ControlError> {
        let (mailbox, _, scope) = self.mailbox_named(address).await?;
        Self::check(actor, Operation::FilterWrite, scope)?;
        validate_filter(&filter)?;
        if self.store.list_filters(mailbox.id).await?.iter().any(|f| f.name == filter.name) {
            return Err(ControlError::Invalid(format!("{} already has a filter named '{}'", mailbox.address, filter.name)));
        }
        Ok(self.store.add_filter(&actor.label(), &mailbox, &filter).await?)
    }

    pub async fn list_filters(&self, actor: &Actor, address: &str) -> Result<Vec<MailFilter>, ControlError> {
        let (mailbox, _, scope) = self.mailbox_named(address).await?;
        Self::check(actor, Operation::Read, scope)?;
        Ok(self.store.list_filters(mailbox.id).await?)
    }

    pub async fn delete_filter(&self, actor: &Actor, address: &str, name: &str) -> Result<(), ControlError> {
        let (mailbox, _, scope) = self.mailbox_named(address).await?;
        Self::check(actor, Operation::FilterWrite, scope)?;
        let filter = self.store.list_filters(mailbox.id).await?.into_iter().find(|f| f.name == name).ok_or_else(|| ControlError::not_found("filter", name))?;
        Ok(self.store.delete_filter(&actor.label(), &mailbox, &filter).await?)
    }
}

fn validate_quota(quota_mb: i64) -> Result<(), ControlError> {
    if !(0..=16 * 1024 * 1024).contains(&quota_mb) {
        return Err(ControlError::Invalid("quota must be 0 (unlimited) to 16777216 MiB".into()));
    }
    Ok(())
}

/// Single-line user text: no control characters (they would break headers and Sieve strings),
/// bounded length.
fn validate_text(what: &str, text: &str, max: usize) -> Result<(), ControlError> {
    if text.len() > max {
        return Err(ControlError::Invalid(format!("{what} longer than {max} bytes")));
    }
    if text.chars().any(char::is_control) {
        return Err(ControlError::Invalid(format!("{what} contains a control character")));
    }
    Ok(())
}

pub fn validate_filter(f: &MailFilter) -> Result<(), ControlError> {
    validate_text("filter name", &f.name, 64)?;
    if f.name.trim().is_empty() {
        return Err(ControlError::Invalid("a filter needs a name".into()));
    }
    if f.value.len() > MAX_FILTER_VALUE {
        return Err(ControlError::Invalid(format!("filter value longer than {MAX_FILTER_VALUE} bytes")));
    }
    if f.field == FilterField::Header {
        let ok = !f.header.is_empty() && f.header.len() <= 76 && f.header.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !ok {
            return Err(ControlError::Invalid(format!("invalid header name '{}'", crate::model::names::printable(&f.header))));
        }
    }
    match f.action {
        FilterAction::Move => {
            validate_text("folder", &f.argument, 255)?;
            if f.argument.trim().is_empty() {
                return Err(ControlError::Invalid("a move filter needs a folder".into()));
            }
        }
        FilterAction::Forward => {
            Address::parse(&f.argument)?;
        }
        FilterAction::Reject => validate_text("reject reason", &f.argument, 255)?,
        FilterAction::Discard => {}
    }
    Ok(())
}
