//! Remembered consents (`oauth::consent`): what a user allowed which client, and forgetting it,
//! so that the client's next authorization request asks the user again. The user console lists
//! and revokes a signed-in user's own; the admin console any user's.

use super::{AdminError, Origin};
use crate::oauth::events::SecurityEvent;
use crate::oauth::Authority;
use crate::store::{ConsentRecord, EventKind};

/// The consents `username` gave, by client name.
pub async fn of_user(auth: &Authority, username: &str) -> Result<Vec<ConsentRecord>, AdminError> {
    Ok(auth.store.consents_of_user(username).await?)
}

/// An application a user authorized: their remembered consent, and when the application last had
/// a token issued for them (a grant or a refresh), if it still holds any.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub consent: ConsentRecord,
    pub last_used_at: Option<i64>,
}

/// The applications `username` authorized, by name, with their last use.
pub async fn authorized(auth: &Authority, username: &str) -> Result<Vec<Authorization>, AdminError> {
    let consents = of_user(auth, username).await?;
    let last_use = auth.store.user_last_use(username).await?;
    Ok(consents
        .into_iter()
        .map(|consent| {
            let last_used_at = last_use.iter().find(|(id, _)| *id == consent.client_id).map(|(_, at)| *at);
            Authorization { consent, last_used_at }
        })
        .collect())
}

/// Withdraws the consent `username` gave `client_id`: every grant the user gave the client ends
/// (their access and refresh tokens stop working at once) and the consent is forgotten, so the
/// client must ask again. Recorded as a security event. Not found when there is no such consent.
pub async fn withdraw(auth: &Authority, origin: &Origin, username: &str, client_id: &str) -> Result<u64, AdminError> {
    if auth.store.find_consent(username, client_id).await?.is_none() {
        return Err(not_found(username, client_id));
    }
    let grants = auth.store.revoke_user_client_families(username, client_id, auth.clock.now()).await?;
    // Forgotten after the grants end: a consent is never gone while its tokens still work.
    auth.store.forget_consent(username, client_id).await?;
    let event = SecurityEvent::new(EventKind::ConsentRevoked, origin).client(client_id).user(Some(username));
    auth.record_security_event(event.detail(format!("{grants} grants revoked"))).await;
    Ok(grants)
}

fn not_found(username: &str, client_id: &str) -> AdminError {
    AdminError::NotFound(format!("consent of user {username} to client {client_id}"))
}

/// Forgets the consent `username` gave `client_id`. Tokens already issued stay valid (revoke them
/// with `grants` or `users::revoke_tokens`).
pub async fn forget(auth: &Authority, username: &str, client_id: &str) -> Result<(), AdminError> {
    if auth.store.forget_consent(username, client_id).await? {
        Ok(())
    } else {
        Err(not_found(username, client_id))
    }
}
