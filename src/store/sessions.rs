//! The `web_session` table: the pages' sign-in sessions, keyed by the SHA-256 digest of the id
//! the browser's cookie holds (the id itself is never stored). What a session's lifetimes mean is
//! decided in `oauth::session`; the store keeps the times.

use super::types::Digest;
use super::{on_conflict, on_pool, Store, StoreError};
use crate::clock::UnixTime;

/// A stored session, with its user's flags as they are now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    /// `None` while nobody has signed in with it.
    pub username: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// When its user signed in.
    pub auth_time: Option<i64>,
    /// The user is an administrator (false while anonymous).
    pub admin: bool,
    /// The user is disabled: the session no longer signs anybody in.
    pub disabled: bool,
}

/// One of a user's sessions, as their console lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserSessionRecord {
    pub session_digest: Digest,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub auth_time: Option<i64>,
}

const INSERT_SESSION: &str = "insert into web_session (session_digest, username, created_at, last_seen_at, auth_time) \
     values ($1, $2, $3, $3, $4)";
const SELECT_SESSION: &str = "select s.username, s.created_at, s.last_seen_at, s.auth_time, \
     coalesce(a.admin, false) as admin, (a.disabled_at is not null) as disabled \
     from web_session s left join account a on a.username = s.username where s.session_digest = $1";
const TOUCH_SESSION: &str = "update web_session set last_seen_at = $2 where session_digest = $1 and last_seen_at < $2";
const DELETE_SESSION: &str = "delete from web_session where session_digest = $1";
const DELETE_USER_SESSIONS: &str = "delete from web_session where username = $1";
/// A user's sessions begun since `$2` and used since `$3` (the others have ended), newest first.
const SELECT_USER_SESSIONS: &str = "select session_digest, created_at, last_seen_at, auth_time from web_session \
     where username = $1 and created_at > $2 and last_seen_at > $3 order by last_seen_at desc, created_at desc";
const DELETE_USER_SESSION: &str = "delete from web_session where username = $1 and session_digest = $2";
/// Sessions idle since `$1` or begun before `$2`, at most `$3`.
const DELETE_ENDED_SESSIONS: &str = "delete from web_session where session_digest in \
     (select session_digest from web_session where last_seen_at <= $1 or created_at <= $2 limit $3)";

impl Store {
    /// Stores a new session (anonymous when `username` is `None`). [`StoreError::Gone`] when the
    /// user was deleted meanwhile.
    pub async fn insert_session(
        &self,
        digest: Digest,
        username: Option<&str>,
        now: UnixTime,
        auth_time: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        on_pool!(self, |conn| sqlx::query(INSERT_SESSION)
            .bind(digest)
            .bind(username)
            .bind(now)
            .bind(auth_time)
            .execute(conn)
            .await
            .map(|_| ()))
        .map_err(on_conflict)?;
        Ok(())
    }

    pub async fn find_session(&self, digest: Digest) -> Result<Option<SessionRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_SESSION).bind(digest).fetch_optional(conn).await)?)
    }

    /// Records that the session was used at `now`.
    pub async fn touch_session(&self, digest: Digest, now: UnixTime) -> Result<(), StoreError> {
        on_pool!(self, |conn| sqlx::query(TOUCH_SESSION).bind(digest).bind(now).execute(conn).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends a session. Returns whether it existed.
    pub async fn delete_session(&self, digest: Digest) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(DELETE_SESSION)
            .bind(digest)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// `username`'s sessions begun after `begun_after` and used after `used_after`, most
    /// recently used first.
    pub async fn user_sessions(
        &self,
        username: &str,
        begun_after: UnixTime,
        used_after: UnixTime,
    ) -> Result<Vec<UserSessionRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_USER_SESSIONS)
            .bind(username)
            .bind(begun_after)
            .bind(used_after)
            .fetch_all(conn)
            .await)?)
    }

    /// Ends one of `username`'s sessions. Returns whether it was theirs and existed.
    pub async fn delete_user_session(&self, username: &str, digest: Digest) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(DELETE_USER_SESSION)
            .bind(username)
            .bind(digest)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Ends every session of a user (signed out everywhere). Returns how many there were.
    pub async fn delete_user_sessions(&self, username: &str) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query(DELETE_USER_SESSIONS)
            .bind(username)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?)
    }

    /// Deletes up to `limit` sessions last used at or before `idle_cutoff` or begun at or before
    /// `absolute_cutoff`, for the janitor. Returns how many went.
    pub async fn delete_ended_sessions(
        &self,
        idle_cutoff: UnixTime,
        absolute_cutoff: UnixTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query(DELETE_ENDED_SESSIONS)
            .bind(idle_cutoff)
            .bind(absolute_cutoff)
            .bind(i64::from(limit))
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?)
    }
}
