//! argon2id hashing and verification of client secrets and user passwords.
//!
//! Verification is CPU- and memory-heavy by design, so it runs on the blocking pool, keeps its
//! tracing span, and is bounded: at most `max_concurrent_hashes` run at once and at most
//! `max_queued_hashes` wait; beyond that requests are refused at once with 503, so a flood of bad
//! credentials cannot exhaust memory or stall the async threads. Client secrets and user
//! passwords have a bound each, so a flood of one does not refuse the other; the permits belong
//! to the blocking task, so a cancelled request's hashing still counts until it ends. A stored
//! hash whose parameters exceed [`MAX_MEMORY_KIB`], [`MAX_ITERATIONS`] or [`MAX_LANES`] is not
//! verified at all: a hostile row could otherwise make one verification take any amount of memory.
//!
//! Each running verification works in a memory buffer kept for the life of the process (one per
//! `max_concurrent_hashes` slot) instead of allocating and freeing the whole memory cost each
//! time: the allocator kept those freed blocks resident, and a burst of uncached authentications
//! grew the server by hundreds of MiB. The argon2 working set is slots × memory cost.
//!
//! The hasher also owns the [`SecretCache`] of client secrets already verified, so that a client
//! pays for argon2id once per secret and process, not once per request.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use prometheus_client::metrics::gauge::Gauge;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::error::{ErrorCode, OAuthError};
use super::secret_cache::SecretCache;
use crate::clock::Clock;
use crate::config::SecuritySettings;
use crate::sync::lock;

#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    /// Client secrets and user passwords queue apart: a flood of one cannot refuse the other.
    client_secrets: Bound,
    passwords: Bound,
    /// A hash of a random value, verified against when the user does not exist so that an
    /// unknown username costs the same time as a wrong password.
    dummy: String,
    secret_cache: SecretCache,
    /// Idle argon2 memory buffers; never more than the running verifications exist at once.
    buffers: std::sync::Mutex<Vec<Vec<Block>>>,
    /// Buffers up to this many blocks (the configured cost) are kept; a hash with a larger
    /// memory cost (an imported one) gets a buffer for that verification only.
    kept_blocks: usize,
}

/// One queue's bound: at most `running` verifications at once, at most `admitted` in all
/// (running and waiting). Its permits are owned by the blocking task itself, so they are held for
/// as long as the hashing runs, even when the request that asked for it is gone.
struct Bound {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    gauges: HashGauges,
}

/// What a queue reports to the metrics: verifications running now, and the most ever running at
/// once (which can never exceed the bound).
#[derive(Clone, Default)]
pub struct HashGauges {
    pub running: Gauge,
    pub peak: Gauge,
}

/// The two queues, by what they verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashQueue {
    ClientSecret,
    Password,
}

impl HashQueue {
    pub fn as_str(self) -> &'static str {
        match self {
            HashQueue::ClientSecret => "client_secret",
            HashQueue::Password => "password",
        }
    }
}

impl Hasher {
    /// A hasher reporting each queue's gauges through `gauges` (`oauthd_hashes_running`).
    pub fn new(
        settings: &SecuritySettings,
        clock: Clock,
        gauges: impl Fn(HashQueue) -> HashGauges,
    ) -> anyhow::Result<Hasher> {
        let params = Params::new(settings.argon2_memory_kib, settings.argon2_iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let running = match settings.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        // Both are bounded by config validation, far below Semaphore::MAX_PERMITS.
        let admitted = running.saturating_add(settings.max_queued_hashes).min(Semaphore::MAX_PERMITS);
        let bound = |queue| Bound {
            running: Arc::new(Semaphore::new(running.min(Semaphore::MAX_PERMITS))),
            admitted: Arc::new(Semaphore::new(admitted)),
            gauges: gauges(queue),
        };
        let dummy = hash_with(&params, &uuid::Uuid::new_v4().to_string())?;
        let kept_blocks = params.block_count();
        Ok(Hasher {
            inner: Arc::new(Inner {
                params,
                client_secrets: bound(HashQueue::ClientSecret),
                passwords: bound(HashQueue::Password),
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

    /// Verifies a client secret against the client's stored hash, in the client-secret queue.
    /// (An unknown client id needs no verification: client ids are not secret.)
    pub async fn verify(&self, secret: &str, phc: &str) -> Result<bool, OAuthError> {
        self.verify_in(HashQueue::ClientSecret, secret, phc.to_owned()).await
    }

    /// Verifies a user's password against `phc`, or against a dummy hash when the user does not
    /// exist (`None`), so both cost the same; in the password queue. Returns whether it matched
    /// (always `false` for `None`).
    pub async fn verify_password(&self, password: &str, phc: Option<&str>) -> Result<bool, OAuthError> {
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.inner.dummy).to_owned();
        let matched = self.verify_in(HashQueue::Password, password, phc).await?;
        Ok(known && matched)
    }

    async fn verify_in(&self, queue: HashQueue, secret: &str, phc: String) -> Result<bool, OAuthError> {
        let bound = match queue {
            HashQueue::ClientSecret => &self.inner.client_secrets,
            HashQueue::Password => &self.inner.passwords,
        };
        let admitted = Arc::clone(&bound.admitted).try_acquire_owned().map_err(|_| busy())?;
        let running = Arc::clone(&bound.running).acquire_owned().await.map_err(|_| busy())?;
        let secret = secrecy::SecretString::from(secret.to_owned());
        let span = tracing::Span::current();
        let hasher = self.clone();
        let gauges = bound.gauges.clone();
        tokio::task::spawn_blocking(move || {
            // The permits live here, in the task that hashes: dropping the request's future
            // (a client that went away) cannot release them while argon2id still runs.
            let _permits = (admitted, running);
            let _entered = span.enter();
            let now_running = gauges.running.inc().saturating_add(1);
            gauges.peak.inner().fetch_max(now_running, Ordering::SeqCst);
            let mut memory = hasher.take_buffer();
            let matched = verify_blocking(&phc, secrecy::ExposeSecret::expose_secret(&secret), &mut memory);
            hasher.return_buffer(memory);
            gauges.running.dec();
            matched
        })
        .in_current_span()
        .await
        .map_err(OAuthError::server_error)
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

/// Largest memory cost (KiB) a stored hash may ask for: 256 MiB, 13 times OWASP's 19 MiB.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// Largest iteration count a stored hash may ask for.
pub const MAX_ITERATIONS: u32 = 10;
/// Largest parallelism (lanes) a stored hash may ask for.
pub const MAX_LANES: u32 = 8;

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
    if params.m_cost() > MAX_MEMORY_KIB || params.t_cost() > MAX_ITERATIONS || params.p_cost() > MAX_LANES {
        // Answered as a wrong secret; the operator learns why.
        tracing::warn!(
            memory_kib = params.m_cost(),
            iterations = params.t_cost(),
            lanes = params.p_cost(),
            "a stored argon2 hash asks for more than oauthd allows (256 MiB, 10 iterations, 8 lanes); \
             it is not verified, so this secret or password cannot succeed until it is set again"
        );
        return false;
    }
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
