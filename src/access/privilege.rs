//! The privilege matrix.
//!
//! - admin: everything.
//! - reseller: its customers and, below them, their domains, mailboxes, aliases, filters,
//!   sites and DNS; never other resellers' trees, never policies, server sets or API users.
//! - customer: its own domains, mailboxes, aliases/forwards and filters; reads its own
//!   statistics and sites; no DNS, no sites, no customers.
//! - mailbox user: only its own password, spam settings (move to Junk, purge days, choice of
//!   an existing policy), filters and autoresponder.
//! - API user: the admin's privileges restricted to the functions it was granted
//!   (`domain.add`, `mailbox.*`, `*`), and scoped to a reseller's tree when it belongs to one.

use serde::Serialize;
use std::fmt;

/// The authenticated party a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Actor {
    Admin { name: String },
    Reseller { id: i64, name: String },
    Customer { id: i64, name: String, reseller_id: Option<i64> },
    Mailbox { id: i64, address: String, customer_id: i64 },
    Api { id: i64, name: String, functions: Vec<String>, reseller_id: Option<i64> },
}

impl Actor {
    /// How the actor appears in the change log.
    pub fn label(&self) -> String {
        match self {
            Actor::Admin { name } => format!("admin:{name}"),
            Actor::Reseller { name, .. } => format!("reseller:{name}"),
            Actor::Customer { name, .. } => format!("customer:{name}"),
            Actor::Mailbox { address, .. } => format!("mailbox:{address}"),
            Actor::Api { name, .. } => format!("api:{name}"),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Every operation that reads or changes state through the CLI, API or panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Operation {
    ResellerWrite,
    CustomerAdd,
    CustomerWrite,
    DomainAdd,
    DomainWrite,
    MailboxAdd,
    MailboxWrite,
    /// The mailbox's own password.
    MailboxPassword,
    /// Move to Junk, purge days, policy choice.
    MailboxSpamSettings,
    MailboxAutoresponder,
    FilterWrite,
    AliasWrite,
    PolicyWrite,
    /// Assigning an existing policy to a domain.
    DomainPolicy,
    ServerSetWrite,
    SiteWrite,
    DnsWrite,
    ApiUserWrite,
    /// Reading objects in scope (lists, show, statistics).
    Read,
    /// Reading the change log.
    LogRead,
}

impl Operation {
    /// The function name an API user must hold for this operation.
    pub fn function(self) -> &'static str {
        match self {
            Operation::ResellerWrite => "reseller.write",
            Operation::CustomerAdd | Operation::CustomerWrite => "customer.write",
            Operation::DomainAdd | Operation::DomainWrite | Operation::DomainPolicy => "domain.write",
            Operation::MailboxAdd
            | Operation::MailboxWrite
            | Operation::MailboxPassword
            | Operation::MailboxSpamSettings
            | Operation::MailboxAutoresponder => "mailbox.write",
            Operation::FilterWrite => "filter.write",
            Operation::AliasWrite => "alias.write",
            Operation::PolicyWrite => "policy.write",
            Operation::ServerSetWrite => "serverset.write",
            Operation::SiteWrite => "site.write",
            Operation::DnsWrite => "dns.write",
            Operation::ApiUserWrite => "apiuser.write",
            Operation::Read => "read",
            Operation::LogRead => "log.read",
        }
    }

    /// Every function name, for validating what an admin grants an API user.
    pub const FUNCTIONS: &'static [&'static str] = &[
        "reseller.write",
        "customer.write",
        "domain.write",
        "mailbox.write",
        "filter.write",
        "alias.write",
        "policy.write",
        "serverset.write",
        "site.write",
        "dns.write",
        "apiuser.write",
        "read",
        "log.read",
    ];
}

/// Where the object sits in the ownership tree. Global objects (policies, server sets) have
/// an empty scope; an object under a customer of the admin has `reseller: None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Scope {
    pub reseller: Option<i64>,
    pub customer: Option<i64>,
    pub mailbox: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("permission denied: {actor} may not {what}")]
pub struct Denied {
    pub actor: String,
    pub what: String,
}

/// Decides whether `actor` may perform `op` on an object in `scope`.
pub fn authorize(actor: &Actor, op: Operation, scope: Scope) -> Result<(), Denied> {
    let allowed = match actor {
        Actor::Admin { .. } => true,
        Actor::Api { functions, reseller_id, .. } => {
            let granted = functions.iter().any(|f| {
                f == "*" || f == op.function() || f.strip_suffix(".*").is_some_and(|noun| op.function().starts_with(&format!("{noun}.")))
            });
            granted
                && match reseller_id {
                    None => true,
                    Some(r) => reseller_may(*r, op, scope),
                }
        }
        Actor::Reseller { id, .. } => reseller_may(*id, op, scope),
        Actor::Customer { id, .. } => customer_may(*id, op, scope),
        Actor::Mailbox { id, .. } => mailbox_may(*id, op, scope),
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied { actor: actor.label(), what: describe(op, scope) })
    }
}

fn reseller_may(reseller: i64, op: Operation, scope: Scope) -> bool {
    use Operation::*;
    match op {
        ResellerWrite | PolicyWrite | ServerSetWrite | ApiUserWrite => false,
        // Creating a customer: the new customer's scope names this reseller.
        CustomerAdd => scope.reseller == Some(reseller),
        LogRead | Read => scope.reseller == Some(reseller),
        CustomerWrite | DomainAdd | DomainWrite | DomainPolicy | MailboxAdd | MailboxWrite | MailboxPassword
        | MailboxSpamSettings | MailboxAutoresponder | FilterWrite | AliasWrite | SiteWrite | DnsWrite => {
            scope.reseller == Some(reseller) && scope.customer.is_some()
        }
    }
}

fn customer_may(customer: i64, op: Operation, scope: Scope) -> bool {
    use Operation::*;
    let own = scope.customer == Some(customer);
    match op {
        DomainAdd | DomainWrite | DomainPolicy | MailboxAdd | MailboxWrite | MailboxPassword | MailboxSpamSettings
        | MailboxAutoresponder | FilterWrite | AliasWrite => own,
        Read | LogRead => own,
        ResellerWrite | CustomerAdd | CustomerWrite | PolicyWrite | ServerSetWrite | SiteWrite | DnsWrite
        | ApiUserWrite => false,
    }
}

fn mailbox_may(mailbox: i64, op: Operation, scope: Scope) -> bool {
    use Operation::*;
    let own = scope.mailbox == Some(mailbox);
    match op {
        MailboxPassword | MailboxSpamSettings | MailboxAutoresponder | FilterWrite | Read => own,
        _ => false,
    }
}

fn describe(op: Operation, scope: Scope) -> String {
    // The scope is not printed: naming another owner's objects would leak their existence.
    let what = match op {
        Operation::ResellerWrite => "manage resellers",
        Operation::CustomerAdd => "create customers here",
        Operation::CustomerWrite => "change this customer",
        Operation::DomainAdd => "add domains here",
        Operation::DomainWrite => "change this domain",
        Operation::MailboxAdd => "add mailboxes here",
        Operation::MailboxWrite => "change this mailbox",
        Operation::MailboxPassword => "change this mailbox's password",
        Operation::MailboxSpamSettings => "change this mailbox's spam settings",
        Operation::MailboxAutoresponder => "change this mailbox's autoresponder",
        Operation::FilterWrite => "change this mailbox's filters",
        Operation::AliasWrite => "change aliases here",
        Operation::PolicyWrite => "edit spam policies (admin only)",
        Operation::DomainPolicy => "assign a policy to this domain",
        Operation::ServerSetWrite => "edit mail server sets (admin only)",
        Operation::SiteWrite => "change sites here",
        Operation::DnsWrite => "change DNS here",
        Operation::ApiUserWrite => "manage API users (admin only)",
        Operation::Read => "read this object",
        Operation::LogRead => "read this log",
    };
    let _ = scope;
    what.to_string()
}
