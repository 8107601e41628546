//! Persistence: one [`Store`] over PostgreSQL or SQLite. It stores and loads rows and knows
//! nothing of OAuth; each atomic step the protocol needs is one method.
//!
//! Shared code is split by table (`clients`, `users`, `families`, `tokens`, `codes`, `events`,
//! `throttle`) and by concern (`cleanup` for the janitor, `client_cache` for the coherent cache of
//! client rows). Each statement is a named constant with `$N` placeholders, which both backends
//! accept, run through [`on_pool!`] on whichever pool the store holds. The few dialect forks sit
//! side by side in [`postgres`] and [`sqlite`]: the hot writes (one statement each on PostgreSQL, a
//! transaction on SQLite) and how each backend tells this process that a client row changed.
//! On PostgreSQL, refresh rotations that arrive together run as one statement ([`batch`]).

mod batch;
mod checkout;
pub mod cleanup;
pub mod client_cache;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod events;
pub mod families;
mod postgres;
pub mod sessions;
mod sqlite;
pub mod throttle;
pub mod tokens;
pub mod types;
pub mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::DatabaseSettings;
use client_cache::ClientCache;

pub use clients::{ClientFilter, ClientPolicy, ClientRecord, ClientUpdate, NewClient};
pub use codes::{CodeExchange, CodeRecord, NewCode};
pub use consents::ConsentRecord;
pub use events::{EventFilter, NewSecurityEvent, SecurityEventRecord};
pub use families::{FamilyFilter, FamilyRecord, NewFamily, NewGrant};
pub use sessions::{SessionRecord, UserSessionRecord};
pub use throttle::ThrottleKind;
pub use tokens::{NewToken, Revocation, Rotation, TokenRecord};
pub use types::{ActorKind, Digest, EventKind, GrantType, TokenKind};
pub use users::{UserFilter, UserRecord};

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
    /// A row refers to one that no longer exists (a client or user deleted during the request).
    #[error("a referenced row no longer exists")]
    Gone,
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

    /// PostgreSQL refused a text it cannot hold (SQLSTATE 22021 `character_not_in_repertoire`, as
    /// for a NUL byte; 22P05 `untranslatable_character`, in a database not encoded in UTF-8): the
    /// request carried it. Lookups never get here ([`holds`]); a statement that binds request text
    /// without asking meets this instead of a row.
    pub fn is_unstorable_text(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(e)) = self else {
            return false;
        };
        matches!(e.code().as_deref(), Some("22021" | "22P05"))
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

/// Maps unique and foreign-key violations to [`StoreError::Duplicate`] and [`StoreError::Gone`].
pub(crate) fn on_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Duplicate,
        sqlx::Error::Database(e) if e.is_foreign_key_violation() => StoreError::Gone,
        _ => StoreError::Database(error),
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// PostgreSQL only: a small pool whose sessions commit without waiting for the WAL flush
    /// (`synchronous_commit = off`), for writes whose loss in a database crash is acceptable —
    /// see [`Store::mark_first_use`]. The write is visible to every session as soon as it returns;
    /// only its durability lags (by at most three `wal_writer_delay`s).
    relaxed: Option<PgPool>,
    /// Client rows this process read, kept coherent with the database by
    /// [`Store::watch_client_changes`]; off (every lookup reads the database) until it runs.
    clients: Arc<ClientCache>,
    /// PostgreSQL only: rotations batched into one statement each ([`batch`]).
    rotations: Option<batch::Batcher>,
}

#[derive(Clone, Debug)]
enum Backend {
    Postgres(checkout::Checkout),
    Sqlite(SqlitePool),
}

/// `on_pool!(store, |conn| body)`: runs `body` on a connection of whichever pool the store holds,
/// like an async closure — the code is written once and compiled once per backend. The body's
/// value is a `Result<_, sqlx::Error>`, which becomes the macro's; a `?` inside leaves the body,
/// not the enclosing function. On PostgreSQL `conn` is a `&mut PgConnection` taken from
/// [`checkout`] and parked again after a clean result; on SQLite it is the `&SqlitePool`.
macro_rules! on_pool {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Postgres(checkout) => match checkout.acquire().await {
                Ok(mut held) => {
                    #[allow(unused_imports)]
                    use sqlx::Connection as _;
                    let $conn: &mut sqlx::PgConnection = &mut held;
                    let result: Result<_, sqlx::Error> = async { $body }.await;
                    held.release(result)
                }
                Err(error) => Err(error),
            },
            $crate::store::Backend::Sqlite(pool) => {
                let $conn = pool;
                let result: Result<_, sqlx::Error> = async { $body }.await;
                result
            }
        }
    };
}
pub(crate) use on_pool;

const PING: &str = "select 1";

/// PostgreSQL connections a server opens when `database.max_connections` is 0. Durable commits
/// wait for the WAL flush, so throughput grows with the commits in flight: at 64 concurrent
/// clients 10 connections lost up to a sixth of the refresh throughput that 20 keep, while 16
/// clients see no difference (BENCHMARKS.md). The relaxed pool (2) and the client-change listener
/// (1) come on top.
const DEFAULT_POSTGRES_POOL: u32 = 20;

impl Store {
    /// Opens a pool for the configured URL. A SQLite file and its directory are created.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        let url = settings.url.expose();
        let clients = Arc::new(ClientCache::new(settings.client_cache_capacity));
        if settings.url.is_postgres() {
            let options = PgConnectOptions::from_str(url)
                .map_err(|_| StoreError::Open("database.url is not a valid PostgreSQL URL".into()))?;
            let max = if settings.max_connections == 0 { DEFAULT_POSTGRES_POOL } else { settings.max_connections };
            let relaxed_options = options.clone().options([("synchronous_commit", "off")]);
            let pool = pool_options(settings, max).connect_with(options).await?;
            let relaxed = pool_options(settings, 2).connect_lazy_with(relaxed_options);
            let timeout = Duration::from_secs(settings.acquire_timeout_secs);
            let checkout = checkout::Checkout::new(pool, max, timeout);
            let rotations = Some(batch::Batcher::new(checkout.clone(), max));
            let backend = Backend::Postgres(checkout);
            return Ok(Store { backend, relaxed: Some(relaxed), clients, rotations });
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
        Ok(Store { backend: Backend::Sqlite(pool), relaxed: None, clients, rotations: None })
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
        on_pool!(self, |conn| sqlx::query(PING).execute(conn).await.map(|_| ()))?;
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

    /// Keeps the client cache coherent with the database until the task is aborted: turns the
    /// cache on and drops what changed, as each backend reports it ([`postgres::watch_clients`],
    /// [`sqlite::watch_clients`]). A server runs one; a one-shot command runs none and reads the
    /// database for every client lookup.
    pub fn watch_client_changes(&self) -> tokio::task::JoinHandle<()> {
        let cache = Arc::clone(&self.clients);
        match &self.backend {
            Backend::Postgres(checkout) => tokio::spawn(postgres::watch_clients(checkout.pool().clone(), cache)),
            Backend::Sqlite(pool) => tokio::spawn(sqlite::watch_clients(pool.clone(), cache)),
        }
    }

    /// Whether the client cache is on: a watcher is connected and reports changes.
    pub fn client_cache_is_on(&self) -> bool {
        self.clients.is_on()
    }

    pub async fn close(&self) {
        self.clients.turn_off();
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

/// The writes each backend does its own way, side by side: [`postgres`] runs each as one
/// data-modifying statement (one round trip, atomic as a statement), [`sqlite`] as a transaction
/// (SQLite has no data-modifying `WITH`). The store contract tests hold both to the same outcome.
/// Implemented for the connection [`on_pool!`] hands out, so
/// `on_pool!(store, |conn| conn.rotate(r).await)` picks the backend's own.
pub(crate) trait Dialect {
    /// [`Store::insert_grant`].
    async fn insert_grant(self, grant: &NewGrant<'_>) -> Result<(), sqlx::Error>;
    /// [`Store::rotate_refresh_token`]: whether the old token was still rotatable.
    async fn rotate(self, rotation: &Rotation<'_>) -> Result<bool, sqlx::Error>;
    /// [`Store::refresh_in_place`]: whether the refresh token was still usable.
    async fn refresh_in_place(self, refresh: &tokens::InPlace<'_>) -> Result<bool, sqlx::Error>;
    /// [`Store::exchange_code`]: whether the code was still exchangeable.
    async fn exchange_code(self, exchange: &CodeExchange<'_>) -> Result<bool, sqlx::Error>;
}

/// How often a transaction that met a serialization failure, deadlock or busy database is retried.
const RETRIES: usize = 5;

/// Runs a transaction again when the database says it may (serialization failure, deadlock,
/// busy), so such conflicts never reach a client as a 500.
pub(crate) async fn with_retries<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match attempt().await.map_err(on_conflict) {
            Err(e) if e.is_retryable() && tries < RETRIES => {
                tries += 1;
                tracing::debug!(tries, "retrying a transaction after a conflict");
                tokio::time::sleep(Duration::from_millis(2 << tries)).await;
            }
            other => return other,
        }
    }
}

/// Whether the database can hold `text`. PostgreSQL's `text` cannot hold U+0000: a statement that
/// binds it fails whole (`invalid byte sequence for encoding "UTF8": 0x00`); SQLite's can.
///
/// So no row is keyed by such a text (the admin rules refuse control characters in client ids and
/// usernames), and the store answers a lookup by one as it answers any unknown key, without a
/// query, on both backends alike. The check sits here, in the lookups every endpoint goes through
/// ([`Store::find_client`], [`Store::find_user`]), rather than in each endpoint, so that the next
/// endpoint reading a client id or a username cannot forget it.
pub(crate) fn holds(text: &str) -> bool {
    !text.contains('\0')
}

/// Splits a space-separated list column.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(' ').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}
