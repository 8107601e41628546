//! The verified-secret cache and the per-client failure backoff in front of argon2id client
//! authentication.
//!
//! argon2id at rest stays; what changes is how often it runs. After one argon2id success the cache
//! keeps, per client id, the row's `secret_version` and an HMAC-SHA256 — under a key drawn from the
//! OS at start, held only in memory — of the row's secret hash and the presented secret. A later
//! request presenting the same secret to the same row costs one HMAC and a constant-time compare
//! (microseconds) instead of one argon2id verification (about 20 ms). Nothing cached can be turned
//! back into the secret, nor checked against it without the process's key.
//!
//! The entry also keeps the client row it was verified against, so a request presenting a cached
//! secret needs no read of its own: [`SecretCache::cached`] hands back that row, and the request's
//! statements are conditioned on the row being unchanged (its `secret_version` and hash, see
//! [`crate::store::ClientStamp`]) — see [`super::client_auth`]. When a request loads the row
//! instead, a hit needs the row's current `secret_version` (bumped by every change to the client)
//! and its current secret hash (a fresh salt on every change, so a client deleted and created
//! again under the same id — back at version 1 — does not match either).
//!
//! Invalidation needs no messages, not even between instances: a changed row fails those
//! conditions, and the request then loads it and verifies again. A deleted client has no row, so
//! nothing it cached can match.
//!
//! Only successes are cached. A wrong secret never matches (its MAC differs) and goes to argon2id,
//! which the hasher's semaphores bound. On top of that, per client id — known or not, so that the
//! backoff says nothing about which ids exist — after `client_failure_threshold` consecutive
//! failures, attempts are refused at once with `invalid_client`, without argon2id, for 1 s,
//! doubling with each further failure up to `client_failure_backoff_max_secs`; attempts refused
//! this way do not count. A secret already verified (cached) is always accepted, so a flood of
//! wrong secrets against a client id cannot lock the real client out of a running instance.
//!
//! Both maps are bounded — verified secrets by `secret_cache_capacity`, failure records by the
//! same or [`MIN_FAILURE_RECORDS`], whichever is larger, so the backoff still works with the cache
//! off: a full map drops an arbitrary entry (the HashMap's randomised order) to make room; failure
//! records whose backoff has passed go first.
//! An evicted verified secret costs one argon2id verification to come back, nothing more.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::clock::{Clock, UnixTime};
use crate::config::SecuritySettings;
use crate::store::ClientRecord;

type HmacSha256 = Hmac<Sha256>;

/// Failure records kept even when the verified-secret cache is small or off.
pub const MIN_FAILURE_RECORDS: usize = 1024;
type Tag = [u8; 32];

pub struct SecretCache {
    /// HMAC-SHA256 already keyed with the per-process random key; cloned for each MAC.
    keyed: HmacSha256,
    capacity: usize,
    failure_capacity: usize,
    failure_threshold: u32,
    backoff_max_secs: i64,
    clock: Clock,
    verified: Mutex<HashMap<String, Verified>>,
    failures: Mutex<HashMap<String, Failures>>,
}

struct Verified {
    /// The row the secret was verified against.
    client: Arc<ClientRecord>,
    tag: Tag,
}

struct Failures {
    consecutive: u32,
    /// Attempts are refused without argon2id until this time.
    refused_until: Option<UnixTime>,
}

impl SecretCache {
    pub fn new(settings: &SecuritySettings, clock: Clock) -> anyhow::Result<SecretCache> {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let keyed =
            HmacSha256::new_from_slice(&key).map_err(|e| anyhow::anyhow!("cannot key the secret cache: {e}"))?;
        Ok(SecretCache {
            keyed,
            capacity: settings.secret_cache_capacity,
            failure_capacity: settings.secret_cache_capacity.max(MIN_FAILURE_RECORDS),
            failure_threshold: settings.client_failure_threshold,
            backoff_max_secs: i64::try_from(settings.client_failure_backoff_max_secs).unwrap_or(i64::MAX),
            clock,
            verified: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// The MAC of `secret` as presented to this client row: bound to the row's secret hash, so a
    /// new hash (rotation, re-creation) never matches an old entry.
    fn tag(&self, client: &ClientRecord, secret: &str) -> Tag {
        let mut mac = self.keyed.clone();
        for part in [client.client_id.as_bytes(), client.secret_hash.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `secret` was verified by argon2id against this very row (same secret version, same
    /// hash) earlier in this process. The tags are compared in constant time.
    pub fn is_verified(&self, client: &ClientRecord, secret: &str) -> bool {
        if self.capacity == 0 {
            return false;
        }
        let tag = self.tag(client, secret);
        let verified = lock(&self.verified);
        verified
            .get(&client.client_id)
            .is_some_and(|v| v.client.secret_version == client.secret_version && bool::from(v.tag.ct_eq(&tag)))
    }

    /// The client row `secret` was verified against earlier in this process, if it was: the
    /// caller must still confirm the row is unchanged. The tags are compared in constant time.
    pub fn cached(&self, client_id: &str, secret: &str) -> Option<Arc<ClientRecord>> {
        if self.capacity == 0 {
            return None;
        }
        let (client, tag) = lock(&self.verified).get(client_id).map(|v| (Arc::clone(&v.client), v.tag))?;
        bool::from(self.tag(&client, secret).ct_eq(&tag)).then_some(client)
    }

    /// Records an argon2id success of `secret` against this row, and clears the client's failures.
    pub fn remember(&self, client: &Arc<ClientRecord>, secret: &str) {
        if self.failure_threshold > 0 {
            lock(&self.failures).remove(&client.client_id);
        }
        if self.capacity == 0 {
            return;
        }
        let entry = Verified { client: Arc::clone(client), tag: self.tag(client, secret) };
        let mut verified = lock(&self.verified);
        if verified.len() >= self.capacity && !verified.contains_key(&client.client_id) {
            evict_one(&mut verified);
        }
        verified.insert(client.client_id.clone(), entry);
    }

    /// Whether attempts for this client id are being refused after too many failures.
    pub fn is_backing_off(&self, client_id: &str) -> bool {
        if self.failure_threshold == 0 {
            return false;
        }
        let now = self.clock.now();
        lock(&self.failures).get(client_id).and_then(|f| f.refused_until).is_some_and(|until| now < until)
    }

    /// Counts a failed verification for this client id (whether or not the id exists).
    pub fn record_failure(&self, client_id: &str) {
        if self.failure_threshold == 0 {
            return;
        }
        let now = self.clock.now();
        let mut failures = lock(&self.failures);
        if failures.len() >= self.failure_capacity && !failures.contains_key(client_id) {
            failures.retain(|_, f| f.refused_until.is_some_and(|until| now < until));
            if failures.len() >= self.failure_capacity {
                evict_one(&mut failures);
            }
        }
        let record = failures.entry(client_id.to_owned()).or_insert(Failures { consecutive: 0, refused_until: None });
        record.consecutive = record.consecutive.saturating_add(1);
        if let Some(beyond) = record.consecutive.checked_sub(self.failure_threshold) {
            let backoff = 1i64.checked_shl(beyond).unwrap_or(i64::MAX).min(self.backoff_max_secs);
            record.refused_until = Some(now.saturating_add(backoff));
        }
    }
}

/// A poisoned lock only means another thread panicked while holding it; the maps stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn evict_one<V>(map: &mut HashMap<String, V>) {
    if let Some(victim) = map.keys().next().cloned() {
        map.remove(&victim);
    }
}
