//! Spam policies, mail server sets and sites: the admin's and resellers' configuration objects.

use super::{Control, ControlError};
use crate::access::{Actor, Operation, Scope};
use crate::model::*;

impl Control {
    pub async fn policy_named(&self, name: &str) -> Result<SpamPolicy, ControlError> {
        self.store.policy_by_name(name).await?.ok_or_else(|| ControlError::not_found("policy", name))
    }

    pub async fn add_policy(&self, actor: &Actor, policy: SpamPolicy) -> Result<SpamPolicy, ControlError> {
        Self::check(actor, Operation::PolicyWrite, Scope::default())?;
        validate_policy(&policy)?;
        Ok(self.store.add_policy(&actor.label(), &SpamPolicy { builtin: false, ..policy }).await?)
    }

    /// Applies `edit` to the stored policy and writes it back.
    pub async fn update_policy(&self, actor: &Actor, name: &str, edit: impl FnOnce(&mut SpamPolicy)) -> Result<SpamPolicy, ControlError> {
        Self::check(actor, Operation::PolicyWrite, Scope::default())?;
        let old = self.policy_named(name).await?;
        let mut new = old.clone();
        edit(&mut new);
        validate_policy(&new)?;
        Ok(self.store.update_policy(&actor.label(), &old, &new).await?)
    }

    pub async fn delete_policy(&self, actor: &Actor, name: &str) -> Result<(), ControlError> {
        Self::check(actor, Operation::PolicyWrite, Scope::default())?;
        let p = self.policy_named(name).await?;
        Ok(self.store.delete_policy(&actor.label(), &p).await?)
    }

    /// Everyone may read the policies: users choose among them.
    pub async fn list_policies(&self) -> Result<Vec<SpamPolicy>, ControlError> {
        Ok(self.store.list_policies().await?)
    }

    pub async fn server_set_named(&self, name: &str) -> Result<ServerSet, ControlError> {
        self.store.server_set_by_name(name).await?.ok_or_else(|| ControlError::not_found("server set", name))
    }

    pub async fn add_server_set(&self, actor: &Actor, set: ServerSet) -> Result<ServerSet, ControlError> {
        Self::check(actor, Operation::ServerSetWrite, Scope::default())?;
        validate_server_set(&set)?;
        Ok(self.store.add_server_set(&actor.label(), &set).await?)
    }

    pub async fn update_server_set(&self, actor: &Actor, name: &str, edit: impl FnOnce(&mut ServerSet)) -> Result<ServerSet, ControlError> {
        Self::check(actor, Operation::ServerSetWrite, Scope::default())?;
        let old = self.server_set_named(name).await?;
        let mut new = old.clone();
        edit(&mut new);
        validate_server_set(&new)?;
        Ok(self.store.update_server_set(&actor.label(), &old, &new).await?)
    }

    pub async fn delete_server_set(&self, actor: &Actor, name: &str) -> Result<(), ControlError> {
        Self::check(actor, Operation::ServerSetWrite, Scope::default())?;
        let s = self.server_set_named(name).await?;
        Ok(self.store.delete_server_set(&actor.label(), &s).await?)
    }

    pub async fn list_server_sets(&self, actor: &Actor) -> Result<Vec<ServerSet>, ControlError> {
        Self::check_read(actor)?;
        Ok(self.store.list_server_sets().await?)
    }

    pub async fn add_site(&self, actor: &Actor, name: &str, customer: &str, log_retention_days: Option<i64>, statistics: bool) -> Result<Site, ControlError> {
        let name = DomainName::parse(name)?;
        let customer = self.account_of_kind(customer, AccountKind::Customer).await?;
        Self::check(actor, Operation::SiteWrite, self.store.customer_scope(customer.id).await?)?;
        let days = log_retention_days.unwrap_or(site::DEFAULT_LOG_RETENTION_DAYS);
        validate_retention(days)?;
        Ok(self.store.add_site(&actor.label(), customer.id, name.as_str(), days, statistics).await?)
    }

    pub async fn update_site(&self, actor: &Actor, name: &str, log_retention_days: Option<i64>, statistics: Option<bool>) -> Result<Site, ControlError> {
        let name = DomainName::parse(name)?;
        let old = self.store.site_by_name(name.as_str()).await?.ok_or_else(|| ControlError::not_found("site", name.as_str()))?;
        Self::check(actor, Operation::SiteWrite, self.store.customer_scope(old.customer_id).await?)?;
        let mut new = old.clone();
        if let Some(d) = log_retention_days {
            validate_retention(d)?;
            new.log_retention_days = d;
        }
        if let Some(s) = statistics {
            new.statistics = s;
        }
        Ok(self.store.update_site(&actor.label(), &old, &new).await?)
    }

    pub async fn delete_site(&self, actor: &Actor, name: &str) -> Result<(), ControlError> {
        let name = DomainName::parse(name)?;
        let site = self.store.site_by_name(name.as_str()).await?.ok_or_else(|| ControlError::not_found("site", name.as_str()))?;
        Self::check(actor, Operation::SiteWrite, self.store.customer_scope(site.customer_id).await?)?;
        Ok(self.store.delete_site(&actor.label(), &site).await?)
    }

    pub async fn list_sites(&self, actor: &Actor) -> Result<Vec<Site>, ControlError> {
        let scope = Self::check_read(actor)?;
        if matches!(actor, Actor::Mailbox { .. }) {
            return Ok(vec![]);
        }
        Ok(self.store.list_sites(scope).await?)
    }

    /// The change log as far as the actor may read it: everything for the admin, its own
    /// subtree for resellers and customers.
    pub async fn read_log(&self, actor: &Actor, mut query: crate::store::LogQuery) -> Result<Vec<ChangeEntry>, ControlError> {
        let scope = Self::visible_scope(actor);
        Self::check(actor, Operation::LogRead, scope)?;
        query.reseller = scope.reseller.or(query.reseller);
        query.customer = scope.customer.or(query.customer);
        Ok(self.store.read_log(&query).await?)
    }
}

fn validate_retention(days: i64) -> Result<(), ControlError> {
    if !(1..=3650).contains(&days) {
        return Err(ControlError::Invalid("log retention must be 1 to 3650 days".into()));
    }
    Ok(())
}

pub fn validate_policy(p: &SpamPolicy) -> Result<(), ControlError> {
    if p.name.trim().is_empty() || p.name.len() > 64 || p.name.chars().any(char::is_control) {
        return Err(ControlError::Invalid("a policy name is 1-64 printable characters".into()));
    }
    for (what, v) in [("tag", p.tag), ("tag2", p.tag2), ("kill", p.kill)] {
        if let Some(v) = v {
            if !v.is_finite() || !(-1000.0..=1000.0).contains(&v) {
                return Err(ControlError::Invalid(format!("{what} level must be a number from -1000 to 1000")));
            }
        }
    }
    if let (Some(t2), Some(k)) = (p.tag2, p.kill) {
        if k < t2 {
            return Err(ControlError::Invalid(format!("kill level {k} is below the tag2 (spam) level {t2}")));
        }
    }
    if let Some(tag) = &p.subject_tag {
        if tag.len() > 64 || tag.chars().any(char::is_control) {
            return Err(ControlError::Invalid("subject tag is at most 64 printable characters".into()));
        }
    }
    Ok(())
}

pub fn validate_server_set(s: &ServerSet) -> Result<(), ControlError> {
    if s.name.is_empty() || s.name.len() > 64 || !s.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(ControlError::Invalid(format!("invalid server set name '{}': letters, digits, '-', '_', '.'", names::printable(&s.name))));
    }
    for text in [&s.provider_id, &s.display_name, &s.display_short_name] {
        if text.len() > 255 || text.chars().any(char::is_control) {
            return Err(ControlError::Invalid("server set names and display names are single lines of at most 255 bytes".into()));
        }
    }
    if s.endpoints.is_empty() {
        return Err(ControlError::Invalid("a server set needs at least one endpoint (--endpoint imap:HOST:993:tls)".into()));
    }
    for e in &s.endpoints {
        DomainName::parse(&e.host)?;
    }
    for url in [&s.caldav_url, &s.carddav_url].into_iter().flatten() {
        if !url.starts_with("https://") || url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ControlError::Invalid(format!("'{}' is not an https:// URL", names::printable(url))));
        }
    }
    Ok(())
}
