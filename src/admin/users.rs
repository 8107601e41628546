//! Resource owners: create, list, change (password, administrator flag), disable, delete, revoke
//! their tokens.

use secrecy::{ExposeSecret, SecretString};

use super::page::{Page, PageRequest};
use super::{check_key, hash_secret, AdminError, Origin};
use crate::config::MAX_PASSWORD_BYTES;
use crate::oauth::events::SecurityEvent;
use crate::oauth::Authority;
use crate::store::{EventKind, StoreError, UserFilter, UserRecord};

fn validate_username(username: &str) -> Result<(), AdminError> {
    if username.is_empty() || username.len() > 255 || username.chars().any(char::is_control) {
        return Err(AdminError::Invalid("a username must be 1-255 characters without control characters".into()));
    }
    Ok(())
}

/// The password policy, for every way a password is set (CLI, admin API, console): at least
/// `users.min_password_length` characters, at most [`MAX_PASSWORD_BYTES`] bytes (what argon2id is
/// given stays bounded). The message never quotes the password.
fn validate_password(auth: &Authority, password: &SecretString) -> Result<(), AdminError> {
    let p = password.expose_secret();
    let min = auth.settings.users.min_password_length;
    if p.chars().count() < min || p.len() > MAX_PASSWORD_BYTES {
        return Err(AdminError::Invalid(format!(
            "a password must be at least {min} characters (users.min_password_length) and at most \
             {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

pub async fn create(auth: &Authority, username: &str, password: &SecretString) -> Result<(), AdminError> {
    validate_username(username)?;
    validate_password(auth, password)?;
    let hash = hash_secret(auth, password).await?;
    auth.store.insert_user(username, &hash, auth.clock.now()).await.map_err(|e| match e {
        StoreError::Duplicate => AdminError::AlreadyExists(format!("user {username}")),
        e => e.into(),
    })
}

pub async fn list(auth: &Authority) -> Result<Vec<UserRecord>, AdminError> {
    Ok(auth.store.list_users().await?)
}

/// A page of users matching `filter`, by username.
pub async fn page(auth: &Authority, filter: UserFilter, request: &PageRequest) -> Result<Page<UserRecord>, AdminError> {
    let after: Option<String> = request.after()?;
    let rows = auth.store.list_users_page(filter, after.as_deref(), request.fetch()).await?;
    Ok(Page::from_rows(rows, request, |u| u.username.clone()))
}

pub async fn find(auth: &Authority, username: &str) -> Result<UserRecord, AdminError> {
    if !is_known_key(username) {
        return Err(not_found(username));
    }
    auth.store.find_user(username).await?.ok_or_else(|| not_found(username))
}

/// Deletes a user; the grant families and tokens issued for them go with it. Recorded as a
/// security event.
pub async fn delete(auth: &Authority, origin: &Origin, username: &str) -> Result<(), AdminError> {
    if !is_known_key(username) || !auth.store.delete_user(username).await? {
        return Err(not_found(username));
    }
    auth.record_security_event(SecurityEvent::new(EventKind::UserDeleted, origin).user(Some(username))).await;
    Ok(())
}

/// Sets a user's password. Tokens already issued stay valid: see [`revoke_tokens`]. Recorded as a
/// security event.
pub async fn set_password(
    auth: &Authority,
    origin: &Origin,
    username: &str,
    password: &SecretString,
) -> Result<(), AdminError> {
    validate_password(auth, password)?;
    let hash = hash_secret(auth, password).await?;
    if !is_known_key(username) || !auth.store.set_user_password(username, &hash, auth.clock.now()).await? {
        return Err(not_found(username));
    }
    auth.record_security_event(SecurityEvent::new(EventKind::UserPasswordReset, origin).user(Some(username))).await;
    Ok(())
}

/// Makes a user an administrator, or no longer one. Recorded as a security event when it changes
/// something.
pub async fn set_admin(auth: &Authority, origin: &Origin, username: &str, admin: bool) -> Result<(), AdminError> {
    let current = find(auth, username).await?;
    if current.admin == admin {
        return Ok(());
    }
    if !auth.store.set_user_admin(username, admin, auth.clock.now()).await? {
        return Err(not_found(username));
    }
    let kind = if admin { EventKind::UserAdminGranted } else { EventKind::UserAdminRevoked };
    auth.record_security_event(SecurityEvent::new(kind, origin).user(Some(username))).await;
    Ok(())
}

/// Changes to a user; `None` leaves an attribute as it is.
#[derive(Default)]
pub struct UserChanges {
    pub password: Option<SecretString>,
    pub admin: Option<bool>,
}

/// Applies changes to a user and returns the user as stored. The password goes first (checked
/// before it is written), so a refused one changes nothing.
pub async fn update(
    auth: &Authority,
    origin: &Origin,
    username: &str,
    changes: UserChanges,
) -> Result<UserRecord, AdminError> {
    find(auth, username).await?;
    if let Some(password) = &changes.password {
        set_password(auth, origin, username, password).await?;
    }
    if let Some(admin) = changes.admin {
        set_admin(auth, origin, username, admin).await?;
    }
    find(auth, username).await
}

/// Disables a user — they can no longer authenticate and every token issued for them is
/// revoked — or enables them again (revoked tokens stay revoked). Recorded as a security event.
pub async fn set_disabled(auth: &Authority, origin: &Origin, username: &str, disabled: bool) -> Result<(), AdminError> {
    let now = auth.clock.now();
    if !is_known_key(username) || !auth.store.set_user_disabled(username, disabled.then_some(now), now).await? {
        return Err(not_found(username));
    }
    let event = if disabled {
        let grants = auth.store.revoke_user_families(username, now).await?;
        SecurityEvent::new(EventKind::UserDisabled, origin).detail(format!("{grants} grants revoked"))
    } else {
        SecurityEvent::new(EventKind::UserEnabled, origin)
    };
    auth.record_security_event(event.user(Some(username))).await;
    Ok(())
}

/// Revokes every token issued for a user (after a password reset). Returns the grants revoked.
/// Recorded as a security event.
pub async fn revoke_tokens(auth: &Authority, origin: &Origin, username: &str) -> Result<u64, AdminError> {
    find(auth, username).await?;
    let grants = auth.store.revoke_user_families(username, auth.clock.now()).await?;
    let event = SecurityEvent::new(EventKind::UserTokensRevoked, origin).user(Some(username));
    auth.record_security_event(event.detail(format!("{grants} grants revoked"))).await;
    Ok(grants)
}

fn not_found(username: &str) -> AdminError {
    AdminError::NotFound(format!("user {username}"))
}

/// Whether `username` could name a stored user (usernames hold no control characters); anything
/// else is not found, without a query.
fn is_known_key(username: &str) -> bool {
    check_key("a username", username).is_ok()
}
