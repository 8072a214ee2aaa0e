//! The store: every SQL statement of mailward, on SQLite (embedded default), PostgreSQL or
//! MariaDB, through sqlx's `Any` driver.
//!
//! Statements are written once with `?` placeholders and adapted per backend (`Store::sql`);
//! the few dialect differences (integer casts, row locks) are methods here, so the per-table
//! files read as plain SQL. Invariants:
//! - every write runs in one transaction that checks the owner's limits with
//!   `access::check_limit` and appends its change-log entry, so a refused or failed write leaves
//!   nothing behind;
//! - read paths never select a password hash; only `credentials` does;
//! - booleans are stored as integers 0/1 and times as Unix seconds, so the three backends
//!   decode the same types.

mod accounts;
mod changelog;
mod dns;
mod domains;
mod error;
mod filters;
mod limits;
mod mailboxes;
mod migrate;
mod policies;
mod rows;
mod serversets;
mod sites;
mod snapshot;

pub use accounts::{account_scope, AccountChange, NewAccount};
pub use changelog::LogQuery;
pub use domains::NewDomain;
pub use error::StoreError;
pub use mailboxes::{MailboxCredentials, NewMailbox};
pub use snapshot::MailSnapshot;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Executor};
use std::time::Duration;

/// The database product behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split(':').next().unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::MySql),
            _ => Err(StoreError::Invalid(format!(
                "database.url must start with sqlite:, postgres: or mysql:, not '{}'",
                crate::model::names::printable(scheme)
            ))),
        }
    }
}

/// A connection pool plus the backend it talks to. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

pub(crate) type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

impl Store {
    /// Connects, creating the SQLite file if needed, and brings the schema up to date.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::MySql if url.starts_with("mariadb:") => url.replacen("mariadb:", "mysql:", 1),
            _ => url.to_string(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { max_connections.min(4) } else { max_connections })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await.map_err(|e| StoreError::Connect { url: redact(&url), message: e.to_string() })?;
        let store = Store { pool, backend };
        migrate::run(&store).await?;
        store.seed_presets().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Adapts a statement written with `?` placeholders to the backend.
    pub(crate) fn sql(&self, text: &str) -> AssertSqlSafe<String> {
        if self.backend != Backend::Postgres {
            return AssertSqlSafe(text.to_string());
        }
        let mut out = String::with_capacity(text.len() + 8);
        let mut n = 0;
        for c in text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        AssertSqlSafe(out)
    }

    /// `SUM`/`COUNT` results as a 64-bit integer on every backend (PostgreSQL and MariaDB
    /// return NUMERIC/DECIMAL for `SUM`, which the `Any` driver does not decode).
    pub(crate) fn int_expr(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => expr.to_string(),
            Backend::Postgres => format!("CAST({expr} AS BIGINT)"),
            Backend::MySql => format!("CAST({expr} AS SIGNED)"),
        }
    }

    /// Row lock suffix for `SELECT`s that serialise writes per owner (limit checks).
    pub(crate) fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres | Backend::MySql => " FOR UPDATE",
        }
    }

    pub(crate) async fn begin(&self) -> Result<Tx<'static>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) async fn fetch_all(&self, sql: &str, binds: Vec<Bind>) -> Result<Vec<AnyRow>, StoreError> {
        let mut q = sqlx::query(self.sql(sql));
        for b in binds {
            q = b.bind(q);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    pub(crate) async fn fetch_optional(&self, sql: &str, binds: Vec<Bind>) -> Result<Option<AnyRow>, StoreError> {
        let mut q = sqlx::query(self.sql(sql));
        for b in binds {
            q = b.bind(q);
        }
        Ok(q.fetch_optional(&self.pool).await?)
    }

    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        use sqlx::Row;
        let row = self.fetch_optional("SELECT value FROM settings WHERE name = ?", vec![Bind::Text(name.into())]).await?;
        Ok(row.map(|r| r.try_get::<String, _>("value")).transpose()?)
    }

    pub async fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(self.sql("DELETE FROM settings WHERE name = ?")).bind(name.to_string()).execute(&mut *tx).await?;
        sqlx::query(self.sql("INSERT INTO settings (name, value) VALUES (?, ?)"))
            .bind(name.to_string())
            .bind(value.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A bound parameter, so that dynamic statements can collect their arguments first.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
}

impl Bind {
    pub(crate) fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match self {
            Bind::Int(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
        }
    }
}

/// Limits a listing to a scope's customers: one customer, or every customer of a reseller,
/// or (the admin's empty scope) everything. `customer_column` names the owning customer.
pub(crate) fn push_scope(sql: &mut String, binds: &mut Vec<Bind>, scope: crate::access::Scope, customer_column: &str) {
    if let Some(c) = scope.customer {
        sql.push_str(&format!(" AND {customer_column} = ?"));
        binds.push(Bind::Int(c));
    } else if let Some(r) = scope.reseller {
        sql.push_str(&format!(" AND {customer_column} IN (SELECT id FROM accounts WHERE parent_id = ?)"));
        binds.push(Bind::Int(r));
    }
}

/// A URL with its password replaced, for error messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
