//! Remembered consents (`oauth::consent`): what a user allowed which client, and forgetting it,
//! so that the client's next authorization request asks the user again. The user console lists
//! and revokes a signed-in user's own; the admin console any user's.

use super::AdminError;
use crate::oauth::Authority;
use crate::store::ConsentRecord;

/// The consents `username` gave, by client name.
pub async fn of_user(auth: &Authority, username: &str) -> Result<Vec<ConsentRecord>, AdminError> {
    Ok(auth.store.consents_of_user(username).await?)
}

/// Forgets the consent `username` gave `client_id`. Tokens already issued stay valid (revoke them
/// with `grants` or `users::revoke_tokens`).
pub async fn forget(auth: &Authority, username: &str, client_id: &str) -> Result<(), AdminError> {
    if auth.store.forget_consent(username, client_id).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("consent of user {username} to client {client_id}")))
    }
}
