//! The `grant_family` table: one row per successful grant. Every access and refresh token
//! descends from exactly one family, so ending a grant (revocation of a refresh token, reuse
//! detection, an operator's revocation) is one update, and every token lookup joins its family.
//! The admin API and the console list and show families.

use sqlx::query::Query;
use sqlx::{Database, Encode, Type};

use super::tokens::NewToken;
use super::types::GrantType;
use super::{on_pool, with_retries, Dialect as _, Store, StoreError};
use crate::clock::UnixTime;

/// A grant family to create, with its first tokens: [`Store::insert_grant`].
#[derive(Debug)]
pub struct NewGrant<'a> {
    pub family: NewFamily<'a>,
    pub access: NewToken,
    /// Absent when the client may not use the refresh_token grant.
    pub refresh: Option<NewToken>,
}

#[derive(Debug)]
pub struct NewFamily<'a> {
    pub family_id: &'a str,
    pub client_id: &'a str,
    pub username: Option<&'a str>,
    pub grant_type: GrantType,
    pub scope: &'a str,
    pub created_at: UnixTime,
    /// Absolute end of the family; `None` for unlimited.
    pub expires_at: Option<UnixTime>,
}

/// Binds a family's columns as the next seven placeholders, in [`INSERT_FAMILY`]'s order (which
/// both backends' grant statements follow).
pub(super) fn bind_family<'q, DB: Database>(
    query: Query<'q, DB, DB::Arguments<'q>>,
    f: &NewFamily<'q>,
) -> Query<'q, DB, DB::Arguments<'q>>
where
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    GrantType: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
{
    query
        .bind(f.family_id)
        .bind(f.client_id)
        .bind(f.username)
        .bind(f.grant_type)
        .bind(f.scope)
        .bind(f.created_at)
        .bind(f.expires_at)
}

/// A grant family as stored, with whether anything of it can still be used.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FamilyRecord {
    pub family_id: String,
    pub client_id: String,
    pub username: Option<String>,
    pub grant_type: GrantType,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    /// Not revoked, not past its absolute end, and holding a token that is neither revoked,
    /// rotated nor expired.
    pub active: bool,
}

/// Which families to list; `None` matches any.
#[derive(Debug, Default, Clone)]
pub struct FamilyFilter<'a> {
    pub client_id: Option<&'a str>,
    pub username: Option<&'a str>,
    pub active: Option<bool>,
}

/// Where a page of families starts: after the family at (`created_at`, `family_id`) in
/// newest-first order.
pub type FamilyKey = (UnixTime, String);

/// The family columns and `active` at `$1`, for [`FamilyRecord`], as a subquery named `f`.
macro_rules! select_families {
    ($tail:literal) => {
        concat!(
            "select * from (select family_id, client_id, username, grant_type, scope, created_at, expires_at, \
             revoked_at, (revoked_at is null and (expires_at is null or expires_at > $1) and exists \
             (select 1 from token t where t.family_id = grant_family.family_id and t.revoked_at is null \
             and t.consumed_at is null and t.expires_at > $1)) as active from grant_family) f ",
            $tail
        )
    };
}

const SELECT_FAMILY: &str = select_families!("where family_id = $2");
/// Newest first; `$5`/`$6` is the last family of the previous page.
const SELECT_FAMILY_PAGE: &str = select_families!(
    "where ($2 is null or client_id = $2) and ($3 is null or username = $3) and ($4 is null or active = $4) \
     and ($5 is null or created_at < $5 or (created_at = $5 and family_id < $6)) \
     order by created_at desc, family_id desc limit $7"
);

pub(super) const INSERT_FAMILY: &str = "insert into grant_family (family_id, client_id, username, grant_type, \
     scope, created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7)";
const REVOKE_FAMILY: &str = "update grant_family set revoked_at = $2 where family_id = $1 and revoked_at is null";
const REVOKE_CLIENT_FAMILIES: &str =
    "update grant_family set revoked_at = $2 where client_id = $1 and revoked_at is null";
const REVOKE_USER_FAMILIES: &str = "update grant_family set revoked_at = $2 where username = $1 and revoked_at is null";
const REVOKE_USER_CLIENT_FAMILIES: &str =
    "update grant_family set revoked_at = $3 where username = $1 and client_id = $2 and revoked_at is null";
/// When each client last had a token issued for the user (a grant or a refresh).
const USER_LAST_USE: &str = "select f.client_id, max(t.issued_at) from grant_family f \
     join token t on t.family_id = f.family_id where f.username = $1 group by f.client_id";

impl Store {
    /// Creates a grant family with its access token and, optionally, its refresh token,
    /// atomically: one statement on PostgreSQL, one transaction on SQLite. [`StoreError::Gone`]
    /// when the client or user was deleted meanwhile.
    pub async fn insert_grant(&self, grant: &NewGrant<'_>) -> Result<(), StoreError> {
        with_retries(|| async { on_pool!(self, |conn| conn.insert_grant(grant).await) }).await
    }

    /// Revokes a whole grant family: every access and refresh token descended from it. Returns
    /// whether it was live until now.
    pub async fn revoke_family(&self, family_id: &str, now: UnixTime) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(REVOKE_FAMILY)
            .bind(family_id)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// A grant family by id, with whether it is active at `now`.
    pub async fn find_family(&self, family_id: &str, now: UnixTime) -> Result<Option<FamilyRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_FAMILY).bind(now).bind(family_id).fetch_optional(conn).await)?)
    }

    /// Up to `limit` families matching `filter` (active meaning active at `now`), newest first,
    /// after `after` (the last family of the previous page).
    pub async fn list_families(
        &self,
        filter: &FamilyFilter<'_>,
        after: Option<&FamilyKey>,
        limit: u32,
        now: UnixTime,
    ) -> Result<Vec<FamilyRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_FAMILY_PAGE)
            .bind(now)
            .bind(filter.client_id)
            .bind(filter.username)
            .bind(filter.active)
            .bind(after.map(|(at, _)| *at))
            .bind(after.map(|(_, id)| id.as_str()))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await)?)
    }

    /// Revokes every grant family of a client (after a leaked secret, or when it is disabled).
    pub async fn revoke_client_families(&self, client_id: &str, now: UnixTime) -> Result<u64, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(REVOKE_CLIENT_FAMILIES)
            .bind(client_id)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Revokes every grant family a user gave one client (when they withdraw their consent).
    pub async fn revoke_user_client_families(
        &self,
        username: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(REVOKE_USER_CLIENT_FAMILIES)
            .bind(username)
            .bind(client_id)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// For each client holding tokens issued for `username` (the janitor has not deleted yet),
    /// when the latest was issued: the "last use" of what the user authorized.
    pub async fn user_last_use(&self, username: &str) -> Result<Vec<(String, UnixTime)>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(USER_LAST_USE).bind(username).fetch_all(conn).await)?)
    }

    /// Revokes every grant family issued for a user (after a password reset).
    pub async fn revoke_user_families(&self, username: &str, now: UnixTime) -> Result<u64, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(REVOKE_USER_FAMILIES)
            .bind(username)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done)
    }
}
