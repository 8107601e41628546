//! The span every request is logged in: method, path, request id, the peer's address, and — when
//! the peer is one of `server.trusted_proxies` — the client address that proxy forwarded. Never
//! headers, query strings or bodies: they may carry credentials. (Text logs escape control
//! characters in every field, `telemetry::EscapedFields`, so no request-derived value can start
//! a forged line.)

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, Request};
use tower_http::trace::MakeSpan;
use tracing::Span;

use crate::config::TrustedProxies;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct RequestSpan {
    trusted: Arc<TrustedProxies>,
}

impl RequestSpan {
    pub fn new(trusted: &TrustedProxies) -> RequestSpan {
        RequestSpan { trusted: Arc::new(trusted.clone()) }
    }

    /// The address a trusted proxy says it received the request from: the last entry of the
    /// last `X-Forwarded-For` (a proxy appends the address it saw), when it is an IP address.
    fn forwarded_for(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusted.contains(peer.ip()) {
            return None;
        }
        let last = headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?;
        last.rsplit(',').next()?.trim().parse().ok()
    }
}

impl MakeSpan<Body> for RequestSpan {
    fn make_span(&mut self, request: &Request<Body>) -> Span {
        let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr);
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %request_id,
            peer = tracing::field::Empty,
            forwarded_for = tracing::field::Empty,
            client_id = tracing::field::Empty,
            grant_type = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        if let Some(peer) = peer {
            span.record("peer", tracing::field::display(peer));
        }
        if let Some(forwarded) = self.forwarded_for(peer, request.headers()) {
            span.record("forwarded_for", tracing::field::display(forwarded));
        }
        span
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn span() -> RequestSpan {
        RequestSpan::new(&serde_json::from_str(r#""10.0.0.0/8""#).unwrap())
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_trusted_proxy_forwards_the_last_address_it_appended() {
        let got = span().forwarded_for(peer("10.0.0.5:4000"), &headers(&["203.0.113.1, 198.51.100.7"]));
        assert_eq!(got, Some("198.51.100.7".parse().unwrap()));
        let got = span().forwarded_for(peer("10.0.0.5:4000"), &headers(&["203.0.113.1", "2001:db8::1"]));
        assert_eq!(got, Some("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn an_untrusted_peer_forwards_nothing() {
        assert_eq!(span().forwarded_for(peer("192.0.2.1:4000"), &headers(&["198.51.100.7"])), None);
        assert_eq!(span().forwarded_for(None, &headers(&["198.51.100.7"])), None);
    }

    #[test]
    fn what_is_not_an_ip_address_is_not_logged() {
        for bad in ["evil\u{7f}", "198.51.100.7 forged", "unknown", ""] {
            let Ok(value) = HeaderValue::from_str(bad) else { continue };
            let mut h = HeaderMap::new();
            h.append("x-forwarded-for", value);
            assert_eq!(span().forwarded_for(peer("10.0.0.5:4000"), &h), None, "{bad:?}");
        }
    }
}
