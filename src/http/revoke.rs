//! `POST /revoke` (RFC 7009 §2).

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::extract::OAuthRequest;
use super::token::no_store;
use super::AppState;
use crate::oauth::OAuthError;

/// RFC 7009 §2.2: "The authorization server responds with HTTP status code 200 if the token has
/// been revoked successfully or if the client submitted an invalid token." The body is empty.
pub async fn revoke(
    State(auth): State<AppState>,
    request: OAuthRequest,
) -> Result<Response, OAuthError> {
    auth.revocation_request(request.authorization.as_deref(), &request.params)
        .await?;
    tracing::Span::current().record("outcome", "revoked");
    Ok(no_store(().into_response()))
}
