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
}

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
        }
    }
}

const COLUMNS: &str = "client_id, name, secret_hash, secret_version, grant_types, scopes, default_scopes, created_at, updated_at";

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
        let row = on_pool!(self, |pool| sqlx::query_as::<_, ClientRow>(&sql)
            .bind(client_id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(ClientRecord::from))
    }

    pub async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let sql = format!("select {COLUMNS} from client order by client_id");
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, ClientRow>(&sql)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(ClientRecord::from).collect())
    }

    /// Deletes a client and, by cascade, every grant family and token it holds.
    /// Returns whether a client was deleted.
    pub async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "delete from client where client_id = $1"
        )
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
}
