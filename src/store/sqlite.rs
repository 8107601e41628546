//! Dialect forks, SQLite: the multi-step writes as one transaction each (SQLite has no
//! data-modifying `WITH`; a transaction on the one pooled connection costs no round trip), and the
//! client-change poll. The PostgreSQL side of each is in [`super::postgres`].

use std::sync::Arc;
use std::time::Duration;

use sqlx::{SqliteConnection, SqlitePool};

use super::client_cache::ClientCache;
use super::codes::CodeExchange;
use super::families::{bind_family, NewGrant, INSERT_FAMILY};
use super::tokens::{InPlace, NewToken, Rotation, INSERT_TOKEN};
use super::Dialect;

/// How often the client change counter is read.
pub const POLL: Duration = Duration::from_millis(100);

/// Bumped by a trigger on every change to the `client` table (migrations/sqlite/0004_client_change.sql).
const CLIENT_CHANGE_SEQ: &str = "select seq from client_change";

const CONSUME_REFRESH: &str = "update token set consumed_at = $2, successor_digest = $3, replay_sealed = $4, \
     replay_until = $5 where token_digest = $1 and kind = 'refresh' and consumed_at is null and revoked_at is null";

/// Consumes a code: only while it is unused and unexpired.
const CONSUME_CODE: &str = "update authorization_code set consumed_at = $2 \
     where code_digest = $1 and consumed_at is null and expires_at > $2";

const REVOKE_TOKEN: &str = "update token set revoked_at = $2 where token_digest = $1 and revoked_at is null";

const POINT_REFRESH_AT_ACCESS: &str = "update token set access_digest = $2 where token_digest = $1 \
     and kind = 'refresh' and consumed_at is null and revoked_at is null";

async fn insert_token(conn: &mut SqliteConnection, family_id: &str, token: &NewToken) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_TOKEN)
        .bind(token.digest)
        .bind(token.kind)
        .bind(family_id)
        .bind(token.scope.as_str())
        .bind(token.issued_at)
        .bind(token.expires_at)
        .bind(token.access_digest.as_ref())
        .execute(conn)
        .await?;
    Ok(())
}

/// The family of a grant and its tokens, inside the caller's transaction.
async fn insert_grant_rows(conn: &mut SqliteConnection, grant: &NewGrant<'_>) -> Result<(), sqlx::Error> {
    let f = &grant.family;
    bind_family(sqlx::query(INSERT_FAMILY), f).execute(&mut *conn).await?;
    for token in std::iter::once(&grant.access).chain(&grant.refresh) {
        insert_token(conn, f.family_id, token).await?;
    }
    Ok(())
}

impl Dialect for &SqlitePool {
    async fn insert_grant(self, grant: &NewGrant<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        insert_grant_rows(&mut tx, grant).await?;
        tx.commit().await
    }

    async fn rotate(self, r: &Rotation<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        let consumed = sqlx::query(CONSUME_REFRESH)
            .bind(r.old_refresh)
            .bind(r.now)
            .bind(r.new_refresh.digest)
            .bind(r.replay_sealed)
            .bind(r.replay_until)
            .execute(&mut *tx)
            .await?;
        if consumed.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(access) = &r.revoke_access {
            sqlx::query(REVOKE_TOKEN).bind(access).bind(r.now).execute(&mut *tx).await?;
        }
        for token in [&r.new_access, &r.new_refresh] {
            insert_token(&mut tx, r.family_id, token).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn refresh_in_place(self, r: &InPlace<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        let updated =
            sqlx::query(POINT_REFRESH_AT_ACCESS).bind(r.refresh).bind(r.new_access.digest).execute(&mut *tx).await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(access) = &r.revoke_access {
            sqlx::query(REVOKE_TOKEN).bind(access).bind(r.now).execute(&mut *tx).await?;
        }
        insert_token(&mut tx, r.family_id, &r.new_access).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn exchange_code(self, e: &CodeExchange<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        let consumed = sqlx::query(CONSUME_CODE).bind(e.code).bind(e.now).execute(&mut *tx).await?;
        if consumed.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_grant_rows(&mut tx, &e.grant).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// [`Store::try_lock_janitor`](super::Store::try_lock_janitor) on SQLite: always granted, as
/// nothing needs excluding. SQLite has one writer, so each janitor statement of concurrent passes
/// (several processes on one file) runs alone and finds what an earlier one deleted gone; a
/// statement that meets the writer's lock waits for it (`busy_timeout`) or is retried.
pub(super) fn try_lock_janitor() -> bool {
    true
}

/// Keeps `cache` coherent: reads the client change counter every [`POLL`] and drops every row
/// when it moved (another process changed a client: the CLI, another instance on the same file).
/// The cache is on only while the counter can be read.
pub(super) async fn watch_clients(pool: SqlitePool, cache: Arc<ClientCache>) {
    let mut seen: Option<i64> = None;
    loop {
        match sqlx::query_scalar::<_, i64>(CLIENT_CHANGE_SEQ).fetch_one(&pool).await {
            Ok(seq) => {
                if seen.is_some_and(|seen| seen != seq) {
                    cache.forget_all();
                }
                if seen.is_none() {
                    cache.turn_on();
                }
                seen = Some(seq);
            }
            Err(error) => {
                if seen.take().is_some() {
                    tracing::warn!(%error, "cannot read the client change counter; client rows are read from the database");
                }
                cache.turn_off();
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
