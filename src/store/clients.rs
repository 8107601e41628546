//! The `client` table: clients with an argon2id secret hash, their grant types, scopes and
//! per-client policy. Lookups go through the [`ClientCache`](super::client_cache::ClientCache);
//! every change made here drops the row from this process's cache at once (other processes learn
//! of it from the database, see `client_cache`).

use std::sync::Arc;

use super::types::GrantType;
use super::{holds, on_conflict, on_pool, split_list, Store, StoreError};
use crate::clock::UnixTime;

/// A client as stored. `secret_hash` is an argon2id PHC string, never the secret.
#[derive(Clone)]
pub struct ClientRecord {
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    /// Bumped by every change to the client, so a verified secret remembered for an older row
    /// never matches the new one.
    pub secret_version: i64,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub policy: ClientPolicy,
    /// A resource server: may introspect tokens issued to any client.
    pub introspect: bool,
    pub disabled_at: Option<UnixTime>,
    /// Where authorization responses may go (RFC 6749 §3.1.2), as registered.
    pub redirect_uris: Vec<String>,
    /// A public client (RFC 6749 §2.1; `token_endpoint_auth_method` "none"): it has no secret
    /// (`secret_hash` is empty) and identifies itself by its `client_id` alone.
    pub public: bool,
    /// Authorization requests must carry a PKCE code challenge (RFC 7636). Always true for a
    /// public client; a confidential client's policy may relax it.
    pub pkce_required: bool,
    /// A first-party client: the user's consent is implicit.
    pub first_party: bool,
    /// The user who registered it in the console and may manage it there; `None` for a client
    /// of the operator's.
    pub owner: Option<String>,
}

impl ClientRecord {
    pub fn may_use(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
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
    pub grant_types: &'a [GrantType],
    pub scopes: &'a [String],
    pub default_scopes: &'a [String],
    pub policy: &'a ClientPolicy,
    pub introspect: bool,
    pub redirect_uris: &'a [String],
    pub pkce_required: bool,
    pub first_party: bool,
    pub now: UnixTime,
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("secret_version", &self.secret_version)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .field("redirect_uris", &self.redirect_uris)
            .field("public", &self.public)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// Which clients to list; `None` matches any.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientFilter<'a> {
    pub disabled: Option<bool>,
    /// Clients allowed this grant type.
    pub grant_type: Option<GrantType>,
    /// Clients allowed this scope (one scope token).
    pub scope: Option<&'a str>,
    /// Clients this user owns.
    pub owner: Option<&'a str>,
}

pub struct NewClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub secret_hash: &'a str,
    pub grant_types: &'a [GrantType],
    pub scopes: &'a [String],
    pub default_scopes: &'a [String],
    pub redirect_uris: &'a [String],
    /// A public client: `secret_hash` is empty.
    pub public: bool,
    pub pkce_required: bool,
    pub first_party: bool,
    pub owner: Option<&'a str>,
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
    redirect_uris: String,
    public_client: bool,
    pkce_required: bool,
    first_party: bool,
    owner: Option<String>,
}

impl TryFrom<ClientRow> for ClientRecord {
    type Error = StoreError;

    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        let grant_types = GrantType::parse_list(&r.grant_types)
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(format!("client.grant_types: {e}").into())))?;
        Ok(ClientRecord {
            client_id: r.client_id,
            name: r.name,
            secret_hash: r.secret_hash,
            secret_version: r.secret_version,
            grant_types,
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
            redirect_uris: split_list(&r.redirect_uris),
            public: r.public_client,
            pkce_required: r.pkce_required,
            first_party: r.first_party,
            owner: r.owner,
        })
    }
}

fn grant_list(grant_types: &[GrantType]) -> String {
    grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" ")
}

const INSERT_CLIENT: &str = "insert into client (client_id, name, secret_hash, secret_version, grant_types, \
     scopes, default_scopes, created_at, updated_at, redirect_uris, public_client, pkce_required, first_party, \
     owner) values ($1, $2, $3, 1, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12)";

/// The client columns, for [`ClientRow`], followed by `$tail`.
macro_rules! select_clients {
    ($tail:literal) => {
        concat!(
            "select client_id, name, secret_hash, secret_version, grant_types, scopes, default_scopes, \
             created_at, updated_at, access_lifetime_secs, refresh_lifetime_secs, family_lifetime_secs, \
             rotate_refresh_tokens, replay_window_secs, client_credentials_refresh, introspect, disabled_at, \
             redirect_uris, public_client, pkce_required, first_party, owner from client ",
            $tail
        )
    };
}

const SELECT_CLIENT: &str = select_clients!("where client_id = $1");
const SELECT_CLIENTS: &str = select_clients!("order by client_id");
/// A page of clients by id, after `$1`. "The list column holds the token" is written with
/// `replace`, which both backends have and which compares bytes exactly: `like` would treat `_`
/// and `%` in a scope as wildcards, and ignores case on SQLite.
const SELECT_CLIENT_PAGE: &str = select_clients!(
    "where ($1 is null or client_id > $1) and ($2 is null or (disabled_at is not null) = $2) \
     and ($3 is null or length(replace(' ' || grant_types || ' ', ' ' || $3 || ' ', '')) < length(grant_types) + 2) \
     and ($4 is null or length(replace(' ' || scopes || ' ', ' ' || $4 || ' ', '')) < length(scopes) + 2) \
     and ($6 is null or owner = $6) order by client_id limit $5"
);

const DELETE_CLIENT: &str = "delete from client where client_id = $1";

const SET_CLIENT_SECRET: &str = "update client set secret_hash = $2, secret_version = secret_version + 1, \
     updated_at = $3 where client_id = $1";

const UPDATE_CLIENT: &str = "update client set name = $2, grant_types = $3, scopes = $4, default_scopes = $5, \
     access_lifetime_secs = $6, refresh_lifetime_secs = $7, family_lifetime_secs = $8, \
     rotate_refresh_tokens = $9, replay_window_secs = $10, client_credentials_refresh = $11, \
     introspect = $12, updated_at = $13, redirect_uris = $14, pkce_required = $15, first_party = $16, \
     secret_version = secret_version + 1 where client_id = $1";

const SET_CLIENT_DISABLED: &str = "update client set disabled_at = $2, updated_at = $3, \
     secret_version = secret_version + 1 where client_id = $1";

impl Store {
    /// After a statement that changed a client (or tried to): drops its cached row, and says
    /// whether the statement matched a row.
    fn client_changed(&self, client_id: &str, done: Result<u64, sqlx::Error>) -> Result<bool, StoreError> {
        self.clients.forget(client_id);
        Ok(done? > 0)
    }

    /// Inserts a client; [`StoreError::Duplicate`] when the id is taken.
    pub async fn insert_client(&self, c: &NewClient<'_>) -> Result<(), StoreError> {
        let inserted = on_pool!(self, |conn| sqlx::query(INSERT_CLIENT)
            .bind(c.client_id)
            .bind(c.name)
            .bind(c.secret_hash)
            .bind(grant_list(c.grant_types))
            .bind(c.scopes.join(" "))
            .bind(c.default_scopes.join(" "))
            .bind(c.now)
            .bind(c.redirect_uris.join(" "))
            .bind(c.public)
            .bind(c.pkce_required)
            .bind(c.first_party)
            .bind(c.owner)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()));
        self.clients.forget(c.client_id);
        inserted.map_err(on_conflict)?;
        Ok(())
    }

    /// The client's row: from this process's cache when it holds it, else from the database.
    /// `None`, without a query, for an id no row can have ([`holds`]).
    pub async fn find_client(&self, client_id: &str) -> Result<Option<Arc<ClientRecord>>, StoreError> {
        if !holds(client_id) {
            return Ok(None);
        }
        if let Some(row) = self.clients.get(client_id) {
            return Ok(Some(row));
        }
        let ticket = self.clients.ticket();
        let row = on_pool!(self, |conn| sqlx::query_as::<_, ClientRow>(SELECT_CLIENT)
            .bind(client_id)
            .fetch_optional(conn)
            .await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let row = Arc::new(ClientRecord::try_from(row)?);
        self.clients.keep(ticket, &row);
        Ok(Some(row))
    }

    /// The row this process's cache holds for the client right now, without reading the database
    /// (for tests and diagnostics).
    pub fn cached_client(&self, client_id: &str) -> Option<Arc<ClientRecord>> {
        self.clients.get(client_id)
    }

    pub async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let rows = on_pool!(self, |conn| sqlx::query_as::<_, ClientRow>(SELECT_CLIENTS).fetch_all(conn).await)?;
        rows.into_iter().map(ClientRecord::try_from).collect()
    }

    /// Up to `limit` clients matching `filter`, by id, after `after`. Read from the database, not
    /// the cache.
    pub async fn list_clients_page(
        &self,
        filter: ClientFilter<'_>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientRecord>, StoreError> {
        let rows = on_pool!(self, |conn| sqlx::query_as::<_, ClientRow>(SELECT_CLIENT_PAGE)
            .bind(after)
            .bind(filter.disabled)
            .bind(filter.grant_type)
            .bind(filter.scope)
            .bind(i64::from(limit))
            .bind(filter.owner)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(ClientRecord::try_from).collect()
    }

    /// Deletes a client and, by cascade, every grant family and token it holds.
    /// Returns whether a client was deleted.
    pub async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(DELETE_CLIENT)
            .bind(client_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()));
        self.client_changed(client_id, done)
    }

    /// Replaces the secret hash and bumps the secret version. Returns whether the client exists.
    pub async fn set_client_secret(
        &self,
        client_id: &str,
        secret_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(SET_CLIENT_SECRET)
            .bind(client_id)
            .bind(secret_hash)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()));
        self.client_changed(client_id, done)
    }

    /// Replaces a client's changeable attributes. Returns whether the client exists.
    pub async fn update_client(&self, client_id: &str, u: &ClientUpdate<'_>) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(UPDATE_CLIENT)
            .bind(client_id)
            .bind(u.name)
            .bind(grant_list(u.grant_types))
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
            .bind(u.redirect_uris.join(" "))
            .bind(u.pkce_required)
            .bind(u.first_party)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()));
        self.client_changed(client_id, done)
    }

    /// Disables (`Some(now)`) or enables (`None`) a client. Returns whether the client exists.
    pub async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled_at: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(SET_CLIENT_DISABLED)
            .bind(client_id)
            .bind(disabled_at)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()));
        self.client_changed(client_id, done)
    }
}
