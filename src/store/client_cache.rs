//! Client rows kept in memory, coherent with the database, so that authenticating a known client
//! costs no read.
//!
//! The cache serves a row only while it can tell when that row changes:
//! - a change made through this store drops the row at once ([`ClientCache::forget`]);
//! - a change made anywhere else — another instance, the CLI in another process, plain SQL — is
//!   reported by the database: a trigger on the `client` table bumps `client_change.seq` and, on
//!   PostgreSQL, sends `NOTIFY oauthd_client` with the client id, in the changing transaction.
//!   The watcher of [`super::postgres`] listens and drops the row; the one of [`super::sqlite`]
//!   reads the counter every [`super::sqlite::POLL`] and drops every row when it moved;
//! - while the watcher is not connected (before it first is, or after it lost its connection) the
//!   cache is off: every lookup reads the database, nothing is kept;
//! - whatever the watcher sees or misses, no row is served older than [`MAX_AGE`].
//!
//! Invariant: a client change takes effect on every running instance within [`MAX_AGE`] at the
//! most; on PostgreSQL within the NOTIFY's delivery (milliseconds), on SQLite within
//! [`super::sqlite::POLL`]. A request already past authentication finishes on the row it read.
//!
//! A lookup that reads the database keeps its row only if nothing was dropped while it read (an
//! epoch counts the drops), so a row read just before a change and returned just after it is
//! never kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::clients::ClientRecord;
use crate::sync::lock;

/// The oldest row the cache serves, whatever the watcher reports.
pub const MAX_AGE: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct ClientCache {
    capacity: usize,
    /// The watcher is connected: changes made elsewhere reach [`ClientCache::forget`].
    on: AtomicBool,
    /// Bumped by every drop; a read that saw it move while it ran keeps nothing.
    epoch: AtomicU64,
    rows: Mutex<HashMap<String, Kept>>,
}

#[derive(Debug)]
struct Kept {
    row: Arc<ClientRecord>,
    read_at: Instant,
}

/// Taken before a read of the database; [`ClientCache::keep`] stores the row only if the epoch
/// has not moved since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl ClientCache {
    /// A cache of at most `capacity` rows (0: never keeps anything), off until a watcher turns it on.
    pub fn new(capacity: usize) -> ClientCache {
        ClientCache { capacity, on: AtomicBool::new(false), epoch: AtomicU64::new(0), rows: Mutex::default() }
    }

    /// The row of `client_id`, if it is kept and fresh.
    pub fn get(&self, client_id: &str) -> Option<Arc<ClientRecord>> {
        if !self.on.load(Ordering::Acquire) {
            return None;
        }
        let rows = lock(&self.rows);
        let kept = rows.get(client_id)?;
        (kept.read_at.elapsed() < MAX_AGE).then(|| Arc::clone(&kept.row))
    }

    /// Call before reading a row from the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.epoch.load(Ordering::Acquire))
    }

    /// Keeps a row read from the database since `ticket` was taken, unless something was dropped
    /// in between or the cache is off.
    pub fn keep(&self, ticket: Ticket, row: &Arc<ClientRecord>) {
        if self.capacity == 0 || !self.on.load(Ordering::Acquire) {
            return;
        }
        let mut rows = lock(&self.rows);
        // Checked under the lock that drops take: a drop either happened before (the epoch moved)
        // or waits for this insertion and removes it.
        if self.epoch.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if rows.len() >= self.capacity && !rows.contains_key(&row.client_id) {
            let now = Instant::now();
            rows.retain(|_, kept| now.duration_since(kept.read_at) < MAX_AGE);
            if rows.len() >= self.capacity {
                if let Some(victim) = rows.keys().next().cloned() {
                    rows.remove(&victim);
                }
            }
        }
        rows.insert(row.client_id.clone(), Kept { row: Arc::clone(row), read_at: Instant::now() });
    }

    /// Drops the row of one client (it changed).
    pub fn forget(&self, client_id: &str) {
        let mut rows = lock(&self.rows);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        rows.remove(client_id);
    }

    /// Drops every row (some client changed, or changes may have been missed).
    pub fn forget_all(&self) {
        let mut rows = lock(&self.rows);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        rows.clear();
    }

    /// The watcher is connected and will report changes from now on: start keeping rows.
    pub fn turn_on(&self) {
        self.forget_all();
        self.on.store(true, Ordering::Release);
    }

    /// The watcher lost its connection (or stopped): changes may go unreported, so keep nothing.
    pub fn turn_off(&self) {
        self.on.store(false, Ordering::Release);
        self.forget_all();
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ClientPolicy;

    fn row(id: &str) -> Arc<ClientRecord> {
        Arc::new(ClientRecord {
            client_id: id.into(),
            name: "n".into(),
            secret_hash: "h".into(),
            secret_version: 1,
            grant_types: vec![],
            scopes: vec![],
            default_scopes: vec![],
            created_at: 0,
            updated_at: 0,
            policy: ClientPolicy::default(),
            introspect: false,
            disabled_at: None,
            redirect_uris: Vec::new(),
            public: false,
            pkce_required: true,
            first_party: false,
            owner: None,
        })
    }

    #[test]
    fn an_off_cache_keeps_and_serves_nothing() {
        let cache = ClientCache::new(10);
        cache.keep(cache.ticket(), &row("a"));
        assert!(cache.get("a").is_none());
        cache.turn_on();
        assert!(cache.get("a").is_none(), "nothing kept while off survives turning on");
    }

    #[test]
    fn a_row_is_served_until_it_is_forgotten() {
        let cache = ClientCache::new(10);
        cache.turn_on();
        cache.keep(cache.ticket(), &row("a"));
        cache.keep(cache.ticket(), &row("b"));
        assert_eq!(cache.get("a").map(|r| r.client_id.clone()), Some("a".into()));
        cache.forget("a");
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_some(), "forgetting one client keeps the others");
        cache.forget_all();
        assert!(cache.get("b").is_none());
    }

    #[test]
    fn a_row_read_across_a_change_is_not_kept() {
        let cache = ClientCache::new(10);
        cache.turn_on();
        let ticket = cache.ticket();
        cache.forget("unrelated");
        cache.keep(ticket, &row("a"));
        assert!(cache.get("a").is_none(), "the epoch moved during the read");
        cache.keep(cache.ticket(), &row("a"));
        assert!(cache.get("a").is_some());
    }

    #[test]
    fn turning_off_drops_everything_and_refuses_new_rows() {
        let cache = ClientCache::new(10);
        cache.turn_on();
        cache.keep(cache.ticket(), &row("a"));
        cache.turn_off();
        assert!(cache.get("a").is_none());
        cache.keep(cache.ticket(), &row("a"));
        cache.turn_on();
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let cache = ClientCache::new(2);
        cache.turn_on();
        for id in ["a", "b", "c", "d"] {
            cache.keep(cache.ticket(), &row(id));
        }
        assert_eq!(lock(&cache.rows).len(), 2);
        assert!(cache.get("d").is_some(), "the newest row is kept");
    }

    #[test]
    fn a_zero_capacity_cache_keeps_nothing() {
        let cache = ClientCache::new(0);
        cache.turn_on();
        cache.keep(cache.ticket(), &row("a"));
        assert!(cache.get("a").is_none());
    }
}
