//! Operator token actions: mint a token pair for a client from the console (the seed's "refresh
//! token that you generate through the UI"), look any token up by value, and revoke any token ("a
//! user or an admin can revoke"). A token given here is only parsed and digested: never stored,
//! logged or put in an event.

use super::views::{TokenState, TokenType, TokenView};
use super::{AdminError, Origin};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::events::SecurityEvent;
use crate::oauth::issuer::Grant;
use crate::oauth::revocation::Revoked;
use crate::oauth::scope::Scope;
use crate::oauth::token_state::{check, Inactive};
use crate::oauth::{Authority, GrantType, TokenResponse};
use crate::store::{EventKind, TokenKind};

/// Issues an access + refresh token pair to `client_id`, for `username` when given (recorded as a
/// password-grant family) or for the client itself (a client_credentials family). Recorded as a
/// security event naming the new grant family: these tokens come from no grant at /token.
pub async fn issue(
    auth: &Authority,
    origin: &Origin,
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
        let user = super::users::find(auth, name).await?;
        if user.disabled_at.is_some() {
            return Err(AdminError::Invalid(format!("user {name} is disabled")));
        }
    }
    let requested = (!scopes.is_empty()).then(|| scopes.join(" "));
    let scope = Scope::for_client(requested.as_deref(), &client.scopes, &client.default_scopes)
        .map_err(|e| AdminError::Invalid(e.description.into_owned()))?;
    let grant_type = if username.is_some() { GrantType::Password } else { GrantType::ClientCredentials };
    let client = AuthenticatedClient::for_operator(std::sync::Arc::new(client));
    let issued = auth
        .issue_family(Grant { client: &client, grant_type, username, scope: &scope })
        .await
        .map_err(|e| AdminError::Other(e.into()))?;
    let event = SecurityEvent::new(EventKind::TokensIssued, origin).client(client_id).user(username);
    auth.record_security_event(event.family(&issued.family_id).detail(format!("scope {:?}", issued.answer.scope)))
        .await;
    Ok(issued.answer)
}

/// What oauthd knows of a token, whatever its state; `None` when it is not an oauthd token or
/// the database does not hold it (any more).
pub async fn lookup(auth: &Authority, token: &str) -> Result<Option<TokenView>, AdminError> {
    let Some((kind, record)) = auth.find_token(token.trim()).await.map_err(|e| AdminError::Other(e.into()))? else {
        return Ok(None);
    };
    let state = match check(&record, auth.clock.now()) {
        Ok(()) => TokenState::Active,
        Err(Inactive::Revoked) => TokenState::Revoked,
        Err(Inactive::Consumed) => TokenState::Consumed,
        Err(Inactive::Expired) => TokenState::Expired,
        Err(Inactive::Unknown) => return Ok(None),
    };
    Ok(Some(TokenView {
        kind: match kind {
            TokenKind::Access => TokenType::AccessToken,
            TokenKind::Refresh => TokenType::RefreshToken,
        },
        state,
        active: state == TokenState::Active,
        family_id: record.family_id,
        client_id: record.client_id,
        username: record.username,
        grant_type: record.grant_type.as_str().to_owned(),
        scope: record.scope,
        issued_at: record.issued_at,
        expires_at: record.expires_at.min(record.family_expires_at.unwrap_or(i64::MAX)),
        first_used_at: record.first_used_at,
    }))
}

/// A revocation by an administrator: what was revoked, and the token as it was before.
#[derive(Debug, Clone)]
pub struct TokenRevocation {
    pub revoked: Revoked,
    pub token: TokenView,
}

/// Revokes any token, whoever it was issued to: a refresh token with its whole grant family, an
/// access token alone. `None` when the token is unknown (nothing to revoke). Recorded as a
/// security event naming the token's client, user and family — never the token.
pub async fn revoke(auth: &Authority, origin: &Origin, token: &str) -> Result<Option<TokenRevocation>, AdminError> {
    let token = token.trim();
    let Some(before) = lookup(auth, token).await? else {
        return Ok(None);
    };
    let revoked = auth.revoke(token).await.map_err(|e| AdminError::Other(e.into()))?;
    let what = match revoked {
        Revoked::Unknown => return Ok(None),
        Revoked::Family => "a refresh token and its grant family",
        Revoked::AccessToken => "an access token",
    };
    let note = if before.state == TokenState::Revoked { " (already revoked)" } else { "" };
    let event = SecurityEvent::new(EventKind::TokenRevoked, origin)
        .client(&before.client_id)
        .user(before.username.as_deref())
        .family(&before.family_id)
        .detail(format!("{what}{note}"));
    auth.record_security_event(event).await;
    Ok(Some(TokenRevocation { revoked, token: before }))
}
