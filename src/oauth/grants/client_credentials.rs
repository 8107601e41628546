//! The client credentials grant, RFC 6749 §4.4.
//!
//! Phases: validate (`scope`), authenticate (done once before dispatch: "The client MUST
//! authenticate with the authorization server", §4.4.2), check the client may use this grant
//! (done before dispatch), resolve the scope against the client's allowed and default scopes,
//! issue (§4.4.3; a refresh token too when the client may use the refresh_token grant — the seed
//! issues refresh tokens for every grant type but implicit).

use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::issuer::Grant;
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::oauth::{Authority, GrantType, OAuthError, TokenResponse};

pub async fn grant(
    auth: &Authority,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let scope = Scope::for_client(params.get("scope"), &client.scopes, &client.default_scopes)?;
    auth.issue(Grant { client, grant_type: GrantType::ClientCredentials, username: None, scope: &scope }).await
}
