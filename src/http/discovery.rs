//! `GET /.well-known/oauth-authorization-server` (RFC 8414 §3) and `GET /docs`, the
//! `service_documentation` it advertises.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::AppState;

/// The guide for client developers: public, so written for them alone — the operator's README
/// and the benchmarks stay out of the binary.
const CLIENT_GUIDE: &str = include_str!("../../docs/client-guide.md");

pub async fn metadata(State(auth): State<AppState>) -> impl IntoResponse {
    Json(auth.metadata())
}

/// Markdown (RFC 7763), readable as it is.
pub async fn docs() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], CLIENT_GUIDE)
}
