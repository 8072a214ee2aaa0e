//! The operations the CLI, the REST API and the panel share.
//!
//! Each operation validates its input (`model::names`), resolves the objects it names, asks
//! `access::authorize` with the object's place in the ownership tree, and calls the store,
//! whose transaction checks limits and writes the change log. Invariant: no write reaches the
//! store except through here, so privileges are decided in one place; the store decides limits.

mod accounts;
mod dns;
mod error;
mod mail;
mod policies;

pub use error::ControlError;
pub use accounts::{validate_account_name, AccountUpdate};
pub use mail::{MailboxChange, NewMailboxInput};

use crate::access::{authorize, Actor, Operation, Scope};
use crate::model::AccountKind;
use crate::store::Store;

/// The control plane over one store.
#[derive(Clone)]
pub struct Control {
    pub store: Store,
}

impl Control {
    pub fn new(store: Store) -> Control {
        Control { store }
    }

    /// The actor for `--as NAME`: an account name, or a mailbox address.
    pub async fn actor_named(&self, name: &str) -> Result<Actor, ControlError> {
        if name.contains('@') {
            let address = crate::model::Address::parse(name)?;
            let mailbox = self.store.mailbox_by_address(address.as_str()).await?.ok_or_else(|| ControlError::UnknownActor(name.to_string()))?;
            let domain = self.store.domain(mailbox.domain_id).await?;
            return Ok(Actor::Mailbox { id: mailbox.id, address: mailbox.address, customer_id: domain.customer_id });
        }
        let account = self.store.account_by_name(name).await?.ok_or_else(|| ControlError::UnknownActor(crate::model::names::printable(name)))?;
        if !account.active {
            return Err(ControlError::Invalid(format!("account '{}' is disabled", account.name)));
        }
        Ok(match account.kind {
            AccountKind::Admin => Actor::Admin { name: account.name },
            AccountKind::Reseller => Actor::Reseller { id: account.id, name: account.name },
            AccountKind::Customer => Actor::Customer { id: account.id, name: account.name, reseller_id: account.parent_id },
            AccountKind::Api => Actor::Api { id: account.id, name: account.name, functions: account.api_functions, reseller_id: account.parent_id },
        })
    }

    /// What an actor may list: everything for the admin, its own subtree otherwise.
    pub fn visible_scope(actor: &Actor) -> Scope {
        match actor {
            Actor::Admin { .. } => Scope::default(),
            Actor::Api { reseller_id, .. } => Scope { reseller: *reseller_id, customer: None, mailbox: None },
            Actor::Reseller { id, .. } => Scope { reseller: Some(*id), customer: None, mailbox: None },
            Actor::Customer { id, reseller_id, .. } => Scope { reseller: *reseller_id, customer: Some(*id), mailbox: None },
            Actor::Mailbox { id, customer_id, .. } => Scope { reseller: None, customer: Some(*customer_id), mailbox: Some(*id) },
        }
    }

    pub(crate) fn check(actor: &Actor, op: Operation, scope: Scope) -> Result<(), ControlError> {
        authorize(actor, op, scope).map_err(ControlError::from)
    }

    /// Reading a list needs the `read` function for API users; everyone else reads its scope.
    pub(crate) fn check_read(actor: &Actor) -> Result<Scope, ControlError> {
        let scope = Self::visible_scope(actor);
        Self::check(actor, Operation::Read, scope)?;
        Ok(scope)
    }
}
