//! The REST API on the admin listener (`/api/v1/...`): the same operations as the CLI, for
//! remote users, resellers, customers and mailbox users, each with its own privileges.
//!
//! Every request authenticates with HTTP Basic (an account name or a mailbox address) through
//! `Control::authenticate`, then calls the same `control` operation the CLI calls, so the
//! privilege matrix, the limits and the change log apply unchanged. Invariants: no handler
//! touches the store directly; errors never echo a password; internal errors are logged and
//! answered with a generic 500.

mod auth;
mod error;
mod routes;

pub use error::ApiError;
pub use routes::router;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    pub control: crate::control::Control,
    /// For `dns/records`: the hostname clients reach autoconfig under.
    pub public_hostname: String,
}
