//! Resource limits: the one decision whether adding `n` more of something stays within the
//! owner's limit.

use crate::model::{LimitKind, Limits};
use serde::Serialize;

/// Whose limit it is, named as users know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LimitOwner {
    Reseller(String),
    Customer(String),
}

impl std::fmt::Display for LimitOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitOwner::Reseller(n) => write!(f, "reseller '{n}'"),
            LimitOwner::Customer(n) => write!(f, "customer '{n}'"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limit reached: {owner} may have at most {limit} {} (has {current}, this adds {adding})", .kind.name())]
pub struct LimitExceeded {
    pub owner: LimitOwner,
    pub kind: LimitKind,
    pub limit: i64,
    pub current: i64,
    pub adding: i64,
}

/// `current` is what the owner has now, `adding` what the write adds (a quota increase, one
/// mailbox). Removing (`adding <= 0`) is always allowed, even above a lowered limit.
pub fn check_limit(owner: &LimitOwner, limits: &Limits, kind: LimitKind, current: i64, adding: i64) -> Result<(), LimitExceeded> {
    let limit = limits.get(kind);
    if limit < 0 || adding <= 0 || current.saturating_add(adding) <= limit {
        return Ok(());
    }
    Err(LimitExceeded { owner: owner.clone(), kind, limit, current, adding })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_and_within_and_over() {
        let owner = LimitOwner::Customer("acme".into());
        let mut limits = Limits::UNLIMITED;
        assert!(check_limit(&owner, &limits, LimitKind::Mailboxes, 1_000_000, 1).is_ok());
        limits.mailboxes = 2;
        assert!(check_limit(&owner, &limits, LimitKind::Mailboxes, 1, 1).is_ok());
        let err = check_limit(&owner, &limits, LimitKind::Mailboxes, 2, 1).unwrap_err();
        assert_eq!(err.to_string(), "limit reached: customer 'acme' may have at most 2 mailboxes (has 2, this adds 1)");
        limits.mailboxes = 0;
        assert!(check_limit(&owner, &limits, LimitKind::Mailboxes, 5, -1).is_ok());
    }
}
