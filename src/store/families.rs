//! The `grant_family` table: one row per successful grant. Every access and refresh token
//! descends from exactly one family, so ending a grant (revocation of a refresh token, reuse
//! detection, an operator's revocation) is one update, and every token lookup joins its family.

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

pub(super) const INSERT_FAMILY: &str = "insert into grant_family (family_id, client_id, username, grant_type, \
     scope, created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7)";
const REVOKE_FAMILY: &str = "update grant_family set revoked_at = $2 where family_id = $1 and revoked_at is null";
const REVOKE_CLIENT_FAMILIES: &str =
    "update grant_family set revoked_at = $2 where client_id = $1 and revoked_at is null";
const REVOKE_USER_FAMILIES: &str = "update grant_family set revoked_at = $2 where username = $1 and revoked_at is null";

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
