//! The `account` table: resource owners for the password grant.

use super::{on_duplicate, on_pool, Store, StoreError};
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

impl Store {
    /// Inserts a user; [`StoreError::Duplicate`] when the username is taken.
    pub async fn insert_user(&self, username: &str, password_hash: &str, now: UnixTime) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "insert into account (username, password_hash, created_at, updated_at) values ($1, $2, $3, $3)"
        )
        .bind(username)
        .bind(password_hash)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(on_duplicate)?;
        Ok(())
    }

    pub async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, UserRecord>(
                "select username, password_hash, created_at, updated_at from account where username = $1",
            )
            .bind(username)
            .fetch_optional(pool)
            .await
        })?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, UserRecord>(
            "select username, password_hash, created_at, updated_at from account order by username"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// Deletes a user and, by cascade, the grant families and tokens issued for them.
    pub async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query("delete from account where username = $1")
            .bind(username)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    pub async fn set_user_password(
        &self,
        username: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "update account set password_hash = $2, updated_at = $3 where username = $1"
        )
        .bind(username)
        .bind(password_hash)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
