//! `GET /.well-known/oauth-authorization-server` (RFC 8414 §3) and `GET /docs`, the
//! `service_documentation` it advertises.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::AppState;

pub async fn metadata(State(auth): State<AppState>) -> impl IntoResponse {
    Json(auth.metadata())
}

pub async fn docs() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], include_str!("../../README.md"))
}
