//! `GET /metrics` (Prometheus text format) and the layer that times every routed request.
//! With `metrics.bearer_token` set, `/metrics` answers only a request bearing that token
//! (RFC 6750 §2.1), compared in constant time; without it, it is public on its listener.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::metrics::RequestLabel;

pub async fn metrics(State(auth): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &auth.settings.metrics.bearer_token {
        if !bears(&headers, expected.expose_secret()) {
            return refused();
        }
    }
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        auth.metrics.render(auth.store.pool_usage()),
    )
        .into_response()
}

/// Whether the request carries `Authorization: Bearer <expected>` (one header). The SHA-256 of
/// both sides is compared in constant time, so neither the token's content nor its length leaks
/// through timing.
fn bears(headers: &HeaderMap, expected: &str) -> bool {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    // RFC 7235 §2.1: the scheme is case-insensitive.
    let value = value.as_bytes();
    let Some((scheme, presented)) = value.split_at_checked(7) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return false;
    }
    Sha256::digest(presented).ct_eq(&Sha256::digest(expected.as_bytes())).into()
}

/// RFC 6750 §3: 401 with a `WWW-Authenticate: Bearer` challenge.
fn refused() -> Response {
    let body = serde_json::json!({
        "error": "invalid_token",
        "error_description": "/metrics requires the bearer token in metrics.bearer_token",
    });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"oauthd metrics\", error=\"invalid_token\""),
    );
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    const TOKEN: &str = "0123456789abcdef-metrics";

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        assert!(bears(&with(&["Bearer 0123456789abcdef-metrics"]), TOKEN));
        assert!(bears(&with(&["bearer 0123456789abcdef-metrics"]), TOKEN));
        for wrong in [
            "Bearer 0123456789abcdef-metric",
            "Bearer 0123456789abcdef-metricsX",
            "Bearer0123456789abcdef-metrics",
            "Basic 0123456789abcdef-metrics",
            "0123456789abcdef-metrics",
            "Bearer  0123456789abcdef-metrics",
            "Bearer ",
        ] {
            assert!(!bears(&with(&[wrong]), TOKEN), "{wrong:?}");
        }
        assert!(!bears(&HeaderMap::new(), TOKEN));
    }

    #[test]
    fn several_authorization_headers_are_refused() {
        let twice = with(&["Bearer 0123456789abcdef-metrics", "Bearer 0123456789abcdef-metrics"]);
        assert!(!bears(&twice, TOKEN));
    }
}
