//! Persistence: one [`Store`] over PostgreSQL or SQLite. Each method is written once, as one SQL
//! text with `$N` placeholders that both backends accept, and runs on whichever pool the store
//! holds (see [`on_pool!`]). The store knows nothing of OAuth: it stores and loads rows, and each
//! atomic step the protocol needs is one method.

mod checkout;
pub mod cleanup;
pub mod clients;
pub mod tokens;
mod tokens_pg;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::DatabaseSettings;

pub use clients::{ClientPolicy, ClientRecord, ClientStamp, ClientUpdate, NewClient};
pub use tokens::{NewFamily, NewToken, TokenAsClient, TokenKind, TokenRecord};
pub use users::UserRecord;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a row with that key already exists")]
    Duplicate,
    #[error("cannot open the database: {0}")]
    Open(String),
}

impl StoreError {
    /// The connection broke (the database restarted, failed over, or a network device cut an idle
    /// connection). Whether the statement took effect is unknown; a retry gets a fresh connection
    /// (the pool drops the broken one), and a retried refresh is answered by the replay rule.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => true,
            // PostgreSQL: class 08 connection exceptions, 57P01-57P03 shutdown or not yet accepting.
            StoreError::Database(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")),
            _ => false,
        }
    }

    /// Serialization failures and deadlocks (PostgreSQL) or a busy database (SQLite): the
    /// transaction did nothing and may be tried again.
    pub fn is_retryable(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(e)) = self else {
            return false;
        };
        matches!(e.code().as_deref(), Some("40001" | "40P01" | "5" | "6" | "517"))
    }
}

/// Maps a unique-key violation to [`StoreError::Duplicate`].
pub(crate) fn on_duplicate(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Duplicate,
        _ => StoreError::Database(error),
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// PostgreSQL only: a small pool whose sessions commit without waiting for the WAL flush
    /// (`synchronous_commit = off`), for writes whose loss in a database crash is acceptable —
    /// see [`Store::mark_first_use`]. The write is visible to every session as soon as it returns;
    /// only its durability lags (by at most three `wal_writer_delay`s, 600 ms by default).
    relaxed: Option<PgPool>,
}

#[derive(Clone, Debug)]
enum Backend {
    Postgres(checkout::Checkout),
    Sqlite(SqlitePool),
}

/// Runs one body of code against whichever pool the store holds. The body is compiled once per
/// backend, so the SQL and the logic around it are written once. On PostgreSQL `$pool` is a
/// connection taken from [`checkout`] (see `with_connection!`); the body's error type must be
/// `sqlx::Error`.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Postgres(checkout) => {
                $crate::store::checkout::with_connection!(checkout, |$pool| $body)
            }
            $crate::store::Backend::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Opens a pool for the configured URL. A SQLite file and its directory are created.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        let url = settings.url.expose();
        if settings.url.is_postgres() {
            let options = PgConnectOptions::from_str(url)
                .map_err(|_| StoreError::Open("database.url is not a valid PostgreSQL URL".into()))?;
            let max = if settings.max_connections == 0 { 10 } else { settings.max_connections };
            let relaxed_options = options.clone().options([("synchronous_commit", "off")]);
            let pool = pool_options(settings, max).connect_with(options).await?;
            let relaxed = pool_options(settings, 2).connect_lazy_with(relaxed_options);
            let timeout = Duration::from_secs(settings.acquire_timeout_secs);
            let backend = Backend::Postgres(checkout::Checkout::new(pool, max, timeout));
            return Ok(Store { backend, relaxed: Some(relaxed) });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::Open("database.url is not a valid SQLite URL".into()))?;
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Open(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        // One connection: SQLite has one writer at a time, and a single connection never
        // meets SQLITE_BUSY from a lock upgrade. Statements take microseconds.
        let max = if settings.max_connections == 0 { 1 } else { settings.max_connections };
        let pool = pool_options(settings, max).connect_with(options).await?;
        Ok(Store { backend: Backend::Sqlite(pool), relaxed: None })
    }

    /// Applies pending migrations (embedded in the binary).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Postgres(checkout) => POSTGRES_MIGRATIONS.run(checkout.pool()).await?,
            Backend::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// One round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query("select 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Connections open and idle (parked ones count as idle), for metrics.
    pub fn pool_usage(&self) -> (u32, usize) {
        match &self.backend {
            Backend::Postgres(checkout) => (checkout.pool().size(), checkout.pool().num_idle() + checkout.parked()),
            Backend::Sqlite(pool) => (pool.size(), pool.num_idle()),
        }
    }

    pub async fn close(&self) {
        if let Some(relaxed) = &self.relaxed {
            relaxed.close().await;
        }
        match &self.backend {
            Backend::Postgres(checkout) => {
                checkout.release_all();
                checkout.pool().close().await
            }
            Backend::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Pool options from the settings, for either backend.
fn pool_options<DB: sqlx::Database>(settings: &DatabaseSettings, max: u32) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        // sqlx pings every connection before handing it out by default: one more round trip per
        // query (database.test_before_acquire).
        .test_before_acquire(settings.test_before_acquire)
}

/// Splits a space-separated list column.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(' ').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}
