//! Background housekeeping: deletes dead tokens and grant families, and drops sealed replay
//! responses once their window has passed. One pass ([`run_once`]) serves the background loop
//! ([`spawn`], every `janitor.interval_secs`) and `oauthd cleanup`.
//!
//! What goes, `janitor.retention_secs` after it died (the store's `cleanup` module has the exact
//! predicates, each backed by a partial index):
//! 1. sealed replay responses past their window — at once, without retention;
//! 2. dead grant families, whole: revoked, past their absolute end, or exhausted (the refresh
//!    chain's head expired and no other unrotated token lives). Their rotated refresh tokens go
//!    with them: reuse detection has nothing left to protect;
//! 3. expired access tokens, whatever their family (reuse detection never needs them), and the
//!    families this leaves empty (grants without a refresh token);
//! 4. expired authorization codes, used or not (a used one is kept until then so that presenting
//!    it again still revokes what it gave);
//! 5. security events older than `security.event_retention_secs` (90 days by default), which
//!    have a retention of their own;
//! 6. login throttle counts whose failures are forgotten (`login.forget_after_secs` after the
//!    last one) and whose lock has ended.
//!
//! What stays: every live token, and every rotated refresh token of a family that is still alive,
//! even past its own expiry — presenting it again must still revoke the family (RFC 9700 §4.14.2).
//!
//! Every statement touches at most `janitor.batch_size` rows (a dead family's chain head goes with
//! the family row: one more row per family) and the pass yields between statements, so requests
//! share the pool and no lock is held for long.
//!
//! Several instances may share one database: one pass runs at a time among them (the store's
//! janitor lock; a pass that finds it taken is skipped, the work is being done), a deadlock or a
//! busy database is retried, and each instance's waits are jittered so that instances started
//! together drift apart.

use std::time::Duration;

use rand::Rng as _;
use serde::Serialize;

use crate::clock::Stopwatch;
use crate::metrics::KindLabel;
use crate::oauth::Authority;
use crate::store::cleanup::Removed;
use crate::store::StoreError;

/// What one pass did, for logs, metrics and `oauthd cleanup`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanupReport {
    /// Access tokens deleted.
    pub access_tokens: u64,
    /// Refresh tokens deleted (rotated ones of dead families, and the families' last ones).
    pub refresh_tokens: u64,
    /// Grant families deleted.
    pub families: u64,
    /// Sealed replay responses dropped (the token rows stay).
    pub replays_dropped: u64,
    /// Authorization codes deleted.
    pub codes: u64,
    /// Security events deleted after `security.event_retention_secs`.
    pub security_events: u64,
    /// Sign-in sessions deleted once ended (`sessions.idle_secs` unused or `sessions.absolute_secs` old).
    pub sessions: u64,
    /// Login throttle counts deleted once forgotten.
    pub login_throttles: u64,
    /// Rows found dead at the start of the pass through the janitor's indexes: expired access
    /// tokens + revoked or ended families + expired chain heads. An estimate of the work waiting,
    /// not a row count (a family's rotated tokens are not counted).
    pub backlog: u64,
    /// Statements run (each finds, deletes or updates at most `janitor.batch_size` rows).
    pub batches: u64,
    /// The slowest of them, in milliseconds.
    pub max_batch_ms: u64,
    /// The whole pass, in milliseconds.
    pub elapsed_ms: u64,
    /// Nothing was done: another process sharing the database was running a pass.
    pub skipped: bool,
}

impl CleanupReport {
    fn add(&mut self, removed: Removed) {
        self.access_tokens += removed.access_tokens;
        self.refresh_tokens += removed.refresh_tokens;
        self.families += removed.families;
    }

    /// Rows deleted (tokens, families and codes).
    pub fn rows_deleted(&self) -> u64 {
        self.access_tokens + self.refresh_tokens + self.families + self.codes
    }
}

/// Times each statement and lets other tasks run between them.
struct Batches<'a> {
    report: &'a mut CleanupReport,
}

impl Batches<'_> {
    async fn run<T, F>(&mut self, step: F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, StoreError>>,
    {
        let watch = Stopwatch::start();
        let out = step.await?;
        let ms = watch.elapsed_ms();
        self.report.batches += 1;
        self.report.max_batch_ms = self.report.max_batch_ms.max(ms);
        tokio::task::yield_now().await;
        Ok(out)
    }
}

/// One full pass, unless another process sharing the database is running one: then nothing is
/// done and the report says `skipped`.
pub async fn run_once(auth: &Authority) -> Result<CleanupReport, StoreError> {
    let Some(lock) = auth.store.try_lock_janitor().await? else {
        tracing::debug!("janitor pass skipped: another instance is running one");
        return Ok(CleanupReport { skipped: true, ..CleanupReport::default() });
    };
    let report = run_steps(auth).await;
    lock.release().await;
    report
}

/// The pass itself: loops each step batch by batch until a batch comes back short.
async fn run_steps(auth: &Authority) -> Result<CleanupReport, StoreError> {
    let watch = Stopwatch::start();
    let settings = &auth.settings.janitor;
    let limit = settings.batch_size;
    let full = u64::from(limit);
    let now = auth.clock.now();
    let cutoff = now.saturating_sub(settings.retention_secs);
    let store = &auth.store;
    let mut report = CleanupReport::default();
    let backlog = store.cleanup_backlog(cutoff).await?;
    report.backlog = backlog.access_tokens + backlog.ended_families + backlog.expired_heads;
    let mut batches = Batches { report: &mut report };

    let mut replays = 0;
    loop {
        let dropped = batches.run(store.drop_expired_replays(now, limit)).await?;
        replays += dropped;
        if dropped < full {
            break;
        }
    }

    let sessions_settings = &auth.settings.sessions;
    let (idle_cutoff, absolute_cutoff) =
        (now.saturating_sub(sessions_settings.idle_secs), now.saturating_sub(sessions_settings.absolute_secs));
    let mut sessions = 0;
    loop {
        let deleted = batches.run(store.delete_ended_sessions(idle_cutoff, absolute_cutoff, limit)).await?;
        sessions += deleted;
        if deleted < full {
            break;
        }
    }

    let mut removed = Removed::default();
    loop {
        let (families, found) = batches.run(store.dead_families(cutoff, limit)).await?;
        if families.is_empty() {
            break;
        }
        loop {
            let tokens = batches.run(store.delete_family_tokens(&families, limit)).await?;
            removed += tokens;
            if tokens.tokens() < full {
                break;
            }
        }
        removed += batches.run(store.delete_families(&families)).await?;
        if (found as u64) < full {
            break;
        }
    }

    loop {
        let access = batches.run(store.delete_expired_access_tokens(cutoff, limit)).await?;
        removed += access;
        if access.access_tokens < full {
            break;
        }
    }

    let mut codes = 0;
    loop {
        let deleted = batches.run(store.delete_expired_codes(cutoff, limit)).await?;
        codes += deleted;
        if deleted < full {
            break;
        }
    }

    let event_cutoff = now.saturating_sub(auth.settings.security.event_retention_secs);
    let mut events = 0;
    loop {
        let deleted = batches.run(store.delete_old_security_events(event_cutoff, limit)).await?;
        events += deleted;
        if deleted < full {
            break;
        }
    }

    let throttle_cutoff = now.saturating_sub(auth.settings.login.forget_after_secs);
    let mut throttles = 0;
    loop {
        let deleted = batches.run(store.delete_stale_login_throttles(throttle_cutoff, now, limit)).await?;
        throttles += deleted;
        if deleted < full {
            break;
        }
    }

    report.sessions = sessions;
    report.login_throttles = throttles;
    report.replays_dropped = replays;
    report.codes = codes;
    report.security_events = events;
    report.add(removed);
    report.elapsed_ms = watch.elapsed_ms();
    record(auth, &report);
    Ok(report)
}

/// Counts a pass in the metrics: rows deleted by kind, and what is left of the backlog found at
/// its start.
fn record(auth: &Authority, report: &CleanupReport) {
    let m = &auth.metrics;
    for (kind, rows) in [
        ("access_token", report.access_tokens),
        ("refresh_token", report.refresh_tokens),
        ("grant_family", report.families),
        ("replay_response", report.replays_dropped),
        ("authorization_code", report.codes),
        ("security_event", report.security_events),
        ("login_throttle", report.login_throttles),
    ] {
        m.janitor_deleted.get_or_create(&KindLabel { kind }).inc_by(rows);
    }
    let left = report.backlog.saturating_sub(report.access_tokens + report.families);
    m.janitor_backlog.set(i64::try_from(left).unwrap_or(i64::MAX));
}

/// Runs a pass every `janitor.interval_secs` until the task is aborted: the first one after a
/// random half to whole interval, each later one after the interval give or take a tenth, so
/// instances started together do not keep meeting. Not started when `janitor.enabled` is false.
pub fn spawn(auth: Authority) -> Option<tokio::task::JoinHandle<()>> {
    let settings = &auth.settings.janitor;
    if !settings.enabled {
        tracing::info!("janitor disabled (janitor.enabled = false); run `oauthd cleanup` instead");
        return None;
    }
    let interval = Duration::from_secs(settings.interval_secs);
    Some(tokio::spawn(async move {
        let mut wait = jittered(interval, 0.5, 1.0);
        loop {
            tokio::time::sleep(wait).await;
            wait = jittered(interval, 0.9, 1.1);
            match run_once(&auth).await {
                Ok(report)
                    if report.rows_deleted() == 0
                        && report.replays_dropped == 0
                        && report.security_events == 0
                        && report.login_throttles == 0 => {}
                Ok(report) => tracing::info!(
                    access_tokens = report.access_tokens,
                    refresh_tokens = report.refresh_tokens,
                    families = report.families,
                    replays_dropped = report.replays_dropped,
                    codes = report.codes,
                    security_events = report.security_events,
                    login_throttles = report.login_throttles,
                    batches = report.batches,
                    elapsed_ms = report.elapsed_ms,
                    "janitor pass"
                ),
                Err(e) => tracing::warn!(error = %e, "janitor pass failed"),
            }
        }
    }))
}

/// `interval` scaled by a random factor in `[low, high)`.
fn jittered(interval: Duration, low: f64, high: f64) -> Duration {
    interval.mul_f64(rand::thread_rng().gen_range(low..high))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jittered_wait_stays_within_its_bounds() {
        let interval = Duration::from_secs(60);
        for _ in 0..1000 {
            let wait = jittered(interval, 0.9, 1.1);
            assert!(wait >= Duration::from_secs(54) && wait < Duration::from_secs(66), "{wait:?}");
        }
    }

    #[test]
    fn an_empty_report_deleted_no_rows() {
        assert_eq!(CleanupReport::default().rows_deleted(), 0);
    }

    #[test]
    fn rows_deleted_counts_tokens_and_families() {
        let report = CleanupReport { access_tokens: 3, refresh_tokens: 5, families: 7, ..CleanupReport::default() };
        assert_eq!(report.rows_deleted(), 15);
    }

    #[test]
    fn rows_deleted_counts_codes_too() {
        let report = CleanupReport { codes: 4, families: 1, ..CleanupReport::default() };
        assert_eq!(report.rows_deleted(), 5);
    }

    #[test]
    fn rows_deleted_leaves_out_dropped_replays_and_pass_figures() {
        // Dropping a replay clears two columns; the token row stays.
        let report = CleanupReport {
            replays_dropped: 11,
            backlog: 13,
            batches: 17,
            max_batch_ms: 19,
            elapsed_ms: 23,
            ..CleanupReport::default()
        };
        assert_eq!(report.rows_deleted(), 0);
    }

    #[test]
    fn adding_removed_rows_accumulates_each_kind() {
        let mut report = CleanupReport::default();
        report.add(Removed { access_tokens: 1, refresh_tokens: 2, families: 3 });
        report.add(Removed { access_tokens: 10, refresh_tokens: 20, families: 30 });
        assert_eq!((report.access_tokens, report.refresh_tokens, report.families), (11, 22, 33));
        assert_eq!(report.rows_deleted(), 66);
    }
}
