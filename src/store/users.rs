//! The `account` table: resource owners, with an argon2id password hash.

use super::{holds, on_conflict, on_pool, Store, StoreError};
use crate::clock::UnixTime;

/// A resource owner as stored. `password_hash` is an argon2id PHC string.
#[derive(Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord").field("username", &self.username).finish_non_exhaustive()
    }
}

const INSERT_USER: &str =
    "insert into account (username, password_hash, created_at, updated_at) values ($1, $2, $3, $3)";
const SELECT_USER: &str = "select username, password_hash, created_at, updated_at from account where username = $1";
const SELECT_USERS: &str = "select username, password_hash, created_at, updated_at from account order by username";
const DELETE_USER: &str = "delete from account where username = $1";
const SET_USER_PASSWORD: &str = "update account set password_hash = $2, updated_at = $3 where username = $1";

impl Store {
    /// Inserts a user; [`StoreError::Duplicate`] when the username is taken.
    pub async fn insert_user(&self, username: &str, password_hash: &str, now: UnixTime) -> Result<(), StoreError> {
        on_pool!(self, |conn| sqlx::query(INSERT_USER)
            .bind(username)
            .bind(password_hash)
            .bind(now)
            .execute(conn)
            .await
            .map(|_| ()))
        .map_err(on_conflict)?;
        Ok(())
    }

    /// The user's row; `None`, without a query, for a username no row can have ([`holds`]).
    pub async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        if !holds(username) {
            return Ok(None);
        }
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_USER).bind(username).fetch_optional(conn).await)?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_USERS).fetch_all(conn).await)?)
    }

    /// Deletes a user and, by cascade, the grant families and tokens issued for them.
    pub async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(DELETE_USER)
            .bind(username)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    pub async fn set_user_password(
        &self,
        username: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(SET_USER_PASSWORD)
            .bind(username)
            .bind(password_hash)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }
}
