//! The `client` table: confidential clients with an argon2id secret hash.

use super::{on_duplicate, on_pool, split_list, Store, StoreError};
use crate::clock::UnixTime;

/// A client as stored. `secret_hash` is an argon2id PHC string, never the secret.
#[derive(Clone)]
pub struct ClientRecord {
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub secret_version: i64,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub policy: ClientPolicy,
    /// A resource server: may introspect tokens issued to any client.
    pub introspect: bool,
    pub disabled_at: Option<UnixTime>,
}

/// Per-client overrides of the server-wide token policy; `None` means "the config default".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPolicy {
    pub access_lifetime_secs: Option<i64>,
    pub refresh_lifetime_secs: Option<i64>,
    pub family_lifetime_secs: Option<i64>,
    pub rotate_refresh_tokens: Option<bool>,
    pub replay_window_secs: Option<i64>,
    pub client_credentials_refresh: Option<bool>,
}

/// Every changeable attribute of a client, written at once by [`Store::update_client`].
pub struct ClientUpdate<'a> {
    pub name: &'a str,
    pub grant_types: &'a [String],
    pub scopes: &'a [String],
    pub default_scopes: &'a [String],
    pub policy: &'a ClientPolicy,
    pub introspect: bool,
    pub now: UnixTime,
}

/// The client row as a request saw it, for statements conditioned on it: such a statement changes
/// and returns nothing of the request's unless the row still has this secret version and hash.
/// Every change to a client bumps its version ([`Store::set_client_secret`],
/// [`Store::update_client`], [`Store::set_client_disabled`]), and a client deleted and created
/// again under the same id has a new hash (a fresh salt), so a match means the row is the one
/// the request authenticated and read its policy from.
#[derive(Debug, Clone, Copy)]
pub struct ClientStamp<'a> {
    pub client_id: &'a str,
    pub secret_version: i64,
    pub secret_hash: &'a str,
}

impl ClientRecord {
    pub fn stamp(&self) -> ClientStamp<'_> {
        ClientStamp { client_id: &self.client_id, secret_version: self.secret_version, secret_hash: &self.secret_hash }
    }
}

/// The SQL condition "the client row is still the one the stamp was taken from", with the
/// stamp's id, secret version and secret hash at the three placeholders given (bound by
/// [`bind_stamp!`]); a literal, for `concat!`.
macro_rules! client_unchanged {
    ($id:literal, $version:literal, $hash:literal) => {
        concat!(
            "exists (select 1 from client c where c.client_id = $",
            $id,
            " and c.secret_version = $",
            $version,
            " and c.secret_hash = $",
            $hash,
            ")"
        )
    };
}
pub(super) use client_unchanged;

/// Binds a [`ClientStamp`] as three consecutive placeholders: id, secret version, secret hash,
/// for [`client_unchanged!`].
macro_rules! bind_stamp {
    ($query:expr, $stamp:expr) => {
        $query.bind($stamp.client_id).bind($stamp.secret_version).bind($stamp.secret_hash)
    };
}
pub(super) use bind_stamp;

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("secret_version", &self.secret_version)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

pub struct NewClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub secret_hash: &'a str,
    pub grant_types: &'a [String],
    pub scopes: &'a [String],
    pub default_scopes: &'a [String],
    pub now: UnixTime,
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    secret_hash: String,
    secret_version: i64,
    grant_types: String,
    scopes: String,
    default_scopes: String,
    created_at: i64,
    updated_at: i64,
    access_lifetime_secs: Option<i64>,
    refresh_lifetime_secs: Option<i64>,
    family_lifetime_secs: Option<i64>,
    rotate_refresh_tokens: Option<bool>,
    replay_window_secs: Option<i64>,
    client_credentials_refresh: Option<bool>,
    introspect: bool,
    disabled_at: Option<i64>,
}

impl From<ClientRow> for ClientRecord {
    fn from(r: ClientRow) -> Self {
        ClientRecord {
            client_id: r.client_id,
            name: r.name,
            secret_hash: r.secret_hash,
            secret_version: r.secret_version,
            grant_types: split_list(&r.grant_types),
            scopes: split_list(&r.scopes),
            default_scopes: split_list(&r.default_scopes),
            created_at: r.created_at,
            updated_at: r.updated_at,
            policy: ClientPolicy {
                access_lifetime_secs: r.access_lifetime_secs,
                refresh_lifetime_secs: r.refresh_lifetime_secs,
                family_lifetime_secs: r.family_lifetime_secs,
                rotate_refresh_tokens: r.rotate_refresh_tokens,
                replay_window_secs: r.replay_window_secs,
                client_credentials_refresh: r.client_credentials_refresh,
            },
            introspect: r.introspect,
            disabled_at: r.disabled_at,
        }
    }
}

const COLUMNS: &str = "client_id, name, secret_hash, secret_version, grant_types, scopes, default_scopes, \
     created_at, updated_at, access_lifetime_secs, refresh_lifetime_secs, family_lifetime_secs, \
     rotate_refresh_tokens, replay_window_secs, client_credentials_refresh, introspect, disabled_at";

impl Store {
    /// Inserts a client; [`StoreError::Duplicate`] when the id is taken.
    pub async fn insert_client(&self, c: &NewClient<'_>) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "insert into client (client_id, name, secret_hash, secret_version, grant_types, scopes, default_scopes, created_at, updated_at) \
             values ($1, $2, $3, 1, $4, $5, $6, $7, $7)"
        )
        .bind(c.client_id)
        .bind(c.name)
        .bind(c.secret_hash)
        .bind(c.grant_types.join(" "))
        .bind(c.scopes.join(" "))
        .bind(c.default_scopes.join(" "))
        .bind(c.now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(on_duplicate)?;
        Ok(())
    }

    pub async fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let sql = format!("select {COLUMNS} from client where client_id = $1");
        let row =
            on_pool!(self, |pool| sqlx::query_as::<_, ClientRow>(&sql).bind(client_id).fetch_optional(pool).await)?;
        Ok(row.map(ClientRecord::from))
    }

    /// Whether the client row is still the one `stamp` was taken from.
    pub async fn client_is_current(&self, stamp: &ClientStamp<'_>) -> Result<bool, StoreError> {
        const SQL: &str = concat!("select ", client_unchanged!(1, 2, 3));
        Ok(on_pool!(self, |pool| bind_stamp!(sqlx::query_scalar::<_, bool>(SQL), stamp).fetch_one(pool).await)?)
    }

    pub async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let sql = format!("select {COLUMNS} from client order by client_id");
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, ClientRow>(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(ClientRecord::from).collect())
    }

    /// Deletes a client and, by cascade, every grant family and token it holds.
    /// Returns whether a client was deleted.
    pub async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query("delete from client where client_id = $1")
            .bind(client_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// Replaces the secret hash and bumps the secret version. Returns whether the client exists.
    pub async fn set_client_secret(
        &self,
        client_id: &str,
        secret_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
            "update client set secret_hash = $2, secret_version = secret_version + 1, updated_at = $3 where client_id = $1"
        )
        .bind(client_id)
        .bind(secret_hash)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Replaces a client's changeable attributes and bumps its secret version, so every cached
    /// verification of its secret is stale. Returns whether the client exists.
    pub async fn update_client(&self, client_id: &str, u: &ClientUpdate<'_>) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "update client set name = $2, grant_types = $3, scopes = $4, default_scopes = $5, \
             access_lifetime_secs = $6, refresh_lifetime_secs = $7, family_lifetime_secs = $8, \
             rotate_refresh_tokens = $9, replay_window_secs = $10, client_credentials_refresh = $11, \
             introspect = $12, updated_at = $13, secret_version = secret_version + 1 where client_id = $1"
        )
        .bind(client_id)
        .bind(u.name)
        .bind(u.grant_types.join(" "))
        .bind(u.scopes.join(" "))
        .bind(u.default_scopes.join(" "))
        .bind(u.policy.access_lifetime_secs)
        .bind(u.policy.refresh_lifetime_secs)
        .bind(u.policy.family_lifetime_secs)
        .bind(u.policy.rotate_refresh_tokens)
        .bind(u.policy.replay_window_secs)
        .bind(u.policy.client_credentials_refresh)
        .bind(u.introspect)
        .bind(u.now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// Disables (`Some(now)`) or enables (`None`) a client. Returns whether the client exists.
    pub async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled_at: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
            "update client set disabled_at = $2, updated_at = $3, secret_version = secret_version + 1 where client_id = $1"
        )
        .bind(client_id)
        .bind(disabled_at)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }
}
