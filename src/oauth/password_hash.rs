//! argon2id hashing and verification of client secrets and user passwords.
//!
//! Verification is CPU- and memory-heavy by design, so it runs on the blocking pool, keeps its
//! tracing span, and is bounded: at most `max_concurrent_hashes` run at once and at most
//! `max_queued_hashes` wait; beyond that requests are refused at once with 503, so a flood of bad
//! credentials cannot exhaust memory or stall the async threads.
//!
//! Each running verification works in a memory buffer kept for the life of the process (one per
//! `max_concurrent_hashes` slot) instead of allocating and freeing the whole memory cost each
//! time: the allocator kept those freed blocks resident, and a burst of uncached authentications
//! grew the server by hundreds of MiB. The argon2 working set is slots × memory cost.
//!
//! The hasher also owns the [`SecretCache`] of client secrets already verified, so that a client
//! pays for argon2id once per secret and process, not once per request.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::error::{ErrorCode, OAuthError};
use super::secret_cache::SecretCache;
use crate::clock::Clock;
use crate::config::SecuritySettings;

#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    running: Semaphore,
    admitted: Semaphore,
    /// A hash of a random value, verified against when the account does not exist so that an
    /// unknown name costs the same time as a wrong secret.
    dummy: String,
    secret_cache: SecretCache,
    /// Idle argon2 memory buffers; never more than `running` exist at once.
    buffers: std::sync::Mutex<Vec<Vec<Block>>>,
    /// Buffers up to this many blocks (the configured cost) are kept; a hash with a larger
    /// memory cost (an imported one) gets a buffer for that verification only.
    kept_blocks: usize,
}

impl Hasher {
    pub fn new(settings: &SecuritySettings, clock: Clock) -> anyhow::Result<Hasher> {
        let params = Params::new(settings.argon2_memory_kib, settings.argon2_iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let running = match settings.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        let dummy = hash_with(&params, &uuid::Uuid::new_v4().to_string())?;
        let kept_blocks = params.block_count();
        Ok(Hasher {
            inner: Arc::new(Inner {
                params,
                running: Semaphore::new(running),
                admitted: Semaphore::new(running + settings.max_queued_hashes),
                dummy,
                secret_cache: SecretCache::new(settings, clock)?,
                buffers: std::sync::Mutex::new(Vec::new()),
                kept_blocks,
            }),
        })
    }

    /// Client secrets already verified in this process, and recent failures per client id.
    pub fn secret_cache(&self) -> &SecretCache {
        &self.inner.secret_cache
    }

    /// Hashes a secret into an argon2id PHC string (for the CLI and admin paths).
    pub fn hash(&self, secret: &str) -> anyhow::Result<String> {
        hash_with(&self.inner.params, secret)
    }

    /// Verifies `secret` against `phc`, or against a dummy hash when `phc` is `None`, so both
    /// cost the same. Returns whether it matched (always `false` for `None`).
    pub async fn verify(&self, secret: &str, phc: Option<&str>) -> Result<bool, OAuthError> {
        let _admitted = self.inner.admitted.try_acquire().map_err(|_| busy())?;
        let _running = self.inner.running.acquire().await.map_err(|_| busy())?;
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.inner.dummy).to_owned();
        let secret = secrecy::SecretString::from(secret.to_owned());
        let span = tracing::Span::current();
        let mut memory = self.take_buffer();
        let (matched, memory) = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let matched = verify_blocking(&phc, secrecy::ExposeSecret::expose_secret(&secret), &mut memory);
            (matched, memory)
        })
        .in_current_span()
        .await
        .map_err(OAuthError::server_error)?;
        self.return_buffer(memory);
        Ok(known && matched)
    }
}

impl Hasher {
    fn take_buffer(&self) -> Vec<Block> {
        lock(&self.inner.buffers).pop().unwrap_or_default()
    }

    fn return_buffer(&self, memory: Vec<Block>) {
        if memory.len() <= self.inner.kept_blocks {
            lock(&self.inner.buffers).push(memory);
        }
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn busy() -> OAuthError {
    OAuthError::new(ErrorCode::TemporarilyUnavailable, "too many authentication attempts in progress; try again")
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// Verifies with the algorithm, version and parameters recorded in the PHC string, in `memory`
/// (grown to the hash's memory cost if needed), and compares the output in constant time.
fn verify_blocking(phc: &str, secret: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let Some(memory) = memory.get_mut(..blocks) else {
        return false;
    };
    let mut output = [0u8; 64];
    let Some(output) = output.get_mut(..expected.len()) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(secret.as_bytes(), salt, output, memory)
        .is_ok()
        && bool::from(output.ct_eq(expected.as_bytes()))
}
