//! Rotations batched on PostgreSQL: the rotations waiting at one moment run as one statement and
//! one commit, so a busier server spends less database work per rotation.
//!
//! Each rotation joins a queue; at most [`DRAINERS`] tasks take everything queued (up to
//! [`MAX_BATCH`]) and run it as one [`ROTATE_BATCH`] statement. Nothing waits for a batch to fill:
//! under light load a batch holds one rotation, under heavy load it holds what arrived while the
//! previous batches ran. The statement is the single [`super::postgres`] rotation over arrays, so
//! each rotation keeps its own condition — exactly one of several rotations of one token wins,
//! whether they meet in one batch (the `update … from` updates the row once) or in several (row
//! locks and PostgreSQL's re-check, as for one). A batch that fails for any reason but a
//! retryable conflict runs again one rotation at a time, so one rotation's failure (its family
//! deleted meanwhile) is its own.
//!
//! The drainers are spawned tasks: a request that goes away does not cancel the others' batch.

use std::sync::{Arc, Mutex};

use sqlx::PgConnection;
use tokio::sync::oneshot;

use super::checkout::Checkout;
use super::tokens::{NewToken, Rotation};
use super::Digest;
use super::{with_retries, Dialect as _, StoreError};
use crate::clock::UnixTime;
use crate::sync::lock;

/// Batches in flight at once (fewer when the pool is smaller): each holds a connection while it
/// runs, and the lookups before the rotations need the rest. Measured on 2 cores: 4 batches in
/// flight rotate faster at 16 clients than one statement per rotation on 20 connections, and
/// faster still at 64 (BENCHMARKS.md).
const DRAINERS: usize = 4;
/// Most rotations in one batch.
const MAX_BATCH: usize = 64;

/// The rotations of a batch, one array element each; the same conditions as the one-rotation
/// statement. Returns the position (from 1) of each rotation that consumed its token: by position,
/// not by digest, since two requests for one token may share a batch and only one of them won.
const ROTATE_BATCH: &str = "with input as ( \
       select * from unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bigint[], $6::bytea[], \
                            $7::bytea[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::bigint[], $13::bigint[]) \
         with ordinality \
         as i (old, now, new_refresh, sealed, until, revoke_access, \
               new_access, access_scope, access_issued, access_expires, refresh_scope, refresh_issued, refresh_expires, n)), \
     consumed as ( \
       update token t set consumed_at = i.now, successor_digest = i.new_refresh, replay_sealed = i.sealed, replay_until = i.until \
       from input i \
       where t.token_digest = i.old and t.kind = 'refresh' and t.consumed_at is null and t.revoked_at is null \
       returning t.family_id, i.*), \
     revoked as ( \
       update token t set revoked_at = c.now from consumed c \
       where t.token_digest = c.revoke_access and t.revoked_at is null), \
     inserted as ( \
       insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, access_digest) \
       select c.new_access, 'access', c.family_id, c.access_scope, c.access_issued, c.access_expires, null::bytea from consumed c \
       union all \
       select c.new_refresh, 'refresh', c.family_id, c.refresh_scope, c.refresh_issued, c.refresh_expires, c.new_access from consumed c) \
     select n from consumed";

/// A rotation owned by the queue (the request's borrowed one, copied).
struct Queued {
    old: Digest,
    now: UnixTime,
    revoke_access: Option<Digest>,
    new_access: NewToken,
    new_refresh: NewToken,
    sealed: Option<Vec<u8>>,
    until: Option<UnixTime>,
    family_id: String,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

impl Queued {
    fn rotation(&self) -> Rotation<'_> {
        Rotation {
            family_id: &self.family_id,
            old_refresh: self.old,
            revoke_access: self.revoke_access,
            new_access: self.new_access.clone(),
            new_refresh: self.new_refresh.clone(),
            replay_sealed: self.sealed.as_deref(),
            replay_until: self.until,
            now: self.now,
        }
    }
}

#[derive(Default)]
struct State {
    queue: Vec<Queued>,
    drainers: usize,
}

#[derive(Clone)]
pub struct Batcher {
    checkout: Checkout,
    state: Arc<Mutex<State>>,
    drainers: usize,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl Batcher {
    pub fn new(checkout: Checkout, max_connections: u32) -> Batcher {
        let drainers = DRAINERS.min(max_connections as usize).max(1);
        Batcher { checkout, state: Arc::default(), drainers }
    }

    /// Runs `rotation` in the next batch; whether it consumed the old token.
    pub async fn rotate(&self, r: &Rotation<'_>) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            old: r.old_refresh,
            now: r.now,
            revoke_access: r.revoke_access,
            new_access: r.new_access.clone(),
            new_refresh: r.new_refresh.clone(),
            sealed: r.replay_sealed.map(<[u8]>::to_vec),
            until: r.replay_until,
            family_id: r.family_id.to_owned(),
            reply,
        };
        let start = {
            let mut state = lock(&self.state);
            state.queue.push(queued);
            let start = state.drainers < self.drainers;
            if start {
                state.drainers += 1;
            }
            start
        };
        if start {
            tokio::spawn(self.clone().drain());
        }
        answer.await.map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?
    }

    /// Runs batches until the queue is empty.
    async fn drain(self) {
        loop {
            let batch = {
                let mut state = lock(&self.state);
                if state.queue.is_empty() {
                    state.drainers -= 1;
                    return;
                }
                let take = state.queue.len().min(MAX_BATCH);
                state.queue.drain(..take).collect::<Vec<_>>()
            };
            self.run(batch).await;
        }
    }

    async fn run(&self, batch: Vec<Queued>) {
        if batch.len() > 1 {
            match with_retries(|| self.rotate_batch(&batch)).await {
                Ok(won) => {
                    for (q, position) in batch.into_iter().zip(1_i64..) {
                        let _ = q.reply.send(Ok(won.contains(&position)));
                    }
                    return;
                }
                Err(error) => tracing::debug!(%error, "a rotation batch failed; its rotations run one at a time"),
            }
        }
        for q in batch {
            let result = with_retries(|| async {
                let mut held = self.checkout.acquire().await?;
                let conn: &mut PgConnection = &mut held;
                let result = conn.rotate(&q.rotation()).await;
                held.release(result)
            })
            .await;
            let _ = q.reply.send(result);
        }
    }

    async fn rotate_batch(&self, batch: &[Queued]) -> Result<Vec<i64>, sqlx::Error> {
        let column = |f: &dyn Fn(&Queued) -> Option<Vec<u8>>| batch.iter().map(f).collect::<Vec<_>>();
        let olds = column(&|q| Some(q.old.as_bytes().to_vec()));
        let new_refresh = column(&|q| Some(q.new_refresh.digest.as_bytes().to_vec()));
        let sealed = column(&|q| q.sealed.clone());
        let revoke = column(&|q| q.revoke_access.map(|d| d.as_bytes().to_vec()));
        let new_access = column(&|q| Some(q.new_access.digest.as_bytes().to_vec()));
        let nows: Vec<i64> = batch.iter().map(|q| q.now).collect();
        let untils: Vec<Option<i64>> = batch.iter().map(|q| q.until).collect();
        let access_scope: Vec<&str> = batch.iter().map(|q| q.new_access.scope.as_str()).collect();
        let access_issued: Vec<i64> = batch.iter().map(|q| q.new_access.issued_at).collect();
        let access_expires: Vec<i64> = batch.iter().map(|q| q.new_access.expires_at).collect();
        let refresh_scope: Vec<&str> = batch.iter().map(|q| q.new_refresh.scope.as_str()).collect();
        let refresh_issued: Vec<i64> = batch.iter().map(|q| q.new_refresh.issued_at).collect();
        let refresh_expires: Vec<i64> = batch.iter().map(|q| q.new_refresh.expires_at).collect();
        let mut held = self.checkout.acquire().await?;
        let conn: &mut PgConnection = &mut held;
        let result = sqlx::query_scalar(ROTATE_BATCH)
            .bind(olds)
            .bind(nows)
            .bind(new_refresh)
            .bind(sealed)
            .bind(untils)
            .bind(revoke)
            .bind(new_access)
            .bind(access_scope)
            .bind(access_issued)
            .bind(access_expires)
            .bind(refresh_scope)
            .bind(refresh_issued)
            .bind(refresh_expires)
            .fetch_all(conn)
            .await;
        held.release(result)
    }
}
