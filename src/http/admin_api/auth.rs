//! Who calls the admin API: a bearer access token of oauthd's own (RFC 6750 §2.1) that is active
//! and whose scope holds `admin.scope`; a token issued for a user also needs that user to be an
//! administrator. The middleware authenticates every protected route before its handler runs and
//! records the call as a security event afterwards (the audit trail), with the calling client, the
//! administrator if any, the peer's address, the method, path and status.
//!
//! Refusals follow RFC 6750 §3: no credentials (or another scheme) → 401 with
//! `WWW-Authenticate: Bearer realm="oauthd"` and no error code (§3.1: "If the request lacks any
//! authentication information …, the resource server SHOULD NOT include an error code"); an unknown,
//! malformed, revoked or expired token → 401 `invalid_token`; too few privileges → 403
//! `insufficient_scope` with the scope needed. Only refusals of an active token are stored as
//! events (`admin_api_denied`), once per token: a caller without a valid token, or repeating a
//! call with the same one, cannot fill the table.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::BASE;
use crate::admin::{Actor, Origin};
use crate::http::AppState;
use crate::oauth::events::SecurityEvent;
use crate::oauth::scope::Scope;
use crate::oauth::token_state::Inactive;
use crate::oauth::Authority;
use crate::store::{EventKind, TokenKind};

const REALM: &str = "Bearer realm=\"oauthd\"";

/// The authenticated caller of an admin API request.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    /// Who acts (the client, or the administrator the token was issued for) and from where.
    pub origin: Origin,
    /// The client the token was issued to.
    pub client_id: String,
}

/// Handlers read the caller the middleware authenticated; without one (a route outside the
/// middleware) the request is refused rather than run unauthenticated.
impl<S: Send + Sync> FromRequestParts<S> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<AdminCaller>().cloned().ok_or_else(no_credentials)
    }
}

/// Authenticates the request, runs it, and records it as an `admin_api_call` event.
pub async fn authenticate(State(auth): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let call = describe_call(&request);
    let caller = match caller(&auth, request.headers(), peer, &call).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    tracing::Span::current().record("client_id", caller.client_id.as_str());
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    let event = SecurityEvent::new(EventKind::AdminApiCall, &caller.origin)
        .client(&caller.client_id)
        .detail(format!("{call} {}", response.status().as_u16()));
    auth.record_security_event(event).await;
    response
}

/// `METHOD /path` of the request, for the audit trail: the path as sent (ids, never a query
/// string or a body), shortened to a bounded length. The router nests the API under
/// [`BASE`], which it strips from the path it hands on.
fn describe_call(request: &Request) -> String {
    let mut call = format!("{} {BASE}{}", request.method(), request.uri().path());
    if call.len() > 300 {
        let mut end = 300;
        while !call.is_char_boundary(end) {
            end -= 1;
        }
        call.truncate(end);
        call.push('…');
    }
    call
}

async fn caller(
    auth: &Authority,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
    call: &str,
) -> Result<AdminCaller, ApiError> {
    let token = bearer_token(headers)?;
    let (kind, record) = match auth.active_token(token).await? {
        Ok(found) => found,
        Err(inactive) => {
            return Err(invalid_token(match inactive {
                Inactive::Unknown => "the access token is unknown or malformed",
                Inactive::Revoked => "the access token has been revoked",
                Inactive::Expired => "the access token has expired",
                Inactive::Consumed => "this is not an access token",
            }))
        }
    };
    if kind != TokenKind::Access {
        return Err(invalid_token("this is not an access token"));
    }
    let actor = match &record.username {
        Some(username) => Actor::User(username.clone()),
        None => Actor::Client(record.client_id.clone()),
    };
    let caller = AdminCaller { origin: Origin { actor, peer }, client_id: record.client_id.clone() };
    let admin_scope = &auth.settings.admin.scope;
    let scope = Scope::parse(&record.scope).unwrap_or_default();
    let denied = if !Scope::from_list(std::slice::from_ref(admin_scope)).is_subset(&scope) {
        Some("the access token does not carry the admin scope")
    } else if let Some(username) = &record.username {
        let user = auth.store.find_user(username).await?;
        (!user.is_some_and(|u| u.admin && u.disabled_at.is_none()))
            .then_some("the access token's user is not an administrator")
    } else {
        None
    };
    if let Some(why) = denied {
        // One stored event per token (its first use): a client holding an ordinary token cannot
        // fill the table by repeating the call; each further event costs it a new grant.
        let first_use =
            record.first_used_at.is_none() && auth.store.mark_first_use(&record.token_digest, auth.clock.now()).await?;
        if first_use {
            let event = SecurityEvent::new(EventKind::AdminApiDenied, &caller.origin)
                .client(&caller.client_id)
                .detail(format!("{call} {}", StatusCode::FORBIDDEN.as_u16()));
            auth.record_security_event(event).await;
        } else {
            tracing::info!(client_id = %caller.client_id, "admin API call refused again with the same token (not stored again)");
        }
        // RFC 6750 §3.1 insufficient_scope: "The resource server SHOULD respond with the HTTP 403
        // (Forbidden) status code and MAY include the "scope" attribute with the scope necessary".
        return Err(ApiError::new(StatusCode::FORBIDDEN, "insufficient_scope", why).with_challenge(format!(
            "{REALM}, error=\"insufficient_scope\", error_description=\"{why}\", scope=\"{admin_scope}\""
        )));
    }
    if record.first_used_at.is_none() {
        // A used access token: a replay of the refresh that minted it is then reuse, as after an
        // introspection (oauth::introspection).
        auth.store.mark_first_use(&record.token_digest, auth.clock.now()).await?;
    }
    Ok(caller)
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive,
/// RFC 9110 §11.1).
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(no_credentials());
    };
    if values.next().is_some() {
        // RFC 6750 §3.1 invalid_request: the request "repeats the same parameter, uses more than
        // one method for including an access token, or is otherwise malformed" → 400.
        return Err(ApiError::invalid_request("send one Authorization header")
            .with_challenge(format!("{REALM}, error=\"invalid_request\"")));
    }
    let value = value.to_str().map_err(|_| invalid_token("the Authorization header is malformed"))?;
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return Err(no_credentials());
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(no_credentials());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(no_credentials());
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 6750 §2.1).
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)) {
        return Err(invalid_token("the access token is malformed"));
    }
    Ok(token)
}

/// 401 without an error code: the request carries no bearer token (RFC 6750 §3.1).
fn no_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "send an access token with the admin scope: Authorization: Bearer <token>",
    )
    .with_challenge(REALM.to_owned())
}

/// RFC 6750 §3.1 invalid_token: "The access token provided is expired, revoked, malformed, or
/// invalid for other reasons. The resource SHOULD respond with the HTTP 401 (Unauthorized)".
fn invalid_token(why: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", why)
        .with_challenge(format!("{REALM}, error=\"invalid_token\", error_description=\"{why}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn token_of(values: &[&str]) -> Result<String, (u16, &'static str)> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        bearer_token(&headers).map(str::to_owned).map_err(|e| (e.status.as_u16(), e.code))
    }

    #[test]
    fn a_bearer_token_is_read_whatever_the_case_of_the_scheme() {
        assert_eq!(token_of(&["Bearer oat_abc"]), Ok("oat_abc".into()));
        assert_eq!(token_of(&["bearer  oat_abc "]), Ok("oat_abc".into()));
        assert_eq!(token_of(&["BEARER a-b.c~d+e/f=="]), Ok("a-b.c~d+e/f==".into()));
    }

    #[test]
    fn no_token_or_another_scheme_is_unauthorized_without_an_error_code() {
        for values in [&[][..], &["Basic Zm9vOmJhcg=="], &["Bearer"], &["Bearer   "], &["oat_abc"]] {
            assert_eq!(token_of(values), Err((401, "unauthorized")), "{values:?}");
        }
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers).unwrap_err().challenge.as_deref(), Some(REALM));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic x"));
        assert_eq!(bearer_token(&headers).unwrap_err().challenge.as_deref(), Some(REALM));
    }

    #[test]
    fn a_token_outside_the_b64token_syntax_is_invalid() {
        for value in ["Bearer a b", "Bearer a,b", "Bearer ===", "Bearer a\"b", "Bearer =a"] {
            assert_eq!(token_of(&[value]), Err((401, "invalid_token")), "{value:?}");
        }
    }

    #[test]
    fn two_authorization_headers_are_a_bad_request() {
        assert_eq!(token_of(&["Bearer a", "Bearer b"]), Err((400, "invalid_request")));
    }
}
