//! Deleting dead rows, for the janitor (`src/janitor.rs`), which decides the order and the loop.
//! Every method here is one bounded step: at most `limit` rows per statement, found through the
//! partial indexes of `migrations/*/0003_cleanup_indexes.sql`, never a table scan. Each method is
//! atomic (one statement, or one short transaction), so a pass stopped between two steps leaves
//! every dead row findable by the next pass.
//!
//! "Dead at `cutoff`" (the janitor passes `now - retention`):
//! - an access token with `expires_at <= cutoff`;
//! - a grant family revoked at or before `cutoff`, or whose absolute end is at or before it;
//! - a grant family *exhausted* at `cutoff`: the head of its refresh chain (the refresh token not
//!   yet rotated) expired at or before `cutoff`, and it holds no other unrotated token that is still
//!   unexpired at `cutoff`. Nothing of such a family can be used any more, so its rotated refresh
//!   tokens, kept until now for reuse detection, have nothing left to protect;
//! - an authorization code with `expires_at <= cutoff`, used or not: until then a used code
//!   presented again still revokes the family its exchange created.
//!
//! Instances sharing a database run one pass at a time ([`Store::try_lock_janitor`]). Each
//! statement is still correct if two passes meet (after the lock's connection was lost): a row is
//! deleted or updated by one of them only, and a deadlock or busy database is retried.

use sqlx::Connection as _;

use super::types::TokenKind;
use super::{on_pool, postgres, sqlite, with_retries, Backend, Store, StoreError};
use crate::clock::UnixTime;

/// Rows removed by one step, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub families: u64,
}

impl Removed {
    pub fn tokens(&self) -> u64 {
        self.access_tokens + self.refresh_tokens
    }

    fn count_kinds(&mut self, kinds: &[TokenKind]) {
        for kind in kinds {
            match kind {
                TokenKind::Access => self.access_tokens += 1,
                TokenKind::Refresh => self.refresh_tokens += 1,
            }
        }
    }
}

impl std::ops::AddAssign for Removed {
    fn add_assign(&mut self, other: Removed) {
        self.access_tokens += other.access_tokens;
        self.refresh_tokens += other.refresh_tokens;
        self.families += other.families;
    }
}

/// The right to run a janitor pass, from [`Store::try_lock_janitor`], until
/// [`JanitorLock::release`] (or until dropped, which closes its connection just the same).
pub struct JanitorLock {
    /// PostgreSQL: the connection whose session holds the advisory lock. SQLite: none needed.
    session: Option<sqlx::PgConnection>,
}

impl JanitorLock {
    /// Ends the pass's claim: closes the lock's connection, which releases the lock.
    pub async fn release(self) {
        if let Some(conn) = self.session {
            // Closing releases the lock; a connection that fails to close is gone and so is it.
            let _ = conn.close().await;
        }
    }
}

/// Rows waiting for the janitor, counted through the same indexes it uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Access tokens dead at the cutoff.
    pub access_tokens: u64,
    /// Families revoked or past their absolute end at the cutoff.
    pub ended_families: u64,
    /// Refresh chain heads expired at the cutoff (their families are exhausted unless another
    /// unrotated token still lives).
    pub expired_heads: u64,
}

/// Dead families, in three index-driven branches (revoked, ended, exhausted). `union all` so each
/// branch streams and the limit stops the scan; a family found twice is deduplicated by the caller.
/// "No unrotated token alive" is a correlated `max(…) <= $1` rather than `not exists (…)`:
/// PostgreSQL turns `not exists` into an anti-join that reads every live token to build a hash,
/// while the scalar subquery stays a per-candidate probe of `token_family_id`.
const DEAD_FAMILIES: &str = "select family_id from grant_family where revoked_at <= $1 \
     union all select family_id from grant_family where expires_at <= $1 \
     union all select h.family_id from token h \
       where h.kind = 'refresh' and h.consumed_at is null and h.expires_at <= $1 \
       and (select max(u.expires_at) from token u \
            where u.family_id = h.family_id and u.consumed_at is null) <= $1 \
     limit $2";

/// Tokens of the families `{ids}`, all but the head of each refresh chain, at most `$1`.
const DELETE_FAMILY_TOKENS: &str = "delete from token where token_digest in (select token_digest from token \
     where family_id in ({ids}) and (kind = 'access' or consumed_at is not null) limit $1) returning kind";

/// Every remaining token of the families `{ids}`, then the families.
const DELETE_FAMILIES_TOKENS: &str = "delete from token where family_id in ({ids}) returning kind";
const DELETE_FAMILIES: &str = "delete from grant_family where family_id in ({ids})";

/// Access tokens expired at `$1`, oldest first, at most `$2`.
const DELETE_EXPIRED_ACCESS: &str = "delete from token where token_digest in (select token_digest from token \
     where kind = 'access' and expires_at <= $1 order by expires_at limit $2) returning family_id";

/// Those of the families `{ids}` that hold no token any more.
const DELETE_EMPTY_FAMILIES: &str = "delete from grant_family where family_id in ({ids}) \
     and not exists (select 1 from token t where t.family_id = grant_family.family_id)";

/// Authorization codes expired at `$1`, used or not, oldest first, at most `$2`.
const DELETE_EXPIRED_CODES: &str = "delete from authorization_code where code_digest in (select code_digest \
     from authorization_code where expires_at <= $1 order by expires_at limit $2)";

/// Sealed replay responses whose window ended at `$1`, at most `$2`. The outer `replay_until`
/// test is re-checked by PostgreSQL on a row another statement updated meanwhile, so a response
/// two passes both selected is dropped (and counted) by one of them only.
const DROP_EXPIRED_REPLAYS: &str = "update token set replay_sealed = null, replay_until = null \
     where replay_until <= $1 and token_digest in \
     (select token_digest from token where replay_until <= $1 order by replay_until limit $2)";

/// Security events recorded at or before `$1`, oldest first, at most `$2` (through
/// `security_event_occurred_at`).
const DELETE_OLD_SECURITY_EVENTS: &str = "delete from security_event where security_event_id in \
     (select security_event_id from security_event where occurred_at <= $1 order by occurred_at limit $2)";

const BACKLOG: &str = "select \
       (select count(*) from token where kind = 'access' and expires_at <= $1), \
       (select count(*) from grant_family where revoked_at <= $1) \
         + (select count(*) from grant_family where expires_at <= $1), \
       (select count(*) from token where kind = 'refresh' and consumed_at is null and expires_at <= $1)";

impl Store {
    /// Claims the janitor's work for one pass: `None` when another process sharing the database
    /// holds the claim (its pass is running). A dialect fork: an advisory lock on PostgreSQL
    /// ([`postgres::try_lock_janitor`]), nothing to claim on SQLite ([`sqlite::try_lock_janitor`]).
    pub async fn try_lock_janitor(&self) -> Result<Option<JanitorLock>, StoreError> {
        match &self.backend {
            Backend::Postgres(checkout) => {
                let session = postgres::try_lock_janitor(checkout.pool(), checkout.acquire_timeout()).await?;
                Ok(session.map(|session| JanitorLock { session: Some(session) }))
            }
            Backend::Sqlite(_) => Ok(sqlite::try_lock_janitor().then_some(JanitorLock { session: None })),
        }
    }

    /// Up to `limit` ids of families dead at `cutoff` (see the module docs), without duplicates.
    /// The second value is the number of rows the query returned, to tell a full batch from the
    /// last one.
    pub async fn dead_families(&self, cutoff: UnixTime, limit: u32) -> Result<(Vec<String>, usize), StoreError> {
        let mut ids: Vec<String> = with_retries(|| async {
            on_pool!(self, |conn| sqlx::query_scalar(DEAD_FAMILIES)
                .bind(cutoff)
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await)
        })
        .await?;
        let found = ids.len();
        ids.sort_unstable();
        ids.dedup();
        Ok((ids, found))
    }

    /// Deletes up to `limit` tokens of the given families, all but the head of each refresh chain,
    /// which [`Store::delete_families`] removes with its family: while a family row and its head
    /// remain, the family stays findable by [`Store::dead_families`]. Only for dead families.
    pub async fn delete_family_tokens(&self, family_ids: &[String], limit: u32) -> Result<Removed, StoreError> {
        if family_ids.is_empty() {
            return Ok(Removed::default());
        }
        let sql = with_ids(DELETE_FAMILY_TOKENS, 2, family_ids.len());
        let kinds: Vec<TokenKind> = with_retries(|| async {
            on_pool!(self, |conn| {
                let query = sqlx::query_scalar(&sql).persistent(false).bind(i64::from(limit));
                family_ids.iter().fold(query, |query, id| query.bind(id)).fetch_all(conn).await
            })
        })
        .await?;
        let mut removed = Removed::default();
        removed.count_kinds(&kinds);
        Ok(removed)
    }

    /// Deletes the given families with their remaining tokens (after [`Store::delete_family_tokens`]
    /// only the chain heads: at most one per family), in one transaction. Only for dead families.
    pub async fn delete_families(&self, family_ids: &[String]) -> Result<Removed, StoreError> {
        if family_ids.is_empty() {
            return Ok(Removed::default());
        }
        let tokens_sql = with_ids(DELETE_FAMILIES_TOKENS, 1, family_ids.len());
        let families_sql = with_ids(DELETE_FAMILIES, 1, family_ids.len());
        let (kinds, families): (Vec<TokenKind>, u64) = with_retries(|| async {
            on_pool!(self, |conn| {
                let mut tx = conn.begin().await?;
                let query = sqlx::query_scalar(&tokens_sql).persistent(false);
                let kinds = family_ids.iter().fold(query, |query, id| query.bind(id)).fetch_all(&mut *tx).await?;
                let query = sqlx::query(&families_sql).persistent(false);
                let families = family_ids.iter().fold(query, |query, id| query.bind(id)).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok((kinds, families.rows_affected()))
            })
        })
        .await?;
        let mut removed = Removed { families, ..Removed::default() };
        removed.count_kinds(&kinds);
        Ok(removed)
    }

    /// Deletes up to `limit` security events recorded at or before `cutoff`, oldest first.
    pub async fn delete_old_security_events(&self, cutoff: UnixTime, limit: u32) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query(DELETE_OLD_SECURITY_EVENTS)
            .bind(cutoff)
            .bind(i64::from(limit))
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?)
    }

    /// Deletes up to `limit` access tokens that expired at or before `cutoff`, oldest first, and,
    /// in the same transaction, the families this leaves without any token (grants that never had
    /// a refresh token). Access tokens play no part in reuse detection, so they go whatever their
    /// family's state; a revoked one goes once it has also expired. `order by expires_at` keeps
    /// PostgreSQL on the partial index: when most rows match it would otherwise pick a sequential
    /// scan, which re-reads the dead tuples of earlier batches.
    pub async fn delete_expired_access_tokens(&self, cutoff: UnixTime, limit: u32) -> Result<Removed, StoreError> {
        let (deleted, families): (u64, u64) = with_retries(|| async {
            on_pool!(self, |conn| {
                let mut tx = conn.begin().await?;
                let mut touched: Vec<String> = sqlx::query_scalar(DELETE_EXPIRED_ACCESS)
                    .bind(cutoff)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let deleted = touched.len() as u64;
                touched.sort_unstable();
                touched.dedup();
                let mut families = 0;
                if !touched.is_empty() {
                    let sql = with_ids(DELETE_EMPTY_FAMILIES, 1, touched.len());
                    let query = sqlx::query(&sql).persistent(false);
                    families =
                        touched.iter().fold(query, |query, id| query.bind(id)).execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok((deleted, families))
            })
        })
        .await?;
        Ok(Removed { access_tokens: deleted, refresh_tokens: 0, families })
    }

    /// Deletes up to `limit` authorization codes that expired at or before `cutoff`, used or not,
    /// oldest first (through `authorization_code_expires_at`). Returns how many.
    pub async fn delete_expired_codes(&self, cutoff: UnixTime, limit: u32) -> Result<u64, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(DELETE_EXPIRED_CODES)
            .bind(cutoff)
            .bind(i64::from(limit))
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Drops up to `limit` sealed replay responses whose window has passed (at `now`: these are
    /// dropped as soon as they are useless, not after a retention). Returns how many.
    pub async fn drop_expired_replays(&self, now: UnixTime, limit: u32) -> Result<u64, StoreError> {
        with_retries(|| async {
            on_pool!(self, |conn| sqlx::query(DROP_EXPIRED_REPLAYS)
                .bind(now)
                .bind(i64::from(limit))
                .execute(conn)
                .await
                .map(|done| done.rows_affected()))
        })
        .await
    }

    /// Counts what is dead at `cutoff` through the janitor's indexes (index-only range counts).
    pub async fn cleanup_backlog(&self, cutoff: UnixTime) -> Result<Backlog, StoreError> {
        let counts: (i64, i64, i64) =
            on_pool!(self, |conn| sqlx::query_as(BACKLOG).bind(cutoff).fetch_one(conn).await)?;
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(Backlog { access_tokens: count(counts.0), ended_families: count(counts.1), expired_heads: count(counts.2) })
    }
}

/// `template` with `{ids}` replaced by `n` placeholders from `$first`: the values are always
/// bound, never spliced.
fn with_ids(template: &str, first: usize, n: usize) -> String {
    template.replace("{ids}", &placeholders(first, n))
}

/// `$first, $first+1, …` for `n` bound values. The values are always bound, never spliced.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_values_need_no_placeholders() {
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(placeholders(5, 0), "");
    }

    #[test]
    fn one_value_needs_one_placeholder() {
        assert_eq!(placeholders(1, 1), "$1");
    }

    #[test]
    fn placeholders_number_on_from_the_first_and_are_comma_separated() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 3), "$1, $2, $3");
    }

    #[test]
    fn placeholders_pass_two_digit_numbers() {
        let list = placeholders(1, 12);
        assert!(list.starts_with("$1, $2, "));
        assert!(list.ends_with("$10, $11, $12"));
        assert_eq!(list.split(", ").count(), 12);
    }

    #[test]
    fn removed_tokens_are_access_plus_refresh_without_families() {
        let removed = Removed { access_tokens: 2, refresh_tokens: 3, families: 100 };
        assert_eq!(removed.tokens(), 5);
    }

    #[test]
    fn removed_tokens_are_counted_by_kind() {
        let mut removed = Removed::default();
        removed.count_kinds(&[TokenKind::Access, TokenKind::Refresh, TokenKind::Refresh, TokenKind::Access]);
        assert_eq!(removed, Removed { access_tokens: 2, refresh_tokens: 2, families: 0 });
    }

    #[test]
    fn adding_removed_rows_adds_each_kind() {
        let mut total = Removed { access_tokens: 1, refresh_tokens: 2, families: 3 };
        total += Removed { access_tokens: 4, refresh_tokens: 5, families: 6 };
        assert_eq!(total, Removed { access_tokens: 5, refresh_tokens: 7, families: 9 });
    }
}
