//! The `token` table: access and refresh tokens, keyed by the SHA-256 digest of the token (the
//! token itself is never stored), each belonging to one grant family. Lookups join the family.

use super::types::{Digest, GrantType, TokenKind};
use super::{on_pool, with_retries, Dialect as _, Store, StoreError};
use crate::clock::UnixTime;

/// A token row to insert. Built for every grant in one place (`oauth::issuer`).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub digest: Digest,
    pub kind: TokenKind,
    pub scope: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// For a refresh token: the access token issued with it.
    pub access_digest: Option<Digest>,
}

/// A token joined with its family.
#[derive(Clone, sqlx::FromRow)]
pub struct TokenRecord {
    pub token_digest: Digest,
    pub kind: TokenKind,
    pub family_id: String,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub consumed_at: Option<i64>,
    pub access_digest: Option<Digest>,
    pub successor_digest: Option<Digest>,
    pub replay_sealed: Option<Vec<u8>>,
    pub replay_until: Option<i64>,
    pub first_used_at: Option<i64>,
    pub client_id: String,
    pub username: Option<String>,
    pub grant_type: GrantType,
    pub family_scope: String,
    pub family_expires_at: Option<i64>,
    pub family_revoked_at: Option<i64>,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("kind", &self.kind)
            .field("family_id", &self.family_id)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// One refresh-token rotation, applied atomically by [`Store::rotate_refresh_token`].
#[derive(Debug)]
pub struct Rotation<'a> {
    pub family_id: &'a str,
    pub old_refresh: Digest,
    /// The old refresh token's access token, to revoke with it; `None` to keep it.
    pub revoke_access: Option<Digest>,
    pub new_access: NewToken,
    pub new_refresh: NewToken,
    /// The rotation's response sealed under a key only the old token's holder can derive.
    pub replay_sealed: Option<&'a [u8]>,
    pub replay_until: Option<UnixTime>,
    pub now: UnixTime,
}

/// A refresh without rotation, applied atomically by [`Store::refresh_in_place`]: the refresh
/// token stays and gets `new_access` as its current access token.
#[derive(Debug)]
pub struct InPlace<'a> {
    pub family_id: &'a str,
    pub refresh: Digest,
    /// The refresh token's previous access token, to revoke; `None` to keep it.
    pub revoke_access: Option<Digest>,
    pub new_access: NewToken,
    pub now: UnixTime,
}

/// What [`Store::revoke_token`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Revoked now: the access token, or the whole family of the refresh token.
    Revoked { family_id: String },
    /// The caller's token, already revoked (or its family already ended): nothing to change.
    AlreadyRevoked { family_id: String },
    /// A token issued to another client than the one revoking: nothing changed.
    OtherClient,
    /// No such token.
    Unknown,
}

pub(super) const INSERT_TOKEN: &str =
    "insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, access_digest) \
     values ($1, $2, $3, $4, $5, $6, $7)";

const SELECT_TOKEN: &str = "select t.token_digest, t.kind, t.family_id, t.scope, t.issued_at, t.expires_at, \
     t.revoked_at, t.consumed_at, t.access_digest, t.successor_digest, t.replay_sealed, t.replay_until, \
     t.first_used_at, f.client_id, f.username, f.grant_type, f.scope as family_scope, \
     f.expires_at as family_expires_at, f.revoked_at as family_revoked_at \
     from token t join grant_family f on f.family_id = t.family_id where t.token_digest = $1";

/// Revokes an access token of client `$3` (any client's when `$3` is null).
const REVOKE_ACCESS: &str = "update token set revoked_at = $1 where token_digest = $2 and kind = 'access' \
     and revoked_at is null and exists (select 1 from grant_family f where f.family_id = token.family_id \
     and ($3 is null or f.client_id = $3)) returning family_id";

/// Revokes the family of a refresh token of client `$3` (any client's when `$3` is null).
const REVOKE_REFRESH: &str = "update grant_family set revoked_at = $1 where revoked_at is null \
     and family_id = (select family_id from token where token_digest = $2 and kind = 'refresh') \
     and ($3 is null or client_id = $3) returning family_id";

/// Whose a token is, to say why a revocation changed nothing.
const TOKEN_OWNER: &str = "select f.family_id, f.client_id from token t join grant_family f \
     on f.family_id = t.family_id where t.token_digest = $1 and t.kind = $2";

const MARK_FIRST_USE: &str = "update token set first_used_at = $2 where token_digest = $1 and first_used_at is null";

impl Store {
    /// A token joined with its family, by digest.
    pub async fn find_token(&self, digest: &Digest) -> Result<Option<TokenRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_TOKEN).bind(digest).fetch_optional(conn).await)?)
    }

    /// Rotates a refresh token atomically (one statement on PostgreSQL — shared with the other
    /// rotations queued at that moment, see [`super::batch`] — one transaction on SQLite): marks it consumed — only if it is neither consumed nor revoked; this conditional
    /// update is what makes exactly one of N concurrent rotations win — revokes its access token,
    /// and inserts the new pair. Returns `false`, having changed nothing, when the token was no
    /// longer rotatable.
    pub async fn rotate_refresh_token(&self, rotation: &Rotation<'_>) -> Result<bool, StoreError> {
        if let Some(batcher) = &self.rotations {
            return batcher.rotate(rotation).await;
        }
        with_retries(|| async { on_pool!(self, |conn| conn.rotate(rotation).await) }).await
    }

    /// Refreshes without rotation (a client whose policy turns rotation off), atomically: the
    /// refresh token gets the new access token as its current one, the previous access token is
    /// revoked (optionally), the new one inserted. `false`, having changed nothing, when the
    /// refresh token was no longer usable.
    pub async fn refresh_in_place(&self, refresh: &InPlace<'_>) -> Result<bool, StoreError> {
        with_retries(|| async { on_pool!(self, |conn| conn.refresh_in_place(refresh).await) }).await
    }

    /// Revokes a token on behalf of `owner` (a client id), or of the operator (`None`): an access
    /// token itself, a refresh token its whole family.
    ///
    /// The ownership rule — a client revokes only its own tokens — is in the revoking statement;
    /// when that statement changes nothing, one lookup tells why (unknown, another client's, or
    /// already revoked).
    pub async fn revoke_token(
        &self,
        digest: &Digest,
        kind: TokenKind,
        owner: Option<&str>,
        now: UnixTime,
    ) -> Result<Revocation, StoreError> {
        let sql = match kind {
            TokenKind::Access => REVOKE_ACCESS,
            TokenKind::Refresh => REVOKE_REFRESH,
        };
        let revoked: Option<String> = on_pool!(self, |conn| sqlx::query_scalar(sql)
            .bind(now)
            .bind(digest)
            .bind(owner)
            .fetch_optional(conn)
            .await)?;
        if let Some(family_id) = revoked {
            return Ok(Revocation::Revoked { family_id });
        }
        let found: Option<(String, String)> =
            on_pool!(self, |conn| sqlx::query_as(TOKEN_OWNER).bind(digest).bind(kind).fetch_optional(conn).await)?;
        Ok(match found {
            None => Revocation::Unknown,
            Some((_, client_id)) if owner.is_some_and(|owner| owner != client_id) => Revocation::OtherClient,
            Some((family_id, _)) => Revocation::AlreadyRevoked { family_id },
        })
    }

    /// Records the first use of an access token (its first active introspection). Returns whether
    /// this call was the first.
    ///
    /// On PostgreSQL this runs on the relaxed pool (see [`Store`]), so the first introspection of
    /// each token does not wait for a WAL flush. A database crash may forget the marks of its last
    /// few hundred milliseconds; the only consequence is that a refresh replay inside the replay
    /// window right after the crash is answered as a replay (the same tokens, to the same
    /// authenticated client) instead of as reuse.
    pub async fn mark_first_use(&self, digest: &Digest, now: UnixTime) -> Result<bool, StoreError> {
        if let Some(pool) = &self.relaxed {
            match sqlx::query(MARK_FIRST_USE).bind(digest).bind(now).execute(pool).await {
                Ok(done) => return Ok(done.rows_affected() > 0),
                // E.g. a pooler that refuses the session option: the update is idempotent, so it
                // is simply made again on the main pool, durably.
                Err(error) => tracing::warn!(%error, "first use not recorded on the relaxed pool; using the main pool"),
            }
        }
        let done = on_pool!(self, |conn| sqlx::query(MARK_FIRST_USE)
            .bind(digest)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }
}
