//! Background housekeeping while the server runs: sealed replay responses are dropped once their
//! window has passed, so the database never keeps a way to reproduce a response longer than
//! needed.

use std::time::Duration;

use crate::oauth::Authority;

/// How often the janitor runs.
const INTERVAL: Duration = Duration::from_secs(10);

/// One pass; returns how many sealed replay responses were dropped.
pub async fn run_once(auth: &Authority) -> Result<u64, crate::store::StoreError> {
    auth.store.drop_expired_replays(auth.clock.now()).await
}

/// Runs passes every [`INTERVAL`] until the task is aborted.
pub fn spawn(auth: Authority) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match run_once(&auth).await {
                Ok(0) => {}
                Ok(dropped) => tracing::debug!(dropped, "janitor dropped expired replay responses"),
                Err(e) => tracing::warn!(error = %e, "janitor pass failed"),
            }
        }
    })
}
