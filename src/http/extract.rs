//! Extracts a form-encoded OAuth request: the `Authorization` header and the body parameters.
//! Every failure is an `invalid_request` JSON answer, never axum's plain-text rejection.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::header;

use crate::oauth::params::Params;
use crate::oauth::OAuthError;

/// A form-encoded request body, the raw `Authorization` header value, and the peer's address.
pub struct OAuthRequest {
    pub authorization: Option<Vec<u8>>,
    pub params: Params,
    /// The address the connection came from (`None` when the server did not record it).
    pub peer: Option<IpAddr>,
}

impl<S: Send + Sync> FromRequest<S> for OAuthRequest {
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the request must use Content-Type application/x-www-form-urlencoded",
            ));
        }
        let mut authorizations = request.headers().get_all(header::AUTHORIZATION).iter();
        let authorization = authorizations.next().map(|v| v.as_bytes().to_vec());
        if authorizations.next().is_some() {
            // RFC 6749 §5.2 invalid_request: "... includes a parameter more than once"; and only
            // one authentication method may be used (§2.3).
            return Err(OAuthError::invalid_request("the request has more than one Authorization header"));
        }
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| OAuthError::invalid_request("the request body is too large or could not be read"))?;
        let params = Params::parse(&body)?;
        Ok(OAuthRequest { authorization, params, peer })
    }
}
