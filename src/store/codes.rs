//! The `authorization_code` table: codes keyed by the SHA-256 digest of their text (the code itself
//! is never stored), each bound to its client, redirect URI, PKCE challenge, user, granted scope and
//! time of sign-in, and to the id of the grant family its exchange creates.
//!
//! A code is used once: [`Store::exchange_code`] consumes it and creates that family with its first
//! tokens in one atomic step (one statement on PostgreSQL, one transaction on SQLite), so of N
//! concurrent exchanges exactly one succeeds; a code presented again can then revoke the family.

use super::families::NewGrant;
use super::types::Digest;
use super::{on_pool, with_retries, Dialect as _, Store, StoreError};
use crate::clock::UnixTime;

/// A code to store, by [`Store::insert_code`].
#[derive(Debug)]
pub struct NewCode<'a> {
    pub digest: Digest,
    pub client_id: &'a str,
    pub username: &'a str,
    pub redirect_uri: &'a str,
    pub redirect_uri_sent: bool,
    pub code_challenge: Option<&'a str>,
    pub scope: &'a str,
    pub auth_time: UnixTime,
    /// The grant family the exchange will create.
    pub family_id: &'a str,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A stored code.
#[derive(Clone, sqlx::FromRow)]
pub struct CodeRecord {
    pub code_digest: Digest,
    pub client_id: String,
    pub username: String,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub code_challenge: Option<String>,
    pub scope: String,
    pub auth_time: i64,
    pub family_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

impl std::fmt::Debug for CodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRecord")
            .field("client_id", &self.client_id)
            .field("family_id", &self.family_id)
            .field("expires_at", &self.expires_at)
            .field("consumed_at", &self.consumed_at)
            .finish_non_exhaustive()
    }
}

/// One code exchange, applied atomically by [`Store::exchange_code`]: consume `code` (only while
/// unused and unexpired at `now`) and create `grant`, whose family id is the code's.
#[derive(Debug)]
pub struct CodeExchange<'a> {
    pub code: Digest,
    pub now: UnixTime,
    pub grant: NewGrant<'a>,
}

const INSERT_CODE: &str = "insert into authorization_code (code_digest, client_id, username, redirect_uri, \
     redirect_uri_sent, code_challenge, scope, auth_time, family_id, issued_at, expires_at) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const SELECT_CODE: &str = "select code_digest, client_id, username, redirect_uri, redirect_uri_sent, \
     code_challenge, scope, auth_time, family_id, issued_at, expires_at, consumed_at \
     from authorization_code where code_digest = $1";

impl Store {
    /// Stores a code. [`StoreError::Gone`] when its client or user was deleted meanwhile.
    pub async fn insert_code(&self, code: &NewCode<'_>) -> Result<(), StoreError> {
        on_pool!(self, |conn| sqlx::query(INSERT_CODE)
            .bind(code.digest)
            .bind(code.client_id)
            .bind(code.username)
            .bind(code.redirect_uri)
            .bind(code.redirect_uri_sent)
            .bind(code.code_challenge)
            .bind(code.scope)
            .bind(code.auth_time)
            .bind(code.family_id)
            .bind(code.issued_at)
            .bind(code.expires_at)
            .execute(conn)
            .await
            .map(|_| ()))
        .map_err(super::on_conflict)
    }

    /// A code by digest, used or not.
    pub async fn find_code(&self, digest: &Digest) -> Result<Option<CodeRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_CODE).bind(digest).fetch_optional(conn).await)?)
    }

    /// Exchanges a code atomically (one statement on PostgreSQL, one transaction on SQLite): marks
    /// it consumed — only while unused and unexpired; this conditional update is what makes exactly
    /// one of N concurrent exchanges win — and creates the grant family with its tokens. Returns
    /// `false`, having changed nothing, when the code was no longer exchangeable.
    pub async fn exchange_code(&self, exchange: &CodeExchange<'_>) -> Result<bool, StoreError> {
        with_retries(|| async { on_pool!(self, |conn| conn.exchange_code(exchange).await) }).await
    }
}
