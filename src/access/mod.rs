//! Who may do what: the privilege matrix of the seed manual (§I-1.3) and the resource limits.
//!
//! Invariant: pure. Callers (the `control` layer and the store's write transactions) pass the
//! actor, the operation, the ownership scope of the object and the current counts; nothing here
//! reads storage. Every write path in the product asks `authorize` and `check_limit`, so the
//! matrix and the limits live in this one file pair.

mod limits;
mod privilege;

pub use limits::{check_limit, LimitExceeded, LimitOwner};
pub use privilege::{authorize, Actor, Denied, Operation, Scope};
