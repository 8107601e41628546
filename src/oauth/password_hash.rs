//! argon2id hashing and verification of client secrets and user passwords.
//!
//! Verification is CPU- and memory-heavy (about 20 ms and 19 MiB at the defaults), so it runs on
//! the blocking pool, keeps its tracing span, and is bounded: at most `max_concurrent_hashes` run
//! at once and at most `max_queued_hashes` wait; beyond that requests are refused at once with
//! 503, so a flood of bad credentials cannot exhaust memory or stall the async threads.
//!
//! The hasher also owns the [`SecretCache`] of client secrets already verified, so that a client
//! pays for argon2id once per secret and process, not once per request.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
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
}

impl Hasher {
    pub fn new(settings: &SecuritySettings, clock: Clock) -> anyhow::Result<Hasher> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            1,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let running = match settings.max_concurrent_hashes {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let dummy = hash_with(&params, &uuid::Uuid::new_v4().to_string())?;
        Ok(Hasher {
            inner: Arc::new(Inner {
                params,
                running: Semaphore::new(running),
                admitted: Semaphore::new(running + settings.max_queued_hashes),
                dummy,
                secret_cache: SecretCache::new(settings, clock)?,
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
        let matched = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            verify_blocking(&phc, secrecy::ExposeSecret::expose_secret(&secret))
        })
        .in_current_span()
        .await
        .map_err(OAuthError::server_error)?;
        Ok(known && matched)
    }
}

fn busy() -> OAuthError {
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "too many authentication attempts in progress; try again",
    )
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

/// Verifies with the parameters recorded in the PHC string; the comparison inside the argon2
/// crate is constant-time.
fn verify_blocking(phc: &str, secret: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(secret.as_bytes(), &parsed)
        .is_ok()
}
