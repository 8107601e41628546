//! TLS behind a proxy: when `server.issuer` is https but `server.listen` serves plain HTTP, TLS is
//! terminated in front of oauthd, and a request counts as having come over TLS only when its peer
//! is one of `server.trusted_proxies` and says `X-Forwarded-Proto: https`. Any other request to a
//! credential-bearing endpoint is refused with `invalid_request`; an `X-Forwarded-Proto` from an
//! untrusted peer is ignored. The health probes are exempt: they carry no credentials, and the
//! platform's probes reach the listener directly.
//!
//! RFC 6749 §2.3.1: "the authorization server MUST require the use of TLS ... when sending
//! requests using password authentication"; §3.2: the token endpoint "MUST require the use of TLS".

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::{Settings, TrustedProxies};
use crate::oauth::OAuthError;

/// Paths that carry no credentials and answer over plain HTTP regardless.
const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

#[derive(Clone)]
pub struct TlsPolicy {
    trusted: Arc<TrustedProxies>,
}

impl TlsPolicy {
    /// The policy when the settings put oauthd behind a TLS-terminating proxy, else `None`.
    pub fn from_settings(settings: &Settings) -> Option<TlsPolicy> {
        settings.behind_tls_proxy().then(|| TlsPolicy { trusted: Arc::new(settings.server.trusted_proxies.clone()) })
    }

    fn came_over_tls(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
        let Some(peer) = peer else {
            return false;
        };
        if !self.trusted.contains(peer.ip()) {
            return false;
        }
        // A proxy that appends puts its own value last; one that overwrites sends only its own.
        headers
            .get_all("x-forwarded-proto")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

pub async fn require_tls(State(policy): State<TlsPolicy>, request: Request, next: Next) -> Response {
    if EXEMPT.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr);
    if policy.came_over_tls(peer, request.headers()) {
        next.run(request).await
    } else {
        OAuthError::invalid_request("TLS is required: use the https:// address of this server (RFC 6749 §3.2)")
            .into_response()
    }
}
