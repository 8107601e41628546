//! The one error type of the protocol layer: an RFC error code, a description safe to show the
//! client, and a private cause that is logged, never sent.
//! Codes: RFC 6749 §5.2 (token endpoint), §4.1.2.1 (authorization endpoint), RFC 7009 §2.2.1
//! (revocation).

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
    /// RFC 6749 §4.1.2.1: the resource owner or the authorization server denied the request.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: the authorization server does not support this `response_type`.
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            // RFC 6749 §5.2: invalid_client "MAY return an HTTP 401"; MUST when the client used
            // the Authorization header. oauthd answers 401 for every failed client authentication.
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// What went wrong inside; logged, never sent.
    #[source]
    pub cause: Option<anyhow::Error>,
    /// Answer with `WWW-Authenticate: Basic` (the client tried, or should try, HTTP Basic).
    pub basic_challenge: bool,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError { code, description: description.into(), cause: None, basic_challenge: false }
    }
    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn unauthorized_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }
    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn server_error(cause: impl Into<anyhow::Error>) -> Self {
        OAuthError {
            cause: Some(cause.into()),
            ..Self::new(ErrorCode::ServerError, "the server could not complete the request")
        }
    }
    pub fn with_basic_challenge(mut self, yes: bool) -> Self {
        self.basic_challenge = yes;
        self
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        if matches!(e, StoreError::Database(sqlx::Error::PoolTimedOut)) {
            return OAuthError {
                cause: Some(e.into()),
                ..Self::new(ErrorCode::TemporarilyUnavailable, "the server is busy; try again")
            };
        }
        if matches!(e, StoreError::Gone) {
            return OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "the client or user changed during the request; try again",
            );
        }
        if e.is_unstorable_text() {
            // A request string that no store lookup checked (they all do, see `store::holds`):
            // the request is malformed, not the server broken.
            return OAuthError {
                cause: Some(e.into()),
                ..Self::new(ErrorCode::InvalidRequest, "a parameter holds a character this server cannot store")
            };
        }
        if e.is_connection_lost() {
            return OAuthError {
                cause: Some(e.into()),
                ..Self::new(ErrorCode::TemporarilyUnavailable, "the database connection was lost; try again")
            };
        }
        OAuthError::server_error(e)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        if status.is_server_error() {
            tracing::error!(error = %self, cause = ?self.cause, "request failed");
        } else {
            tracing::info!(error = self.code.as_str(), "request refused");
        }
        tracing::Span::current().record("outcome", self.code.as_str());
        let body = ErrorBody { error: self.code.as_str(), error_description: &self.description };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge && self.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauthd\", charset=\"UTF-8\""),
            );
        }
        if self.code == ErrorCode::TemporarilyUnavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
