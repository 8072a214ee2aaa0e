use crate::access::Denied;
use crate::model::NameError;
use crate::password::PasswordError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("unknown account '{0}'")]
    UnknownActor(String),
    #[error("{kind} '{name}' not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{0}")]
    Invalid(String),
}

impl ControlError {
    pub fn not_found(kind: &'static str, name: &str) -> Self {
        ControlError::NotFound { kind, name: crate::model::names::printable(name) }
    }
}
