//! Operator actions: the one place their rules live — validation, secret hashing, cache
//! invalidation (through the store) and security-event recording. The CLI (`oauthd client …`,
//! `oauthd user …`, `oauthd token …`), the admin API (`http::admin_api`) and the console call the
//! same functions; tests seed through them too. [`applications`] holds the self-service rules of
//! the console (a user's own clients, the scopes the operator offers them) over the same functions.
//!
//! A function that causes a security event takes the [`Origin`] of the action (the CLI, an
//! administrator or a client of the admin API, with the peer's address) and records the event
//! itself, so no caller can forget it. Lists are paged ([`page`]) and their JSON shapes, shared by
//! `--json` and the API, are in [`views`].

pub mod applications;
pub mod clients;
pub mod consents;
pub mod events;
pub mod grants;
pub mod page;
pub mod sessions;
pub mod tokens;
pub mod users;
pub mod views;

use secrecy::{ExposeSecret, SecretString};

pub use crate::oauth::events::{Actor, Origin};
use crate::oauth::Authority;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// RFC 6749 Appendix A: client ids, secrets are `*VSCHAR` (%x20-7E).
fn is_vschar_text(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

/// A name or key given to a filter or a lookup: control characters (NUL above all, which
/// PostgreSQL cannot hold in text) name nothing oauthd stores, so they are refused before any
/// query.
fn check_key(what: &str, value: &str) -> Result<(), AdminError> {
    if value.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!("{what} must not contain control characters")));
    }
    Ok(())
}

/// [`check_key`] for each filter value given.
fn check_filter_keys(keys: &[(&str, &Option<String>)]) -> Result<(), AdminError> {
    keys.iter().filter_map(|(what, value)| value.as_deref().map(|v| check_key(what, v))).collect()
}

/// Hashes a new secret or password with argon2id on the blocking pool: the admin API and the
/// console call this from a request, whose async thread must not stall for the hash.
async fn hash_secret(auth: &Authority, secret: &SecretString) -> Result<String, AdminError> {
    let hasher = auth.hasher.clone();
    let secret = secret.clone();
    let hashed = tokio::task::spawn_blocking(move || hasher.hash(secret.expose_secret()))
        .await
        .map_err(|e| anyhow::anyhow!("the hashing task failed: {e}"))?;
    Ok(hashed?)
}
