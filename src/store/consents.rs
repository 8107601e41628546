//! The `consent` table: the scopes a user allowed a client, remembered until revoked.

use super::{holds, on_conflict, on_pool, Store, StoreError};
use crate::clock::UnixTime;

/// A remembered consent, with the client's name for the pages that list them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentRecord {
    pub username: String,
    pub client_id: String,
    pub client_name: String,
    /// The scopes allowed, space-separated.
    pub scope: String,
    pub granted_at: i64,
}

/// The consent columns with the client's name, followed by `$tail`.
macro_rules! select_consents {
    ($tail:literal) => {
        concat!(
            "select c.username, c.client_id, cl.name as client_name, c.scope, c.granted_at ",
            "from consent c join client cl on cl.client_id = c.client_id ",
            $tail
        )
    };
}

const SELECT_CONSENT: &str = select_consents!("where c.username = $1 and c.client_id = $2");
const SELECT_USER_CONSENTS: &str = select_consents!("where c.username = $1 order by cl.name, c.client_id");
const UPSERT_CONSENT: &str = "insert into consent (username, client_id, scope, granted_at) values ($1, $2, $3, $4) \
     on conflict (username, client_id) do update set scope = excluded.scope, granted_at = excluded.granted_at";
const DELETE_CONSENT: &str = "delete from consent where username = $1 and client_id = $2";

impl Store {
    /// The consent `username` gave `client_id`; `None`, without a query, for a name no row can have.
    pub async fn find_consent(&self, username: &str, client_id: &str) -> Result<Option<ConsentRecord>, StoreError> {
        if !holds(username) || !holds(client_id) {
            return Ok(None);
        }
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_CONSENT)
            .bind(username)
            .bind(client_id)
            .fetch_optional(conn)
            .await)?)
    }

    /// A user's consents, by client name.
    pub async fn consents_of_user(&self, username: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        if !holds(username) {
            return Ok(Vec::new());
        }
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_USER_CONSENTS).bind(username).fetch_all(conn).await)?)
    }

    /// Remembers that `username` allowed `client_id` the space-separated `scope` (replacing what
    /// was remembered). [`StoreError::Gone`] when the user or client was deleted meanwhile.
    pub async fn remember_consent(
        &self,
        username: &str,
        client_id: &str,
        scope: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, |conn| sqlx::query(UPSERT_CONSENT)
            .bind(username)
            .bind(client_id)
            .bind(scope)
            .bind(now)
            .execute(conn)
            .await
            .map(|_| ()))
        .map_err(on_conflict)?;
        Ok(())
    }

    /// Forgets a consent. Returns whether there was one.
    pub async fn forget_consent(&self, username: &str, client_id: &str) -> Result<bool, StoreError> {
        if !holds(username) || !holds(client_id) {
            return Ok(false);
        }
        let done = on_pool!(self, |conn| sqlx::query(DELETE_CONSENT)
            .bind(username)
            .bind(client_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }
}
