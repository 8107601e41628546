//! The `security_event` table: what happened, who did it, to which client, user or grant family,
//! from which address — never a token, code, secret or password. Rows are written by
//! `oauth::events` (the one function that also logs them), listed newest first for the admin API
//! and the console, and pruned by the janitor (`cleanup`).

use super::types::{ActorKind, EventKind};
use super::{on_pool, Store, StoreError};
use crate::clock::UnixTime;

/// A security event to store.
#[derive(Debug)]
pub struct NewSecurityEvent<'a> {
    pub occurred_at: UnixTime,
    pub kind: EventKind,
    pub actor_kind: ActorKind,
    pub actor_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub username: Option<&'a str>,
    pub family_id: Option<&'a str>,
    pub peer_address: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// A stored security event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SecurityEventRecord {
    pub security_event_id: i64,
    pub occurred_at: UnixTime,
    pub kind: EventKind,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub family_id: Option<String>,
    pub peer_address: Option<String>,
    pub detail: Option<String>,
}

/// Which events to list; `None` matches any. `since` and `until` are inclusive.
#[derive(Debug, Default, Clone)]
pub struct EventFilter<'a> {
    pub kind: Option<EventKind>,
    pub client_id: Option<&'a str>,
    pub username: Option<&'a str>,
    pub since: Option<UnixTime>,
    pub until: Option<UnixTime>,
}

/// Where a page of events starts: after the event at (`occurred_at`, `security_event_id`) in
/// newest-first order.
pub type EventKey = (UnixTime, i64);

const INSERT_EVENT: &str = "insert into security_event (occurred_at, kind, actor_kind, actor_id, client_id, \
     username, family_id, peer_address, detail) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Newest first, ties by id; `$6`/`$7` is the last event of the previous page.
const SELECT_EVENTS: &str = "select security_event_id, occurred_at, kind, actor_kind, actor_id, client_id, \
     username, family_id, peer_address, detail from security_event \
     where ($1 is null or kind = $1) and ($2 is null or client_id = $2) and ($3 is null or username = $3) \
     and ($4 is null or occurred_at >= $4) and ($5 is null or occurred_at <= $5) \
     and ($6 is null or occurred_at < $6 or (occurred_at = $6 and security_event_id < $7)) \
     order by occurred_at desc, security_event_id desc limit $8";

impl Store {
    pub async fn insert_security_event(&self, event: &NewSecurityEvent<'_>) -> Result<(), StoreError> {
        on_pool!(self, |conn| sqlx::query(INSERT_EVENT)
            .bind(event.occurred_at)
            .bind(event.kind)
            .bind(event.actor_kind)
            .bind(event.actor_id)
            .bind(event.client_id)
            .bind(event.username)
            .bind(event.family_id)
            .bind(event.peer_address)
            .bind(event.detail)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Up to `limit` events matching `filter`, newest first, after `after` (the last event of the
    /// previous page).
    pub async fn list_security_events(
        &self,
        filter: &EventFilter<'_>,
        after: Option<EventKey>,
        limit: u32,
    ) -> Result<Vec<SecurityEventRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_EVENTS)
            .bind(filter.kind)
            .bind(filter.client_id)
            .bind(filter.username)
            .bind(filter.since)
            .bind(filter.until)
            .bind(after.map(|(at, _)| at))
            .bind(after.map(|(_, id)| id))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await)?)
    }
}
