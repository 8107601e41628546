//! The admin API's one error shape: `{"error": CODE, "error_description": TEXT}` with a stable
//! code per status, and `WWW-Authenticate: Bearer …` on authentication failures (RFC 6750 §3).
//! A cause is logged, never sent; a 5xx says only that the server failed.
//!
//! | status | `error` |
//! |---|---|
//! | 400 | `invalid_request` — the request could not be read (JSON syntax, a query parameter, an `Authorization` header sent twice) |
//! | 401 | `unauthorized` — no bearer token; `invalid_token` — unknown, expired, revoked or not an access token |
//! | 403 | `insufficient_scope` — the token lacks the admin scope, or its user is not an administrator |
//! | 404 | `not_found` — no such client, user, grant, token or endpoint |
//! | 405 | `method_not_allowed` |
//! | 409 | `already_exists` |
//! | 413 | `payload_too_large` |
//! | 415 | `unsupported_media_type` — a body that is not `application/json` |
//! | 422 | `validation_failed` — well-formed, but a value breaks a rule |
//! | 500 | `server_error`; 503 `temporarily_unavailable` |

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::StoreError;

/// An error answer of the admin API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: Cow<'static, str>,
    /// `WWW-Authenticate` value, for 401 and 403.
    pub challenge: Option<String>,
    /// What went wrong inside; logged, never sent.
    pub cause: Option<anyhow::Error>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: invalid_request, unauthorized, invalid_token, insufficient_scope,
    /// not_found, method_not_allowed, already_exists, payload_too_large, unsupported_media_type,
    /// validation_failed, server_error, temporarily_unavailable.
    #[schema(example = "not_found")]
    pub error: String,
    /// For people; may change between versions.
    #[schema(example = "client 5xQE not found")]
    pub error_description: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError { status, code, description: description.into(), challenge: None, cause: None }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn not_found(description: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub fn validation_failed(description: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", description)
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not answer that method")
    }

    pub fn with_challenge(mut self, challenge: String) -> ApiError {
        self.challenge = Some(challenge);
        self
    }

    fn server_error(cause: anyhow::Error) -> ApiError {
        ApiError {
            cause: Some(cause),
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the server could not complete the request",
            )
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> ApiError {
        match error {
            AdminError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            AdminError::AlreadyExists(what) => {
                ApiError::new(StatusCode::CONFLICT, "already_exists", format!("{what} already exists"))
            }
            AdminError::Invalid(why) => ApiError::validation_failed(why),
            AdminError::Store(e) => ApiError::from(e),
            AdminError::Other(e) => match e.downcast::<OAuthError>() {
                Ok(oauth) => ApiError::from(oauth),
                Err(e) => ApiError::server_error(e),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::from(OAuthError::from(error))
    }
}

/// The protocol layer's classification of a failure: busy or lost database connections are 503,
/// text the database cannot hold (a request's doing) 400, anything else a 500.
impl From<OAuthError> for ApiError {
    fn from(error: OAuthError) -> ApiError {
        match error.code {
            ErrorCode::TemporarilyUnavailable => ApiError {
                cause: error.cause,
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", error.description)
            },
            ErrorCode::InvalidRequest => {
                ApiError { cause: error.cause, ..ApiError::invalid_request(error.description) }
            }
            _ => ApiError::server_error(error.cause.unwrap_or_else(|| anyhow::anyhow!("{}", error.description))),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(error = self.code, description = %self.description, cause = ?self.cause, "admin API request failed");
        } else {
            tracing::info!(error = self.code, "admin API request refused");
        }
        tracing::Span::current().record("outcome", self.code);
        let body = ErrorBody { error: self.code.to_owned(), error_description: self.description.into_owned() };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
