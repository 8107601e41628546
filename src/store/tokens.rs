//! The `grant_family` and `token` tables. Tokens are keyed by the SHA-256 digest of the token;
//! the token itself is never stored. Every token belongs to one grant family, so revoking a family
//! is one update and every lookup joins the family to see it.

use super::checkout::with_connection;
use super::clients::{bind_stamp, client_unchanged, ClientStamp};
use super::{on_pool, tokens_pg, Backend, Store, StoreError};
use crate::clock::UnixTime;

/// A token digest: SHA-256 of the token's text.
pub type Digest = [u8; 32];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// A grant family to create: one per successful grant (password, client_credentials, operator issue).
#[derive(Debug)]
pub struct NewFamily<'a> {
    pub family_id: &'a str,
    /// The client, as the request saw its row: the family is created only while the row is
    /// unchanged (see [`ClientStamp`]).
    pub client: ClientStamp<'a>,
    pub username: Option<&'a str>,
    pub grant_type: &'a str,
    pub scope: &'a str,
    pub created_at: UnixTime,
    /// Absolute end of the family; `None` for unlimited.
    pub expires_at: Option<UnixTime>,
}

/// A token row to insert.
#[derive(Debug)]
pub struct NewToken<'a> {
    pub digest: &'a Digest,
    pub kind: TokenKind,
    pub scope: &'a str,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// For a refresh token: the access token issued with it.
    pub access_digest: Option<&'a Digest>,
}

/// A token joined with its family.
#[derive(Clone, sqlx::FromRow)]
pub struct TokenRecord {
    pub token_digest: Vec<u8>,
    pub kind: String,
    pub family_id: String,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub consumed_at: Option<i64>,
    pub access_digest: Option<Vec<u8>>,
    pub successor_digest: Option<Vec<u8>>,
    pub replay_sealed: Option<Vec<u8>>,
    pub replay_until: Option<i64>,
    pub first_used_at: Option<i64>,
    pub client_id: String,
    pub username: Option<String>,
    pub grant_type: String,
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

impl TokenRecord {
    pub fn kind(&self) -> Option<TokenKind> {
        match self.kind.as_str() {
            "access" => Some(TokenKind::Access),
            "refresh" => Some(TokenKind::Refresh),
            _ => None,
        }
    }
}

/// One refresh-token rotation, applied atomically by [`Store::rotate_refresh_token`].
#[derive(Debug)]
pub struct Rotation<'a> {
    pub family_id: &'a str,
    pub old_refresh: &'a Digest,
    /// The old refresh token's access token, to revoke with it; `None` to keep it.
    pub revoke_access: Option<&'a [u8]>,
    pub new_access: NewToken<'a>,
    pub new_refresh: NewToken<'a>,
    /// The rotation's response sealed under a key only the old token's holder can derive.
    pub replay_sealed: Option<&'a [u8]>,
    pub replay_until: Option<UnixTime>,
    pub now: UnixTime,
}

/// A token joined with its family, by digest (`$1`). A macro so that [`SELECT_TOKEN_AS_CLIENT`]
/// can embed it with `concat!`.
macro_rules! select_token {
    () => {
        "select t.token_digest, t.kind, t.family_id, t.scope, t.issued_at, t.expires_at, \
         t.revoked_at, t.consumed_at, t.access_digest, t.successor_digest, t.replay_sealed, t.replay_until, \
         t.first_used_at, f.client_id, f.username, f.grant_type, f.scope as family_scope, \
         f.expires_at as family_expires_at, f.revoked_at as family_revoked_at \
         from token t join grant_family f on f.family_id = t.family_id where t.token_digest = $1"
    };
}
const SELECT_TOKEN: &str = select_token!();

/// The token (if any) and, always, whether the client row `$2`–`$4` is current: one row even
/// for an unknown token, so the lookup answers for the client either way.
const SELECT_TOKEN_AS_CLIENT: &str = concat!(
    "select c.client_current, t.* from (select ",
    client_unchanged!(2, 3, 4),
    " as client_current) c left join (",
    select_token!(),
    ") t on true"
);

/// A token lookup made on behalf of a client: [`Store::find_token_as_client`].
#[derive(Debug)]
pub struct TokenAsClient {
    /// The client row is still the one the stamp was taken from.
    pub client_current: bool,
    pub token: Option<TokenRecord>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for TokenAsClient
where
    &'r str: sqlx::ColumnIndex<R>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    TokenRecord: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let client_current = row.try_get("client_current")?;
        let found: Option<Vec<u8>> = row.try_get("token_digest")?;
        let token = found.map(|_| TokenRecord::from_row(row)).transpose()?;
        Ok(TokenAsClient { client_current, token })
    }
}

/// Inserts one [`NewToken`] of a family on a transaction, on either backend.
macro_rules! insert_token {
    ($tx:expr, $family_id:expr, $token:expr) => {
        sqlx::query(INSERT_TOKEN)
            .bind(&$token.digest[..])
            .bind($token.kind.as_str())
            .bind($family_id)
            .bind($token.scope)
            .bind($token.issued_at)
            .bind($token.expires_at)
            .bind($token.access_digest.map(|d| &d[..]))
            .execute($tx)
            .await?
    };
}

/// Binds a [`NewFamily`]'s columns, in table order, as `$1`..`$7`.
macro_rules! bind_family {
    ($query:expr, $family:expr) => {
        $query
            .bind($family.family_id)
            .bind($family.client.client_id)
            .bind($family.username)
            .bind($family.grant_type)
            .bind($family.scope)
            .bind($family.created_at)
            .bind($family.expires_at)
    };
}
pub(super) use bind_family;

const INSERT_TOKEN: &str =
    "insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, access_digest) \
     values ($1, $2, $3, $4, $5, $6, $7)";

/// How often a transaction that met a serialization failure, deadlock or busy database is retried.
const RETRIES: usize = 5;

impl Store {
    /// Creates a grant family with its access token and, optionally, its refresh token, atomically
    /// (one statement on PostgreSQL, one transaction on SQLite) — only while the client row is
    /// the one `family.client` was taken from. Returns `false`, having inserted nothing, when it
    /// is not.
    pub async fn insert_grant(
        &self,
        family: &NewFamily<'_>,
        access: &NewToken<'_>,
        refresh: Option<&NewToken<'_>>,
    ) -> Result<bool, StoreError> {
        with_retries(|| async {
            match &self.backend {
                // Dialect fork: one statement on PostgreSQL (see `tokens_pg`).
                Backend::Postgres(checkout) => {
                    with_connection!(checkout, |conn| tokens_pg::insert_grant(conn, family, access, refresh).await)
                }
                Backend::Sqlite(pool) => {
                    let mut tx = pool.begin().await?;
                    let created = bind_stamp!(
                        bind_family!(
                            sqlx::query(concat!(
                                "insert into grant_family (family_id, client_id, username, grant_type, scope, \
                                 created_at, expires_at) select $1, $2, $3, $4, $5, $6, $7 where ",
                                client_unchanged!(8, 9, 10)
                            )),
                            family
                        ),
                        family.client
                    )
                    .execute(&mut *tx)
                    .await?;
                    if created.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    for token in std::iter::once(access).chain(refresh) {
                        insert_token!(&mut *tx, family.family_id, token);
                    }
                    tx.commit().await?;
                    Ok(true)
                }
            }
        })
        .await
    }

    /// Loads a token with its family by digest: one indexed round trip.
    pub async fn find_token(&self, digest: &Digest) -> Result<Option<TokenRecord>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, TokenRecord>(SELECT_TOKEN)
            .bind(&digest[..])
            .fetch_optional(pool)
            .await)?)
    }

    /// Loads a token as [`Store::find_token`] does and, in the same round trip, checks that the
    /// client row is the one `client` was taken from.
    pub async fn find_token_as_client(
        &self,
        digest: &Digest,
        client: &ClientStamp<'_>,
    ) -> Result<TokenAsClient, StoreError> {
        Ok(on_pool!(self, |pool| bind_stamp!(
            sqlx::query_as::<_, TokenAsClient>(SELECT_TOKEN_AS_CLIENT).bind(&digest[..]),
            client
        )
        .fetch_one(pool)
        .await)?)
    }

    /// Rotates a refresh token atomically (one statement on PostgreSQL, one transaction on
    /// SQLite): marks it consumed (only if it is neither
    /// consumed nor revoked — the conditional update is what makes exactly one of N concurrent
    /// rotations win), revokes its access token, and inserts the new pair. Returns `false`, having
    /// changed nothing, when the token was no longer rotatable.
    pub async fn rotate_refresh_token(&self, r: &Rotation<'_>) -> Result<bool, StoreError> {
        with_retries(|| async {
            match &self.backend {
                // Dialect fork: one statement on PostgreSQL (see `tokens_pg`).
                Backend::Postgres(checkout) => with_connection!(checkout, |conn| tokens_pg::rotate(conn, r).await),
                Backend::Sqlite(pool) => {
                    let mut tx = pool.begin().await?;
                    let consumed = sqlx::query(
                        "update token set consumed_at = $2, successor_digest = $3, replay_sealed = $4, \
                         replay_until = $5 where token_digest = $1 and kind = 'refresh' and consumed_at is null \
                         and revoked_at is null",
                    )
                    .bind(&r.old_refresh[..])
                    .bind(r.now)
                    .bind(&r.new_refresh.digest[..])
                    .bind(r.replay_sealed)
                    .bind(r.replay_until)
                    .execute(&mut *tx)
                    .await?;
                    if consumed.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    if let Some(access) = r.revoke_access {
                        sqlx::query("update token set revoked_at = $2 where token_digest = $1 and revoked_at is null")
                            .bind(access)
                            .bind(r.now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for token in [&r.new_access, &r.new_refresh] {
                        insert_token!(&mut *tx, r.family_id, token);
                    }
                    tx.commit().await?;
                    Ok(true)
                }
            }
        })
        .await
    }

    /// Revokes a whole grant family: every access and refresh token descended from it.
    pub async fn revoke_family(&self, family_id: &str, now: UnixTime) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("update grant_family set revoked_at = $2 where family_id = $1 and revoked_at is null")
                .bind(family_id)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Revokes a client's own token in one round trip: an access token itself, a refresh token its
    /// whole family. Returns the family id, or `None`, having changed nothing, when the token is
    /// unknown, of the other kind, already revoked, or another client's, or when the client row is
    /// no longer the one `client` was taken from — the caller looks it up to tell which.
    pub async fn revoke_owned(
        &self,
        digest: &Digest,
        kind: TokenKind,
        client: &ClientStamp<'_>,
        now: UnixTime,
    ) -> Result<Option<String>, StoreError> {
        let sql = match kind {
            TokenKind::Access => concat!(
                "update token set revoked_at = $1 where token_digest = $2 and kind = 'access' \
                 and revoked_at is null \
                 and exists (select 1 from grant_family f where f.family_id = token.family_id and f.client_id = $3) \
                 and ",
                client_unchanged!(3, 4, 5),
                " returning family_id"
            ),
            TokenKind::Refresh => concat!(
                "update grant_family set revoked_at = $1 where revoked_at is null and client_id = $3 \
                 and family_id = (select family_id from token where token_digest = $2 and kind = 'refresh') \
                 and ",
                client_unchanged!(3, 4, 5),
                " returning family_id"
            ),
        };
        Ok(on_pool!(self, |pool| bind_stamp!(sqlx::query_scalar(sql).bind(now).bind(&digest[..]), client)
            .fetch_optional(pool)
            .await)?)
    }

    /// Revokes one token.
    pub async fn revoke_token(&self, digest: &Digest, now: UnixTime) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "update token set revoked_at = $2 where token_digest = $1 and revoked_at is null"
        )
        .bind(&digest[..])
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}

impl Store {
    /// Refreshes without rotation (a client whose policy turns rotation off): the refresh token
    /// stays, gets the new access token as its current one, the previous access token is revoked
    /// (optionally) and the new one inserted — one transaction. `false` when the refresh token was
    /// no longer usable.
    pub async fn refresh_in_place(
        &self,
        family_id: &str,
        refresh: &Digest,
        revoke_access: Option<&[u8]>,
        new_access: &NewToken<'_>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        with_retries(|| async {
            on_pool!(self, |pool| {
                let mut tx = pool.begin().await?;
                let updated = sqlx::query(
                    "update token set access_digest = $2 where token_digest = $1 and kind = 'refresh' \
                     and consumed_at is null and revoked_at is null",
                )
                .bind(&refresh[..])
                .bind(&new_access.digest[..])
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                if let Some(access) = revoke_access {
                    sqlx::query("update token set revoked_at = $2 where token_digest = $1 and revoked_at is null")
                        .bind(access)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                insert_token!(&mut *tx, family_id, new_access);
                tx.commit().await?;
                Ok(true)
            })
        })
        .await
    }

    /// Records the first use of an access token (its first active introspection). Returns whether
    /// this call was the first.
    ///
    /// Dialect fork: on PostgreSQL this runs on the relaxed pool (see [`Store`]), so the first
    /// introspection of each token does not wait for a WAL flush — without it, introspecting fresh
    /// tokens ran at the database's durable-commit rate. A database crash may forget the marks of
    /// its last few hundred milliseconds; the only consequence is that a refresh replay inside
    /// the replay window right after the crash is answered as a replay (the same tokens, to the same
    /// authenticated client) instead of as reuse.
    pub async fn mark_first_use(&self, digest: &Digest, now: UnixTime) -> Result<bool, StoreError> {
        const SQL: &str = "update token set first_used_at = $2 where token_digest = $1 and first_used_at is null";
        if let Some(pool) = &self.relaxed {
            match sqlx::query(SQL).bind(&digest[..]).bind(now).execute(pool).await {
                Ok(done) => return Ok(done.rows_affected() > 0),
                // E.g. a pooler that refuses the session option: the update is idempotent, so it
                // is simply made again on the main pool, durably.
                Err(error) => tracing::warn!(%error, "first use not recorded on the relaxed pool; using the main pool"),
            }
        }
        let done = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(&digest[..])
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// Revokes every grant family of a client (after a leaked secret, or when it is disabled).
    pub async fn revoke_client_families(&self, client_id: &str, now: UnixTime) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query(
            "update grant_family set revoked_at = $2 where client_id = $1 and revoked_at is null"
        )
        .bind(client_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// Revokes every grant family issued for a user (after a password reset).
    pub async fn revoke_user_families(&self, username: &str, now: UnixTime) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query(
            "update grant_family set revoked_at = $2 where username = $1 and revoked_at is null"
        )
        .bind(username)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }
}

/// Runs a transaction again when the database says it may (serialization failure, deadlock,
/// busy), so such conflicts never reach a client as a 500.
async fn with_retries<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match attempt().await.map_err(StoreError::from) {
            Err(e) if e.is_retryable() && tries < RETRIES => {
                tries += 1;
                tracing::debug!(tries, "retrying a transaction after a conflict");
                tokio::time::sleep(std::time::Duration::from_millis(2 << tries)).await;
            }
            other => return other,
        }
    }
}
