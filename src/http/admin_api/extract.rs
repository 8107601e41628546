//! Extractors whose every failure is an [`ApiError`] in the API's JSON shape, never axum's plain
//! text: a JSON body, a path segment, a query string.
//!
//! A JSON error names the field at fault (through `serde_path_to_error`) and what was expected,
//! but never quotes the value received: a value may be a password, a secret or a token sent in the
//! wrong field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body (`Content-Type: application/json`).
pub struct ApiJson<T>(pub T);

/// A JSON request body that may be left out: an empty body is `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = is_json(request.headers());
        let body = read_body(request, state).await?;
        if !is_json {
            return Err(not_json());
        }
        parse(&body).map(ApiJson)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = is_json(request.headers());
        let body = read_body(request, state).await?;
        if body.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        if !is_json {
            return Err(not_json());
        }
        parse(&body).map(OptionalJson)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    media_type == "application/json" || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

fn not_json() -> ApiError {
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "the body must be application/json")
}

async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
        } else {
            ApiError::invalid_request("the request body could not be read")
        }
    })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(describe)?;
    deserializer.end().map_err(|_| ApiError::invalid_request("the body holds more than one JSON value"))?;
    Ok(value)
}

/// What went wrong, without the value received: serde's own message for a missing, unknown or
/// repeated field (those quote field names only), "expected …" for a value of the wrong type or
/// out of range.
fn describe(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.inner();
    if !inner.is_data() {
        // Syntax and end-of-input messages describe the text around the error, not the values.
        return ApiError::invalid_request(format!("the body is not valid JSON: {inner}"));
    }
    let message = inner.to_string();
    let message = if ["missing field", "unknown field", "duplicate field"].iter().any(|m| message.starts_with(m)) {
        message
    } else if let Some((_, expected)) = message.split_once(", expected ") {
        format!("expected {expected}")
    } else {
        "the value is not allowed".to_owned()
    };
    let at = if path == "." { String::new() } else { format!("`{path}`: ") };
    ApiError::validation_failed(format!("{at}{message}"))
}

/// One path segment (a client id, a username, a grant id), percent-decoded.
pub struct ApiPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ApiPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(segment) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid_request("a path segment is not valid percent-encoded UTF-8"))?;
        Ok(ApiPath(segment))
    }
}

/// Query parameters; an unknown parameter is refused (a mistyped filter must not list everything).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(query) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::invalid_request(rejection.body_text()))?;
        Ok(ApiQuery(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        admin: Option<bool>,
    }

    fn refused(body: &str) -> ApiError {
        parse::<Body>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_field_and_never_quoted() {
        let error = refused(r#"{"name": "x", "admin": "hunter2-secret"}"#);
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(error.description.contains("`admin`"), "{}", error.description);
        assert!(!error.description.contains("hunter2"), "{}", error.description);
        let error = refused(r#"{"name": 12345678}"#);
        assert!(!error.description.contains("12345678"), "{}", error.description);
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        assert!(refused(r#"{}"#).description.contains("missing field `name`"));
        assert!(refused(r#"{"name": "x", "nmae": 1}"#).description.contains("unknown field `nmae`"));
    }

    #[test]
    fn broken_json_is_a_bad_request() {
        for body in ["", "{", "{\"name\": \"x\"} {}", "nope"] {
            assert_eq!(refused(body).status, StatusCode::BAD_REQUEST, "{body:?}");
        }
    }

    #[test]
    fn json_media_types_are_recognised() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("text/json"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
