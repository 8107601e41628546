//! The HTTP layer: it extracts and answers. One file per endpoint; the router and the layers that
//! wrap every request (request id, sensitive headers, tracing, timeout, body limit, panics, and
//! behind a TLS-terminating proxy the TLS requirement) live here.

pub mod admin_api;
pub mod discovery;
pub mod extract;
pub mod health;
pub mod introspect;
pub mod metrics;
pub mod require_tls;
pub mod revoke;
pub mod token;

use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::oauth::{Authority, OAuthError};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Shared state of every handler.
pub type AppState = Authority;

pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let mut routes = Router::new()
        .route("/token", post(token::token))
        .route("/revoke", post(revoke::revoke))
        .route("/introspect", post(introspect::introspect))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/.well-known/oauth-authorization-server", get(discovery::metadata))
        .route("/docs", get(discovery::docs))
        .merge(crate::web::routes(&state));
    if settings.metrics.enabled && settings.metrics.listen.is_none() {
        routes = routes.route("/metrics", get(metrics::metrics));
    }
    if settings.admin.listen.is_none() {
        routes = routes.merge(admin_api::routes(&state));
    }
    with_layers(routes, state)
}

/// The router of a separate admin listener (`admin.listen`): the admin API alone, behind the same
/// layers (and TLS rule) as the main listener.
pub fn admin_router(state: AppState) -> Router {
    with_layers(admin_api::routes(&state), state)
}

/// Wraps a listener's routes in the layers every request passes: request id, sensitive headers,
/// tracing, panics, timeout, body limit, the metrics of routed requests, a JSON 404, and behind a
/// TLS-terminating proxy the TLS requirement.
fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let settings = state.settings.clone();
    let layers = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(make_span).on_request(()).on_response(on_response))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(CatchPanicLayer::custom(|_| {
            OAuthError::server_error(anyhow::anyhow!("a handler panicked")).into_response()
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.server.request_timeout_secs),
        ))
        .layer(DefaultBodyLimit::max(settings.server.body_limit_bytes));
    let mut routes =
        routes.route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track)).fallback(not_found);
    if let Some(policy) = require_tls::TlsPolicy::from_settings(&settings) {
        routes = routes.layer(axum::middleware::from_fn_with_state(policy, require_tls::require_tls));
    }
    routes.layer(layers).with_state(state)
}

/// The request span: never headers, query strings or bodies — they may carry credentials.
fn make_span(request: &Request<Body>) -> Span {
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
        client_id = tracing::field::Empty,
        grant_type = tracing::field::Empty,
        outcome = tracing::field::Empty,
    )
}

fn on_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(status = response.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "response");
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "not_found", "error_description": "no such endpoint"})),
    )
}
