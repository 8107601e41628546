//! PostgreSQL connections kept by the store between statements, so that a statement that ends
//! cleanly does not hand its connection back to the sqlx pool.
//!
//! sqlx 0.8 pings every connection handed back to its pool (a round trip, in a task it spawns for
//! the purpose; not configurable), which doubles the round trips of a one-statement request. So a
//! connection whose statement succeeded is parked here instead ([`Held::release`] with an `Ok`),
//! and the next statement takes the most recently parked one. The ping exists to flush what a
//! failed or cancelled statement left behind (a pending rollback, a half-read reply); those
//! connections are never parked: an error, or a dropped future, hands the connection back to sqlx,
//! which pings or closes it.
//!
//! Invariant: parked connections count against the sqlx pool's `max_connections`. A call first
//! takes one of `max_connections` permits (in order), then a parked connection, or, only when
//! none is parked, one from the sqlx pool. Without the permits, calls that found nothing parked
//! would wait on the sqlx pool for connections that sat parked. With them, a call that finds
//! nothing parked can count on the sqlx pool: every connection out of it is held by another permit
//! holder (at most `max_connections - 1`) or on its way back.
//!
//! A connection parked longer than [`FRESH_FOR`] goes back through sqlx before it is used again,
//! so sqlx's own checks (`max_lifetime`, `test_before_acquire`) still apply to connections that sat
//! idle: the shortcut is taken only while traffic keeps the connections busy (HikariCP's "alive
//! bypass window", on the same reasoning).

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sync::lock;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a parked connection is taken without going back through the sqlx pool.
pub const FRESH_FOR: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct Checkout {
    pool: PgPool,
    /// One per connection the sqlx pool may open, held by a call from before it takes a
    /// connection until it parks it or hands it back (see the module documentation).
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
    parked: Arc<Mutex<Vec<Parked>>>,
}

#[derive(Debug)]
struct Parked {
    conn: PoolConnection<Postgres>,
    since: Instant,
}

/// A connection taken for one store call. Dropped, it goes back to the sqlx pool (which pings
/// it); [`Held::release`] with a clean result keeps it for the next call instead.
pub struct Held<'a> {
    conn: PoolConnection<Postgres>,
    home: &'a Checkout,
    _permit: SemaphorePermit<'a>,
}

impl Checkout {
    pub fn new(pool: PgPool, max_connections: u32, acquire_timeout: Duration) -> Checkout {
        let permits = Arc::new(Semaphore::new(max_connections as usize));
        Checkout { pool, permits, acquire_timeout, parked: Arc::default() }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How long a call waits for a connection (`database.acquire_timeout_secs`).
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The most recently parked connection if it is fresh, else one from the sqlx pool, within
    /// the pool's acquire timeout.
    pub async fn acquire(&self) -> Result<Held<'_>, sqlx::Error> {
        tokio::time::timeout(self.acquire_timeout, self.acquire_in_turn())
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
    }

    async fn acquire_in_turn(&self) -> Result<Held<'_>, sqlx::Error> {
        let permit = self.permits.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?;
        let conn = match self.take_parked() {
            Some(conn) => conn,
            // Nothing parked: the connections out of the sqlx pool are those of the other permit
            // holders (at most `max_connections - 1`) and those on their way back to it, so it
            // has one to give.
            None => self.pool.acquire().await?,
        };
        Ok(Held { conn, home: self, _permit: permit })
    }

    /// The most recently parked connection, if it is fresh. A stale one goes back through
    /// sqlx's checks (and is likely the one the sqlx pool hands out next).
    fn take_parked(&self) -> Option<PoolConnection<Postgres>> {
        let parked = lock(&self.parked).pop()?;
        (parked.since.elapsed() < FRESH_FOR).then_some(parked.conn)
    }

    /// Connections parked now, for the pool metrics.
    pub fn parked(&self) -> usize {
        lock(&self.parked).len()
    }

    /// Hands every parked connection back to the sqlx pool (before it is closed).
    pub fn release_all(&self) {
        lock(&self.parked).clear();
    }
}

impl Held<'_> {
    /// Ends the call with its result: a clean result parks the connection for the next call; an
    /// error hands it back to the sqlx pool, whose ping flushes whatever the error left behind.
    pub fn release<T>(self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if result.is_ok() {
            self.park();
        }
        result
    }

    /// Keeps the connection for the next call. The oldest parked connection goes back to sqlx if
    /// it has gone stale, so connections idle under light traffic return to the pool's care.
    fn park(self) {
        let Held { conn, home, _permit } = self;
        let mut parked = lock(&home.parked);
        if parked.first().is_some_and(|oldest| oldest.since.elapsed() >= FRESH_FOR) {
            parked.remove(0);
        }
        parked.push(Parked { conn, since: Instant::now() });
        drop(parked);
        drop(_permit);
    }
}

impl Deref for Held<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}
