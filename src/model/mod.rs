//! Plain data of the product: accounts, mail objects, policies, server sets, sites, DNS, and
//! the validation of user-typed names. No I/O.

pub mod account;
pub mod change;
pub mod dns;
pub mod mail;
pub mod names;
pub mod policy;
pub mod serverset;
pub mod site;

pub use account::{Account, AccountKind, LimitKind, Limits};
pub use change::ChangeEntry;
pub use dns::{DnsRecord, DnsZone};
pub use mail::{Alias, AliasDomain, AliasKind, Autoresponder, Domain, FilterAction, FilterField, FilterMatch, MailFilter, Mailbox, SpamMove};
pub use names::{Address, DomainName, NameError};
pub use policy::SpamPolicy;
pub use serverset::{AuthMethod, Endpoint, OAuth2, Protocol, Security, ServerSet};
pub use site::Site;
