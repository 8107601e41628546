//! The verified-secret cache and the per-client failure backoff in front of argon2id client
//! authentication.
//!
//! argon2id at rest stays; what changes is how often it runs. After one argon2id success the cache
//! keeps, per client id, the row's `secret_version` and an HMAC-SHA256 — under a key drawn from the
//! OS at start, held only in memory — of the row's secret hash and the presented secret. A later
//! request presenting the same secret to the same row costs one HMAC and a constant-time compare
//! instead of one argon2id verification. Nothing cached can be turned back into the secret, nor
//! checked against it without the process's key.
//!
//! An entry matches only the row it was verified against: the same `secret_version` (bumped by
//! every change to the client) and the same secret hash (a fresh salt on every new secret, so a
//! client deleted and created again under the same id, back at version 1, does not match either).
//! The row itself comes from the store's coherent client cache, so a changed client is verified
//! afresh as soon as its new row is read.
//!
//! Only successes are cached. A wrong secret never matches (its MAC differs) and goes to argon2id,
//! which the hasher's semaphores bound. On top of that, per known client id (an unknown id is
//! refused without argon2id and needs no backoff) after `client_failure_threshold` consecutive
//! failures, attempts are refused at once with `invalid_client`, without argon2id, for 1 s,
//! doubling with each further failure up to `client_failure_backoff_max_secs` ([`backoff_secs`]);
//! attempts refused this way do not count. A secret already verified (cached) is always accepted,
//! so a flood of wrong secrets against a client id cannot lock the real client out of a running
//! instance.
//!
//! Both maps are bounded — verified secrets by `secret_cache_capacity`, failure records by the
//! same or [`MIN_FAILURE_RECORDS`], whichever is larger, so the backoff still works with the cache
//! off: a full map drops an arbitrary entry (the HashMap's randomised order) to make room; failure
//! records whose backoff has passed go first. An evicted verified secret costs one argon2id
//! verification to come back, nothing more.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::clock::{Clock, UnixTime};
use crate::config::SecuritySettings;
use crate::store::ClientRecord;
use crate::sync::lock;

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
    /// The `secret_version` of the row the secret was verified against.
    secret_version: i64,
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
            .is_some_and(|v| v.secret_version == client.secret_version && bool::from(v.tag.ct_eq(&tag)))
    }

    /// Records an argon2id success of `secret` against this row, and clears the client's failures.
    pub fn remember(&self, client: &ClientRecord, secret: &str) {
        if self.failure_threshold > 0 {
            lock(&self.failures).remove(&client.client_id);
        }
        if self.capacity == 0 {
            return;
        }
        let entry = Verified { secret_version: client.secret_version, tag: self.tag(client, secret) };
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

    /// Counts a failed verification for this client id.
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
            record.refused_until = Some(now.saturating_add(backoff_secs(beyond, self.backoff_max_secs)));
        }
    }
}

/// The backoff after `beyond` failures past the threshold: 1 s, doubling per further failure,
/// never more than `max` (and never negative, however many failures).
pub fn backoff_secs(beyond: u32, max: i64) -> i64 {
    // 2^62 is the largest power of two an i64 holds; `checked_shl(63)` would give i64::MIN.
    let doubled = if beyond < 63 { 1i64 << beyond } else { i64::MAX };
    doubled.min(max).max(0)
}

fn evict_one<V>(map: &mut HashMap<String, V>) {
    if let Some(victim) = map.keys().next().cloned() {
        map.remove(&victim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second_up_to_its_maximum() {
        assert_eq!(backoff_secs(0, 60), 1);
        assert_eq!(backoff_secs(1, 60), 2);
        assert_eq!(backoff_secs(5, 60), 32);
        assert_eq!(backoff_secs(6, 60), 60);
        assert_eq!(backoff_secs(7, 60), 60);
    }

    #[test]
    fn the_backoff_never_overflows_into_a_negative_or_short_wait() {
        for beyond in [61, 62, 63, 64, 65, 100, u32::MAX] {
            assert_eq!(backoff_secs(beyond, 60), 60, "after {beyond} failures");
            assert!(backoff_secs(beyond, i64::MAX) >= 1 << 61, "after {beyond} failures");
        }
    }

    #[test]
    fn a_zero_maximum_means_no_wait() {
        assert_eq!(backoff_secs(3, 0), 0);
    }
}
