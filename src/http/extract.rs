//! Extracts a form-encoded OAuth request: the `Authorization` header and the body parameters.
//! Every failure is an `invalid_request` JSON answer, never axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;

use crate::oauth::params::Params;
use crate::oauth::OAuthError;

/// A form-encoded request body and the raw `Authorization` header value.
pub struct OAuthRequest {
    pub authorization: Option<Vec<u8>>,
    pub params: Params,
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
        let authorization = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes().to_vec());
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| OAuthError::invalid_request("the request body is too large or could not be read"))?;
        let params = Params::parse(&body)?;
        Ok(OAuthRequest { authorization, params })
    }
}
