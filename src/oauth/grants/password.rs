//! The resource owner password credentials grant, RFC 6749 §4.3.
//!
//! Phases: validate (`username` and `password` are REQUIRED, §4.3.2), authenticate the client
//! (before dispatch), check the client may use this grant (before dispatch), resolve the scope,
//! pass the login throttle (§4.3.2: "MUST protect the endpoint against brute force attacks",
//! [`crate::oauth::throttle`]), verify the resource owner's password (argon2id; an unknown user
//! costs the same as a wrong password, and both answer the same `invalid_grant`; so does a
//! disabled user), count the outcome with the throttle, issue (§4.3.3).

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};

use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::issuer::Grant;
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::oauth::{Authority, GrantType, OAuthError, TokenResponse};

pub async fn grant(
    auth: &Authority,
    client: &AuthenticatedClient,
    params: &Params,
    peer: Option<IpAddr>,
) -> Result<TokenResponse, OAuthError> {
    let username = params.require("username")?;
    let password = SecretString::from(params.require("password")?.to_owned());
    let scope = Scope::for_client(params.get("scope"), &client.scopes, &client.default_scopes)?;
    let now = auth.clock.now();
    let turn = auth.login_gate(username, peer, now).await?;
    let user = auth.store.find_user(username).await?;
    let phc = user.as_ref().map(|u| u.password_hash.as_str());
    let matched = auth.hasher.verify_password(password.expose_secret(), phc).await?;
    // A disabled user answers as a wrong password does (their password was still verified), and
    // counts as a failure: the throttle must not tell a right password from a wrong one either.
    let Some(user) = user.filter(|u| matched && u.disabled_at.is_none()) else {
        tracing::info!("resource owner authentication failed");
        auth.login_failed(turn, username, peer, now).await;
        return Err(OAuthError::invalid_grant("the resource owner credentials are invalid"));
    };
    auth.login_succeeded(turn, username).await;
    auth.issue(Grant { client, grant_type: GrantType::Password, username: Some(&user.username), scope: &scope }).await
}
