//! `POST /token` (RFC 6749 §3.2).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::extract::OAuthRequest;
use super::AppState;
use crate::oauth::OAuthError;

pub async fn token(State(auth): State<AppState>, request: OAuthRequest) -> Result<Response, OAuthError> {
    let answer = auth.token_request(request.authorization.as_deref(), &request.params, request.peer).await?;
    tracing::Span::current().record("outcome", "issued");
    Ok(no_store(Json(answer).into_response()))
}

/// RFC 6749 §5.1: "The authorization server MUST include the HTTP "Cache-Control" response header
/// field with a value of "no-store" in any response containing tokens ... as well as the "Pragma"
/// response header field with a value of "no-cache"."
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
