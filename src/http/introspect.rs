//! `POST /introspect` (RFC 7662 §2).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::extract::OAuthRequest;
use super::token::no_store;
use super::AppState;
use crate::oauth::OAuthError;

pub async fn introspect(State(auth): State<AppState>, request: OAuthRequest) -> Result<Response, OAuthError> {
    let answer = auth.introspection_request(request.authorization.as_deref(), &request.params).await?;
    tracing::Span::current().record("outcome", if answer.active { "active" } else { "inactive" });
    Ok(no_store(Json(answer).into_response()))
}
