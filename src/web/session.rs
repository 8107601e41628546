//! The session cookie and the extractors every page uses.
//!
//! - [`CurrentSession`]: the browser's live session, if any (`oauth::session` decides liveness).
//! - [`SignedIn`]: the signed-in user; anybody else is sent to `/login` with a `return_to` that
//!   brings them back to the page they asked for.
//! - [`CsrfForm`]: a POSTed form whose `csrf` field is the session's CSRF token; anything else is
//!   refused with a 403 page before the handler runs.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` (then named `__Host-oauthd_session`)
//! whenever the issuer is https. It has no `Max-Age`: it goes when the browser closes, and the
//! server ends the session after `sessions.idle_secs` unused or `sessions.absolute_secs`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use cookie::{Cookie, SameSite};
use serde::de::DeserializeOwned;

pub use crate::oauth::session::{Session, SessionId, SessionUser};

use super::{error_page, see_other, unavailable};
use crate::config::Settings;
use crate::http::AppState;

const SECURE_NAME: &str = "__Host-oauthd_session";
const PLAIN_NAME: &str = "oauthd_session";
/// Longest `return_to` kept; a longer one returns to `/`.
const MAX_RETURN_TO: usize = 4096;

/// Whether the pages are served over https, so the cookie is `Secure`: the issuer is https, or
/// there is no configured issuer and the listener serves TLS.
pub fn secure_cookies(settings: &Settings) -> bool {
    let issuer = settings.server.issuer.as_str();
    issuer.starts_with("https://") || (issuer.is_empty() && settings.tls.enabled())
}

fn cookie_name(settings: &Settings) -> &'static str {
    if secure_cookies(settings) {
        SECURE_NAME
    } else {
        PLAIN_NAME
    }
}

/// The `Set-Cookie` value that gives the browser `session`'s id.
pub fn set_cookie(settings: &Settings, session: &Session) -> HeaderValue {
    cookie_header(settings, session.id.expose(), None)
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(settings: &Settings) -> HeaderValue {
    cookie_header(settings, "", Some(cookie::time::Duration::ZERO))
}

fn cookie_header(settings: &Settings, value: &str, max_age: Option<cookie::time::Duration>) -> HeaderValue {
    let mut cookie = Cookie::build((cookie_name(settings), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure_cookies(settings));
    if let Some(max_age) = max_age {
        cookie = cookie.max_age(max_age);
    }
    // The value is URL-safe base64 (or empty): always a valid header value.
    HeaderValue::from_str(&cookie.build().to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// The session id the request's cookie carries, if it has the shape of one.
fn session_id(settings: &Settings, headers: &HeaderMap) -> Option<SessionId> {
    let name = cookie_name(settings);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .and_then(|cookie| SessionId::parse(cookie.value()))
}

/// The browser's live session, if any. Rejects (503 page) only when the store cannot answer.
pub struct CurrentSession(pub Option<Session>);

impl CurrentSession {
    pub fn user(&self) -> Option<&SessionUser> {
        self.0.as_ref().and_then(|s| s.user.as_ref())
    }
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(found) = parts.extensions.get::<Option<Session>>() {
            return Ok(CurrentSession(found.clone()));
        }
        let session = match session_id(&auth.settings, &parts.headers) {
            Some(id) => auth.session(&id).await.map_err(|e| unavailable(&auth.settings, &e))?,
            None => None,
        };
        parts.extensions.insert(session.clone());
        Ok(CurrentSession(session))
    }
}

/// The signed-in user and their session. Anybody else is sent (303) to sign in, and back here
/// after: to this page for a GET, to `/` otherwise.
pub struct SignedIn {
    pub session: Session,
    pub user: SessionUser,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &AppState) -> Result<Self, Self::Rejection> {
        let CurrentSession(session) = CurrentSession::from_request_parts(parts, auth).await?;
        match session {
            Some(Session { id, user: Some(user) }) => {
                Ok(SignedIn { session: Session { id, user: Some(user.clone()) }, user })
            }
            _ => {
                let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let back = if parts.method == Method::GET { here } else { "/" };
                Err(see_other(&login_location(back)))
            }
        }
    }
}

/// `/login?return_to=…`.
pub fn login_location(return_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("return_to", return_to).finish();
    format!("/login?{query}")
}

/// `return_to` when it is a path on this server (`/…`, not `//…` nor with a backslash or a control
/// character, which browsers may read as another host), else `/`: sign-in never sends a user
/// to another site.
pub fn safe_return_to(return_to: Option<&str>) -> &str {
    match return_to {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.len() <= MAX_RETURN_TO
                && !path.chars().any(|c| c == '\\' || c.is_control()) =>
        {
            path
        }
        _ => "/",
    }
}

/// A POSTed form (`application/x-www-form-urlencoded`) carrying the session's CSRF token in its
/// `csrf` field, deserialized into `T` (which need not name `csrf`). Without a live session or
/// with another token the request is refused with a 403 page, before the handler runs.
pub struct CsrfForm<T> {
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, auth: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let CurrentSession(session) = CurrentSession::from_request_parts(&mut parts, auth).await?;
        let bad_form =
            || error_page(&auth.settings, StatusCode::BAD_REQUEST, "Bad request", "The form could not be read.");
        let body = Bytes::from_request(Request::from_parts(parts, body), auth).await.map_err(|_| bad_form())?;
        let csrf = url::form_urlencoded::parse(&body).find(|(name, _)| name == "csrf").map(|(_, value)| value);
        let session = match (session, csrf) {
            (Some(session), Some(token)) if session.verify_csrf(&token) => session,
            _ => {
                tracing::info!("a form without its session's CSRF token was refused");
                return Err(expired_form(&auth.settings));
            }
        };
        let form = serde_urlencoded::from_bytes(&body).map_err(|_| bad_form())?;
        Ok(CsrfForm { session, form })
    }
}

/// The answer to a form whose CSRF token does not match: the page was too old (its session
/// ended) or the form came from another site.
fn expired_form(settings: &Settings) -> Response {
    error_page(
        settings,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The page you sent was too old, or did not come from this site. Go back, reload the page and try again.",
    )
}

/// Adds `Set-Cookie` to a response.
pub fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The session to put in a form: the current one, or a new anonymous one (its cookie to set).
pub async fn ensure_session(
    auth: &AppState,
    current: Option<Session>,
) -> Result<(Session, Option<HeaderValue>), Response> {
    match current {
        Some(session) => Ok((session, None)),
        None => {
            let session = auth.new_session().await.map_err(|e| unavailable(&auth.settings, &e))?;
            let cookie = set_cookie(&auth.settings, &session);
            Ok((session, Some(cookie)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_is_a_path_on_this_server_or_the_home_page() {
        for kept in ["/", "/authorize?client_id=a&state=b", "/account/consents"] {
            assert_eq!(safe_return_to(Some(kept)), kept);
        }
        for refused in [
            None,
            Some(""),
            Some("https://evil.example/"),
            Some("//evil.example/"),
            Some("/\\evil.example"),
            Some("/a\nb"),
            Some("evil"),
            Some("javascript:alert(1)"),
        ] {
            assert_eq!(safe_return_to(refused), "/", "{refused:?}");
        }
    }
}
