//! The `login_throttle` table: failed sign-ins per account and per client address, for the login
//! throttle (`oauth::throttle`, which decides the thresholds and the delays). In the database so
//! that every instance sharing it counts the same failures.

use super::{holds, on_pool, Store, StoreError};
use crate::clock::UnixTime;

/// What a throttle row counts failures of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleKind {
    /// An attempted username (existing or not).
    Account,
    /// A client address.
    Address,
}

impl ThrottleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleKind::Account => "account",
            ThrottleKind::Address => "address",
        }
    }
}

/// A throttle row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThrottleRecord {
    throttle_kind: String,
    pub throttle_key: String,
    pub failures: i64,
    pub last_failure_at: UnixTime,
    pub locked_until: Option<UnixTime>,
}

impl ThrottleRecord {
    pub fn kind(&self) -> ThrottleKind {
        if self.throttle_kind == ThrottleKind::Account.as_str() {
            ThrottleKind::Account
        } else {
            ThrottleKind::Address
        }
    }
}

/// The rows of the account `$1` and the address `$2` (either may be null).
const SELECT_THROTTLES: &str = "select throttle_kind, throttle_key, failures, last_failure_at, locked_until \
     from login_throttle \
     where (throttle_kind = 'account' and throttle_key = $1) or (throttle_kind = 'address' and throttle_key = $2)";

/// Sets `locked_until` to `$5` if the row still holds `$3` failures and the lock `$4` (-1: none)
/// it was read with: of concurrent attempts, one changes it.
const CLAIM_ATTEMPT: &str = "update login_throttle set locked_until = $5 \
     where throttle_kind = $1 and throttle_key = $2 and failures = $3 and coalesce(locked_until, -1) = $4";

/// Counts one failure at `$3`; a count whose last failure is older than `$4` starts again at 1.
const COUNT_FAILURE: &str = "insert into login_throttle (throttle_kind, throttle_key, failures, last_failure_at) \
     values ($1, $2, 1, $3) on conflict (throttle_kind, throttle_key) do update set \
     failures = case when login_throttle.last_failure_at < $4 then 1 else login_throttle.failures + 1 end, \
     last_failure_at = $3 returning failures";

const SET_LOCKED_UNTIL: &str =
    "update login_throttle set locked_until = $3 where throttle_kind = $1 and throttle_key = $2";

const DELETE_THROTTLE: &str = "delete from login_throttle where throttle_kind = $1 and throttle_key = $2";

/// Rows whose last failure is at or before `$1` and whose lock ended by `$2`, at most `$3`.
const DELETE_STALE_THROTTLES: &str = "delete from login_throttle where (throttle_kind, throttle_key) in \
     (select throttle_kind, throttle_key from login_throttle where last_failure_at <= $1 \
      and (locked_until is null or locked_until <= $2) limit $3)";

impl Store {
    /// The throttle rows of this account and this address (none, one or two). A key the database
    /// cannot hold ([`holds`]) has no row.
    pub async fn login_throttles(
        &self,
        account: Option<&str>,
        address: Option<&str>,
    ) -> Result<Vec<ThrottleRecord>, StoreError> {
        let account = account.filter(|a| holds(a));
        let address = address.filter(|a| holds(a));
        if account.is_none() && address.is_none() {
            return Ok(Vec::new());
        }
        Ok(on_pool!(self, |conn| sqlx::query_as(SELECT_THROTTLES).bind(account).bind(address).fetch_all(conn).await)?)
    }

    /// Locks `row` until `until` if it is still as read (compare and set): whether this call did.
    pub async fn claim_login_attempt(&self, row: &ThrottleRecord, until: UnixTime) -> Result<bool, StoreError> {
        let done = on_pool!(self, |conn| sqlx::query(CLAIM_ATTEMPT)
            .bind(row.kind().as_str())
            .bind(&row.throttle_key)
            .bind(row.failures)
            .bind(row.locked_until.unwrap_or(-1))
            .bind(until)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Counts a failure of `key` at `now` and returns the consecutive failures so far; a count
    /// whose last failure came before `forget_before` starts again. `None` for a key the database
    /// cannot hold.
    pub async fn count_login_failure(
        &self,
        kind: ThrottleKind,
        key: &str,
        now: UnixTime,
        forget_before: UnixTime,
    ) -> Result<Option<i64>, StoreError> {
        if !holds(key) {
            return Ok(None);
        }
        let (failures,): (i64,) = on_pool!(self, |conn| sqlx::query_as(COUNT_FAILURE)
            .bind(kind.as_str())
            .bind(key)
            .bind(now)
            .bind(forget_before)
            .fetch_one(conn)
            .await)?;
        Ok(Some(failures))
    }

    /// Refuses attempts for `key` until `until`.
    pub async fn lock_login(&self, kind: ThrottleKind, key: &str, until: UnixTime) -> Result<(), StoreError> {
        if !holds(key) {
            return Ok(());
        }
        on_pool!(self, |conn| sqlx::query(SET_LOCKED_UNTIL)
            .bind(kind.as_str())
            .bind(key)
            .bind(until)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Forgets the failures of `key` (after a successful sign-in to the account).
    pub async fn clear_login_failures(&self, kind: ThrottleKind, key: &str) -> Result<(), StoreError> {
        if !holds(key) {
            return Ok(());
        }
        on_pool!(self, |conn| sqlx::query(DELETE_THROTTLE)
            .bind(kind.as_str())
            .bind(key)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Deletes up to `limit` throttle rows whose last failure is at or before `cutoff` and whose
    /// lock (if any) ended by `now`; returns how many.
    pub async fn delete_stale_login_throttles(
        &self,
        cutoff: UnixTime,
        now: UnixTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |conn| sqlx::query(DELETE_STALE_THROTTLES)
            .bind(cutoff)
            .bind(now)
            .bind(i64::from(limit))
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?)
    }
}
