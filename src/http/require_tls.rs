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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TRUSTED: &str = "10.0.0.5:40000";
    const UNTRUSTED: &str = "203.0.113.9:40000";

    fn policy() -> TlsPolicy {
        let trusted: TrustedProxies = serde_json::from_str(r#""10.0.0.0/8, ::1""#).unwrap();
        TlsPolicy { trusted: Arc::new(trusted) }
    }

    fn peer(addr: &str) -> Option<SocketAddr> {
        Some(addr.parse().unwrap())
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-proto", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn a_request_without_a_known_peer_did_not_come_over_tls() {
        assert!(!policy().came_over_tls(None, &forwarded(&["https"])));
    }

    #[test]
    fn an_untrusted_peer_saying_https_is_ignored() {
        assert!(!policy().came_over_tls(peer(UNTRUSTED), &forwarded(&["https"])));
        assert!(!policy().came_over_tls(peer("[::2]:443"), &forwarded(&["https"])));
    }

    #[test]
    fn a_trusted_peer_saying_https_came_over_tls() {
        assert!(policy().came_over_tls(peer(TRUSTED), &forwarded(&["https"])));
        assert!(policy().came_over_tls(peer("[::1]:40000"), &forwarded(&["https"])));
    }

    #[test]
    fn a_trusted_peer_at_an_ipv4_mapped_address_is_trusted() {
        assert!(policy().came_over_tls(peer("[::ffff:10.0.0.5]:40000"), &forwarded(&["https"])));
    }

    #[test]
    fn a_trusted_peer_saying_http_did_not_come_over_tls() {
        assert!(!policy().came_over_tls(peer(TRUSTED), &forwarded(&["http"])));
    }

    #[test]
    fn a_trusted_peer_without_the_header_did_not_come_over_tls() {
        assert!(!policy().came_over_tls(peer(TRUSTED), &HeaderMap::new()));
    }

    #[test]
    fn of_several_headers_the_last_one_wins() {
        assert!(policy().came_over_tls(peer(TRUSTED), &forwarded(&["http", "https"])));
        assert!(!policy().came_over_tls(peer(TRUSTED), &forwarded(&["https", "http"])));
    }

    #[test]
    fn of_a_comma_list_the_last_value_wins() {
        assert!(policy().came_over_tls(peer(TRUSTED), &forwarded(&["http, https"])));
        assert!(policy().came_over_tls(peer(TRUSTED), &forwarded(&["http,https"])));
        assert!(!policy().came_over_tls(peer(TRUSTED), &forwarded(&["https, http"])));
        assert!(!policy().came_over_tls(peer(TRUSTED), &forwarded(&["https,"])));
    }

    #[test]
    fn the_last_value_of_the_last_header_wins() {
        assert!(!policy().came_over_tls(peer(TRUSTED), &forwarded(&["http, https", "https, http"])));
        assert!(policy().came_over_tls(peer(TRUSTED), &forwarded(&["https, http", "http, https"])));
    }

    #[test]
    fn the_protocol_is_compared_case_insensitively_and_trimmed() {
        for value in ["HTTPS", "Https", " https ", "http, HTTPS"] {
            assert!(policy().came_over_tls(peer(TRUSTED), &forwarded(&[value])), "{value:?}");
        }
    }

    #[test]
    fn only_the_exact_word_https_counts() {
        for value in ["", "httpss", "https2", "wss", "https;", "\"https\""] {
            assert!(!policy().came_over_tls(peer(TRUSTED), &forwarded(&[value])), "{value:?}");
        }
    }

    #[test]
    fn a_header_value_that_is_not_visible_ascii_does_not_count() {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-proto", HeaderValue::from_bytes(b"https\xff").unwrap());
        assert!(!policy().came_over_tls(peer(TRUSTED), &headers));
    }

    #[test]
    fn the_policy_applies_only_behind_a_tls_terminating_proxy() {
        let mut settings = Settings::default();
        assert!(TlsPolicy::from_settings(&settings).is_none());
        settings.server.issuer = Some("https://auth.example.com".parse().unwrap());
        assert!(TlsPolicy::from_settings(&settings).is_some());
        settings.tls.self_signed = true;
        assert!(TlsPolicy::from_settings(&settings).is_none());
    }
}
