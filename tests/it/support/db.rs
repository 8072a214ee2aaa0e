//! Fresh databases on the three backends. PostgreSQL and MariaDB must be reachable (the test
//! script starts them); a run that cannot reach them fails, it does not skip.

use mailward::store::Store;
use sqlx::{AssertSqlSafe, Connection};

pub fn postgres_admin_url() -> String {
    std::env::var("MAILWARD_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn mysql_admin_url() -> String {
    std::env::var("MAILWARD_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

fn unique_name() -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("mwtest_{}_{}_{}", std::process::id(), nanos, n)
}

/// A database that exists for one test: the URL to hand to `Store::open`, plus what is needed
/// to drop it. Dropping happens best-effort at the end of the test.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("mailward.db").display());
    TestDb { url, label: "sqlite", _dir: Some(dir) }
}

pub async fn postgres() -> TestDb {
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is not reachable ({e}); scripts/test starts it"));
    let name = unique_name();
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    TestDb { url: format!("{base}/{name}"), label: "postgres", _dir: None }
}

pub async fn mysql() -> TestDb {
    let admin = mysql_admin_url();
    let mut conn = sqlx::MySqlConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("MariaDB at {admin} is not reachable ({e}); scripts/test starts it"));
    let name = unique_name();
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    TestDb { url: format!("{base}/{name}"), label: "mariadb", _dir: None }
}

pub async fn all() -> Vec<TestDb> {
    vec![sqlite().await, postgres().await, mysql().await]
}

impl TestDb {
    pub async fn open(&self) -> Store {
        Store::open(&self.url, 5).await.unwrap_or_else(|e| panic!("[{}] open: {e}", self.label))
    }
}

impl TestDb {
    /// Drops the PostgreSQL/MariaDB database (SQLite's directory goes with the value).
    pub async fn drop_db(self, store: Store) {
        store.close().await;
        let name = self.url.rsplit_once('/').map(|(_, n)| n.to_string()).unwrap_or_default();
        match self.label {
            "postgres" => {
                if let Ok(mut c) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut c).await;
                }
            }
            "mariadb" => {
                if let Ok(mut c) = sqlx::MySqlConnection::connect(&mysql_admin_url()).await {
                    let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut c).await;
                }
            }
            _ => {}
        }
    }
}
