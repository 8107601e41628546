//! Operator token actions: mint a token pair for a client from the console (the seed's "refresh
//! token that you generate through the UI") and revoke any token ("a user or an admin can revoke").

use super::AdminError;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::issuer::Grant;
use crate::oauth::revocation::Revoked;
use crate::oauth::scope::Scope;
use crate::oauth::{Authority, GrantType, TokenResponse};

/// Issues an access + refresh token pair to `client_id`, for `username` when given (recorded as a
/// password-grant family) or for the client itself (a client_credentials family).
pub async fn issue(
    auth: &Authority,
    client_id: &str,
    username: Option<&str>,
    scopes: &[String],
) -> Result<TokenResponse, AdminError> {
    let client = super::clients::find(auth, client_id).await?;
    if !client.may_use(GrantType::RefreshToken) {
        return Err(AdminError::Invalid(format!(
            "client {client_id} may not use the refresh_token grant, so it cannot hold a refresh token"
        )));
    }
    if let Some(name) = username {
        auth.store.find_user(name).await?.ok_or_else(|| AdminError::NotFound(format!("user {name}")))?;
    }
    let requested = (!scopes.is_empty()).then(|| scopes.join(" "));
    let scope = Scope::for_client(requested.as_deref(), &client.scopes, &client.default_scopes)
        .map_err(|e| AdminError::Invalid(e.description.into_owned()))?;
    let grant_type = if username.is_some() { GrantType::Password } else { GrantType::ClientCredentials };
    let client = AuthenticatedClient::for_operator(std::sync::Arc::new(client));
    auth.issue(Grant { client: &client, grant_type, username, scope: &scope })
        .await
        .map_err(|e| AdminError::Other(e.into()))
}

/// Revokes any token, whoever it was issued to.
pub async fn revoke(auth: &Authority, token: &str) -> Result<Revoked, AdminError> {
    auth.revoke(token.trim()).await.map_err(|e| AdminError::Other(e.into()))
}
