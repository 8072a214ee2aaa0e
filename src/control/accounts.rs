//! Resellers, customers and API users.

use super::{Control, ControlError};
use crate::access::{Actor, Operation, Scope};
use crate::model::{Account, AccountKind, Limits};
use crate::password::hash_password;
use crate::store::{account_scope, AccountChange, NewAccount};

/// Account names are logins: short, printable, no `@` (that form is a mailbox login).
pub fn validate_account_name(name: &str) -> Result<String, ControlError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(ControlError::Invalid(format!(
            "invalid account name '{}': 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
            crate::model::names::printable(name)
        )))
    }
}

pub fn validate_limits(limits: &Limits) -> Result<(), ControlError> {
    for kind in crate::model::LimitKind::ALL {
        if limits.get(kind) < -1 {
            return Err(ControlError::Invalid(format!("limit {} must be -1 (unlimited) or at least 0", kind.name())));
        }
    }
    Ok(())
}

impl Control {
    pub async fn account_of_kind(&self, name: &str, kind: AccountKind) -> Result<Account, ControlError> {
        let name = name.to_ascii_lowercase();
        match self.store.account_by_name(&name).await? {
            Some(a) if a.kind == kind => Ok(a),
            _ => Err(ControlError::not_found(kind.as_str(), &name)),
        }
    }

    pub async fn add_reseller(&self, actor: &Actor, name: &str, password: &str, limits: Limits) -> Result<Account, ControlError> {
        Self::check(actor, Operation::ResellerWrite, Scope::default())?;
        let name = validate_account_name(name)?;
        validate_limits(&limits)?;
        let new = NewAccount { kind: AccountKind::Reseller, name, password_hash: hash_password(password)?, parent_id: None, limits, api_functions: vec![] };
        Ok(self.store.create_account(&actor.label(), new).await?)
    }

    /// Adds a customer under `reseller` (by name), or under the acting reseller, or under the
    /// admin when neither is given.
    pub async fn add_customer(&self, actor: &Actor, name: &str, reseller: Option<&str>, password: &str, limits: Limits) -> Result<Account, ControlError> {
        let reseller_id = match (reseller, actor) {
            (Some(r), _) => Some(self.account_of_kind(r, AccountKind::Reseller).await?.id),
            (None, Actor::Reseller { id, .. }) => Some(*id),
            (None, Actor::Api { reseller_id, .. }) => *reseller_id,
            (None, _) => None,
        };
        Self::check(actor, Operation::CustomerAdd, Scope { reseller: reseller_id, customer: None, mailbox: None })?;
        let name = validate_account_name(name)?;
        validate_limits(&limits)?;
        let new = NewAccount { kind: AccountKind::Customer, name, password_hash: hash_password(password)?, parent_id: reseller_id, limits, api_functions: vec![] };
        Ok(self.store.create_account(&actor.label(), new).await?)
    }

    pub async fn add_api_user(&self, actor: &Actor, name: &str, password: &str, functions: Vec<String>, reseller: Option<&str>) -> Result<Account, ControlError> {
        Self::check(actor, Operation::ApiUserWrite, Scope::default())?;
        let name = validate_account_name(name)?;
        for f in &functions {
            let known = f == "*" || Operation::FUNCTIONS.contains(&f.as_str()) || f.strip_suffix(".*").is_some_and(|n| Operation::FUNCTIONS.iter().any(|k| k.starts_with(&format!("{n}."))));
            if !known {
                return Err(ControlError::Invalid(format!("unknown API function '{}'; known: *, {}", crate::model::names::printable(f), Operation::FUNCTIONS.join(", "))));
            }
        }
        if functions.is_empty() {
            return Err(ControlError::Invalid("an API user needs at least one function (--function)".into()));
        }
        let parent_id = match reseller {
            Some(r) => Some(self.account_of_kind(r, AccountKind::Reseller).await?.id),
            None => None,
        };
        let new = NewAccount { kind: AccountKind::Api, name, password_hash: hash_password(password)?, parent_id, limits: Limits::UNLIMITED, api_functions: functions };
        Ok(self.store.create_account(&actor.label(), new).await?)
    }

    /// The operation that writes an account of this kind.
    fn write_op(kind: AccountKind) -> Operation {
        match kind {
            AccountKind::Reseller | AccountKind::Admin => Operation::ResellerWrite,
            AccountKind::Customer => Operation::CustomerWrite,
            AccountKind::Api => Operation::ApiUserWrite,
        }
    }

    pub async fn update_account(&self, actor: &Actor, kind: AccountKind, name: &str, change: AccountUpdate) -> Result<Account, ControlError> {
        let account = self.account_of_kind(name, kind).await?;
        Self::check(actor, Self::write_op(kind), account_scope(&account))?;
        let limits = match change.limits {
            Some(edit) => {
                let mut l = account.limits;
                edit(&mut l);
                validate_limits(&l)?;
                Some(l)
            }
            None => None,
        };
        let password_hash = change.password.as_deref().map(hash_password).transpose()?;
        let store_change = AccountChange { limits, active: change.active, password_hash, api_functions: None };
        Ok(self.store.update_account(&actor.label(), account.id, store_change).await?)
    }

    pub async fn delete_account(&self, actor: &Actor, kind: AccountKind, name: &str) -> Result<(), ControlError> {
        let account = self.account_of_kind(name, kind).await?;
        Self::check(actor, Self::write_op(kind), account_scope(&account))?;
        Ok(self.store.delete_account(&actor.label(), account.id).await?)
    }

    pub async fn list_accounts(&self, actor: &Actor, kind: AccountKind) -> Result<Vec<Account>, ControlError> {
        let scope = Self::check_read(actor)?;
        let mut accounts = self.store.list_accounts(kind, None).await?;
        accounts.retain(|a| {
            let s = account_scope(a);
            scope.reseller.is_none_or(|r| s.reseller == Some(r)) && scope.customer.is_none_or(|c| s.customer == Some(c))
        });
        if matches!(actor, Actor::Mailbox { .. }) {
            accounts.clear();
        }
        Ok(accounts)
    }

    pub async fn show_account(&self, actor: &Actor, kind: AccountKind, name: &str) -> Result<Account, ControlError> {
        let account = self.account_of_kind(name, kind).await?;
        Self::check(actor, Operation::Read, account_scope(&account))?;
        Ok(account)
    }
}

/// A change to an account from the CLI/API: `limits` edits the current limits in place.
#[derive(Default)]
pub struct AccountUpdate {
    pub limits: Option<Box<dyn FnOnce(&mut Limits) + Send>>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

impl Control {
    /// Checks a login: an account name, or a mailbox address (mailbox users log in with their
    /// address). Unknown logins and wrong passwords give the same error, and an unknown login
    /// still costs one hash verification, so timing does not reveal which logins exist.
    pub async fn authenticate(&self, login: &str, password: &str) -> Result<Actor, ControlError> {
        const WRONG: &str = "wrong login or password";
        let stored = if login.contains('@') {
            match crate::model::Address::parse(login) {
                Ok(a) => self.store.mailbox_credentials(a.as_str()).await?.filter(|c| c.mailbox.active).map(|c| c.password_hash),
                Err(_) => None,
            }
        } else {
            self.store.account_credentials(&login.to_ascii_lowercase()).await?.filter(|(a, _)| a.active).map(|(_, h)| h)
        };
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash().to_string());
        if !crate::password::verify_password(password, &hash) || !known {
            return Err(ControlError::Invalid(WRONG.into()));
        }
        self.actor_named(login).await
    }
}

/// Verified against when the login does not exist: a real hash of a random password, so the
/// work is the same as for a known login.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::password::hash_password(&crate::password::generate_password()).unwrap_or_default())
}
