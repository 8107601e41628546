//! What every answer at the edge is held to, whoever made it — a handler, axum's router (405) or
//! a tower layer (408):
//!
//! - **RFC-shaped errors.** An error answer without a body (or, on the OAuth endpoints, with a
//!   body that is not JSON) becomes `{"error","error_description"}` JSON with its status kept:
//!   405 (with its `Allow`), 408, 413, 415 and the like (RFC 6749 §5.2).
//! - **No caching on the OAuth endpoints.** Every answer of /token, /revoke and /introspect, success
//!   or error, carries `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
//! - **The answer reaches the client.** A request refused before its body was read (too large, a
//!   wrong Content-Type, a wrong method) would otherwise be answered and its connection closed
//!   while the client is still sending: the client's TCP stack then meets a reset and usually
//!   loses the answer — over TLS most of the time (finding 2 of the hardening issue). The rest of
//!   the body is read and discarded first, up to a bound; past it the answer says
//!   `Connection: close` and the connection ends as before.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Body as _, Frame, SizeHint};

use super::token::no_store;
use crate::oauth::error::ErrorCode;
use crate::oauth::OAuthError;

/// The endpoints whose every answer is RFC 6749 JSON with the no-store headers.
const OAUTH_ENDPOINTS: [&str; 3] = ["/token", "/revoke", "/introspect"];

/// Makes bare error answers RFC-shaped JSON, and keeps the OAuth endpoints' answers uncached.
pub async fn answers(request: Request, next: Next) -> Response {
    let oauth_endpoint = OAUTH_ENDPOINTS.contains(&request.uri().path());
    let response = next.run(request).await;
    let response = if is_bare_error(&response, oauth_endpoint) { as_oauth_error(response) } else { response };
    if oauth_endpoint {
        no_store(response)
    } else {
        response
    }
}

/// An error status without a body of its own shape: no Content-Type at all (axum's 405, tower's
/// 408), or on an OAuth endpoint anything but JSON (axum's plain-text rejections). Pages and the
/// admin API answer their errors in their own shapes and are left alone.
fn is_bare_error(response: &Response, oauth_endpoint: bool) -> bool {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return false;
    }
    match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(content_type) => oauth_endpoint && !content_type.as_bytes().starts_with(b"application/json"),
    }
}

fn as_oauth_error(response: Response) -> Response {
    let status = response.status();
    let allow = response.headers().get(header::ALLOW).cloned();
    let error = match status {
        // axum's method router adds its `Allow` header after this layer has run (it wraps each
        // route), so the description points to it rather than naming the methods.
        StatusCode::METHOD_NOT_ALLOWED => {
            OAuthError::invalid_request("this endpoint does not accept this method (see the Allow header)")
        }
        StatusCode::REQUEST_TIMEOUT => {
            OAuthError::new(ErrorCode::TemporarilyUnavailable, "the request was not completed in time; try again")
        }
        StatusCode::PAYLOAD_TOO_LARGE => OAuthError::invalid_request("the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            OAuthError::invalid_request("the request must use Content-Type application/x-www-form-urlencoded")
        }
        status if status.is_server_error() => {
            OAuthError::server_error(anyhow::anyhow!("an answer {status} without a body"))
        }
        status => OAuthError::invalid_request(status.canonical_reason().unwrap_or("the request was refused")),
    };
    let mut answer = error.into_response();
    *answer.status_mut() = status;
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

/// How much of an unread request body is read and discarded so the answer reaches the client.
#[derive(Clone, Copy, Debug)]
pub struct Drain {
    pub max_bytes: usize,
    pub within: Duration,
}

impl Drain {
    /// Four times the body limit (at least 4 MiB), for at most the request timeout.
    pub fn of(settings: &crate::config::Settings) -> Drain {
        Drain {
            max_bytes: settings.server.body_limit_bytes.saturating_mul(4).max(4 * 1024 * 1024),
            within: Duration::from_secs(settings.server.request_timeout_secs),
        }
    }
}

/// Lends the request body to the handler, then reads and discards what it left unread.
///
/// Not when the client sent `Expect: 100-continue` and the handler never asked for the body: the
/// client then waits for the final answer without sending it (RFC 9110 §10.1.1), and reading it
/// would only invite the upload.
pub async fn drain_unread_body(State(drain): State<Drain>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let expects_continue =
        parts.headers.get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let shared = SharedBody { body: Arc::new(Mutex::new(body)), polled: Arc::new(AtomicBool::new(false)) };
    let mut response = next.run(Request::from_parts(parts, Body::new(shared.clone()))).await;
    let rest = std::mem::take(&mut *shared.lock());
    if rest.is_end_stream() || (expects_continue && !shared.polled.load(Ordering::Acquire)) {
        return response;
    }
    let drained = tokio::time::timeout(drain.within, discard(rest, drain.max_bytes)).await.unwrap_or(false);
    if !drained {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads `body` to its end; false when it is longer than `max_bytes` or fails.
async fn discard(mut body: Body, max_bytes: usize) -> bool {
    let mut read = 0usize;
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            None => return true,
            Some(Ok(frame)) => {
                read = read.saturating_add(frame.data_ref().map_or(0, Bytes::len));
                if read > max_bytes {
                    return false;
                }
            }
            Some(Err(_)) => return false,
        }
    }
}

/// A request body the handler reads through while the layer keeps hold of it.
#[derive(Clone)]
struct SharedBody {
    body: Arc<Mutex<Body>>,
    /// Whether the handler has asked for a frame.
    polled: Arc<AtomicBool>,
}

impl SharedBody {
    fn lock(&self) -> std::sync::MutexGuard<'_, Body> {
        self.body.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl http_body::Body for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.polled.store(true, Ordering::Release);
        Pin::new(&mut *self.lock()).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.lock().is_end_stream()
    }

    /// Kept, so a body limit still refuses a too-long Content-Length before reading a byte.
    fn size_hint(&self) -> SizeHint {
        self.lock().size_hint()
    }
}
