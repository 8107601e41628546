//! Resource owners for the password grant: create, list, delete, set a password.

use secrecy::{ExposeSecret, SecretString};

use super::AdminError;
use crate::oauth::Authority;
use crate::store::{StoreError, UserRecord};

fn validate_username(username: &str) -> Result<(), AdminError> {
    if username.is_empty() || username.len() > 255 || username.chars().any(char::is_control) {
        return Err(AdminError::Invalid("a username must be 1-255 characters without control characters".into()));
    }
    Ok(())
}

fn validate_password(password: &SecretString) -> Result<(), AdminError> {
    let p = password.expose_secret();
    if p.is_empty() || p.len() > 1024 {
        return Err(AdminError::Invalid("a password must be 1-1024 bytes".into()));
    }
    Ok(())
}

pub async fn create(auth: &Authority, username: &str, password: &SecretString) -> Result<(), AdminError> {
    validate_username(username)?;
    validate_password(password)?;
    let hash = auth.hasher.hash(password.expose_secret())?;
    auth.store.insert_user(username, &hash, auth.clock.now()).await.map_err(|e| match e {
        StoreError::Duplicate => AdminError::AlreadyExists(format!("user {username}")),
        e => e.into(),
    })
}

pub async fn list(auth: &Authority) -> Result<Vec<UserRecord>, AdminError> {
    Ok(auth.store.list_users().await?)
}

/// Deletes a user; the grant families and tokens issued for them go with it.
pub async fn delete(auth: &Authority, username: &str) -> Result<(), AdminError> {
    if auth.store.delete_user(username).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("user {username}")))
    }
}

pub async fn set_password(auth: &Authority, username: &str, password: &SecretString) -> Result<(), AdminError> {
    validate_password(password)?;
    let hash = auth.hasher.hash(password.expose_secret())?;
    if auth.store.set_user_password(username, &hash, auth.clock.now()).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("user {username}")))
    }
}

/// Revokes every token issued for a user (after a password reset). Returns the grants revoked.
pub async fn revoke_tokens(auth: &Authority, username: &str) -> Result<u64, AdminError> {
    auth.store.find_user(username).await?.ok_or_else(|| AdminError::NotFound(format!("user {username}")))?;
    Ok(auth.store.revoke_user_families(username, auth.clock.now()).await?)
}
