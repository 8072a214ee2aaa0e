use crate::access::LimitExceeded;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to database {url}: {message}")]
    Connect { url: String, message: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration {version} failed: {message}")]
    Migration { version: i64, message: String },
    #[error("{kind} '{name}' not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} '{name}' already exists")]
    Duplicate { kind: &'static str, name: String },
    #[error("{kind} '{name}' is still used by {by}")]
    InUse { kind: &'static str, name: String, by: String },
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    #[error("{0}")]
    Invalid(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        StoreError::NotFound { kind, name: name.into() }
    }
}

/// Turns a unique-constraint violation into `Duplicate`, which is what users need to hear when
/// two writers raced past the existence check.
pub(crate) fn duplicate_or(e: sqlx::Error, kind: &'static str, name: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Duplicate { kind, name: name.to_string() };
        }
    }
    StoreError::Database(e)
}
