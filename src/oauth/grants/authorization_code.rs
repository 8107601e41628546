//! The authorization_code grant, RFC 6749 §4.1.3–§4.1.4, with PKCE (RFC 7636 §4.5–§4.6).
//!
//! Phases:
//! 1. validate — `code` REQUIRED; `code_verifier`, when sent, 43–128 unreserved characters
//!    (RFC 7636 §4.1, else `invalid_request`);
//! 2. authenticate the client and check it may use this grant (done before dispatch). A public
//!    client identifies itself by `client_id` alone (§4.1.3: "client_id REQUIRED, if the client is
//!    not authenticating with the authorization server"), a confidential one with its secret;
//! 3. load the code by digest (a damaged code fails its checksum without a database read);
//! 4. check ownership — "ensure that the authorization code was issued to the authenticated
//!    confidential client, or if the client is public, ensure that the code was issued to
//!    "client_id" in the request". A code presented by another client changes nothing;
//! 5. a code already used is refused and the grant family its first exchange created is revoked:
//!    "If an authorization code is used more than once, the authorization server MUST deny the
//!    request and SHOULD revoke (when possible) all tokens previously issued based on that
//!    authorization code" (§4.1.2, and §10.5);
//! 6. check validity — "verify that the authorization code is valid": not expired
//!    (`tokens.code_lifetime_secs`);
//! 7. check the redirect URI — "ensure that the "redirect_uri" parameter is present if the
//!    "redirect_uri" parameter was included in the initial authorization request …, and if
//!    included ensure that their values are identical" (a `redirect_uri` sent although the request
//!    had none must be the one the response went to);
//! 8. check PKCE — BASE64URL(SHA256(code_verifier)) equals the stored challenge, compared in
//!    constant time (RFC 7636 §4.6); a code issued without a challenge refuses a `code_verifier`
//!    (RFC 9700 §4.8.2, PKCE downgrade);
//! 9. issue — consume the code and create the grant family (the user, the granted scope, grant
//!    type authorization_code; refresh token when the client may use the refresh_token grant) in
//!    one atomic store step. When another exchange of the same code won meanwhile, this one is a
//!    second use (phase 5).
//!
//! Failed checks in phases 4–8 answer `invalid_grant` and leave the code as it was: guessing a
//! 256-bit code or verifier is hopeless, and burning the code on a bad attempt would only let
//! whoever saw it deny the client its tokens.

use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::events::{Origin, SecurityEvent};
use crate::oauth::issuer::{Grant, PreparedGrant};
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::oauth::{pkce, token_format, Authority, GrantType, OAuthError, TokenResponse};
use crate::store::{CodeExchange, CodeRecord, EventKind};

pub async fn grant(
    auth: &Authority,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("code")?;
    let verifier = params.get("code_verifier");
    if verifier.is_some_and(|v| !pkce::is_valid_verifier(v)) {
        return Err(OAuthError::invalid_request(
            "the code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 section 4.1)",
        ));
    }
    let Some(digest) = token_format::parse_code(presented) else {
        return Err(OAuthError::invalid_grant("the authorization code is invalid"));
    };
    let Some(code) = auth.store.find_code(&digest).await? else {
        return Err(OAuthError::invalid_grant("the authorization code is invalid"));
    };
    if code.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("the authorization code was not issued to this client"));
    }
    if code.consumed_at.is_some() {
        return Err(reused(auth, &code).await);
    }
    let now = auth.clock.now();
    if code.expires_at <= now {
        return Err(OAuthError::invalid_grant("the authorization code has expired"));
    }
    check_redirect_uri(&code, params.get("redirect_uri"))?;
    check_verifier(&code, verifier)?;
    let scope = Scope::parse(&code.scope)?;
    let grant =
        Grant { client, grant_type: GrantType::AuthorizationCode, username: Some(&code.username), scope: &scope };
    let PreparedGrant { grant: new, answer } = auth.prepare_grant(&grant, &code.family_id, &code.scope, now);
    let refresh = new.refresh.is_some();
    let exchange = CodeExchange { code: digest, now, grant: new };
    if !auth.store.exchange_code(&exchange).await? {
        // Another exchange consumed it first (or it expired in between).
        return match auth.store.find_code(&digest).await? {
            Some(code) if code.consumed_at.is_some() => Err(reused(auth, &code).await),
            _ => Err(OAuthError::invalid_grant("the authorization code has expired")),
        };
    }
    auth.issued(GrantType::AuthorizationCode, &code.family_id, refresh);
    Ok(answer)
}

/// A used code presented again: revokes the family its exchange created, logs a security event,
/// and answers `invalid_grant`.
async fn reused(auth: &Authority, code: &CodeRecord) -> OAuthError {
    if let Err(error) = auth.store.revoke_family(&code.family_id, auth.clock.now()).await {
        return error.into();
    }
    let event = SecurityEvent::new(EventKind::AuthorizationCodeReuse, &Origin::system())
        .client(&code.client_id)
        .user(Some(&code.username))
        .family(&code.family_id);
    auth.record_security_event(event).await;
    OAuthError::invalid_grant("the authorization code has already been used")
}

fn check_redirect_uri(code: &CodeRecord, sent: Option<&str>) -> Result<(), OAuthError> {
    match sent {
        Some(uri) if uri == code.redirect_uri => Ok(()),
        Some(_) => Err(OAuthError::invalid_grant("the redirect_uri differs from the authorization request's")),
        None if code.redirect_uri_sent => Err(OAuthError::invalid_grant(
            "the redirect_uri parameter is required: the authorization request carried one",
        )),
        None => Ok(()),
    }
}

fn check_verifier(code: &CodeRecord, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (code.code_challenge.as_deref(), verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant("the code_verifier does not match the code_challenge")),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "the code_verifier parameter is required: the authorization request carried a code_challenge",
        )),
        // RFC 9700 §4.8.2: "authorization servers MUST mitigate PKCE Downgrade Attacks by ensuring
        // that a token request containing a code_verifier parameter is accepted only if a
        // code_challenge parameter was present in the authorization request".
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "a code_verifier was sent, but the authorization request carried no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}
