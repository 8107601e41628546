//! The `account` table: resource owners, with an argon2id password hash, the administrator flag
//! (administrators sign in to the console) and disabling.

use super::{holds, on_conflict, on_pool, Store, StoreError};
use crate::clock::UnixTime;

/// A resource owner as stored. `password_hash` is an argon2id PHC string.
#[derive(Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// An administrator: may use the console's admin pages (and, through a client allowed the
    /// admin scope, the admin API).
    pub admin: bool,
    /// A disabled user cannot authenticate; their tokens were revoked when they were disabled.
    pub disabled_at: Option<i64>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("username", &self.username)
            .field("admin", &self.admin)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// Which users to list; `None` matches any.
#[derive(Debug, Default, Clone, Copy)]
pub struct UserFilter {
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
}

const INSERT_USER: &str =
    "insert into account (username, password_hash, created_at, updated_at) values ($1, $2, $3, $3)";

/// The account columns, for [`UserRecord`], followed by `$tail`.
macro_rules! select_users {
    ($tail:literal) => {
        concat!("select username, password_hash, created_at, updated_at, admin, disabled_at from account ", $tail)
    };
}

const SELECT_USER: &str = select_users!("where username = $1");
const SELECT_USERS: &str = select_users!("order by username");
/// A page of users by name, after `$1`.
const SELECT_USER_PAGE: &str = select_users!(
    "where ($1 is null or username > $1) and ($2 is null or admin = $2) \
     and ($3 is null or (disabled_at is not null) = $3) order by username limit $4"
);
const SET_USER_ADMIN: &str = "update account set admin = $2, updated_at = $3 where username = $1";
const SET_USER_DISABLED: &str = "update account set disabled_at = $2, updated_at = $3 where username = $1";
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

    /// Up to `limit` users matching `filter`, by name, after `after`.
    pub async fn list_users_page(
        &self,
        filter: UserFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_USER_PAGE)
            .bind(after)
            .bind(filter.admin)
            .bind(filter.disabled)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await)?)
    }

    /// Sets or clears the administrator flag. Returns whether the user exists.
    pub async fn set_user_admin(&self, username: &str, admin: bool, now: UnixTime) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(SET_USER_ADMIN)
            .bind(username)
            .bind(admin)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Disables (`Some(now)`) or enables (`None`) a user. Returns whether the user exists.
    pub async fn set_user_disabled(
        &self,
        username: &str,
        disabled_at: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(SET_USER_DISABLED)
            .bind(username)
            .bind(disabled_at)
            .bind(now)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
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
