//! `GET /metrics` (Prometheus text format) and the layer that times every routed request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;
use crate::metrics::RequestLabel;

pub async fn metrics(State(auth): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        auth.metrics.render(auth.store.pool_usage()),
    )
}

/// Records each routed request's latency by endpoint (the route, never the raw path) and status.
pub async fn track(State(auth): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let started = Instant::now();
    let response = next.run(request).await;
    let label = RequestLabel { endpoint, status: response.status().as_u16() };
    auth.metrics.requests.get_or_create(&label).observe(started.elapsed().as_secs_f64());
    response
}

/// The router of a separate metrics listener (`metrics.listen`).
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}
