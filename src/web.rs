//! The pages people see: sign-in, consent, sign-out — and the consoles built on them. Server-
//! rendered HTML from templates checked at compile time (askama, `templates/`), one stylesheet
//! served by oauthd itself, no JavaScript.
//!
//! Like `http`, this layer decides nothing: a handler extracts, calls `oauth` (sessions, sign-in,
//! the authorization request, consent) or `admin`, and renders the answer. What it owns:
//! - [`session`]: the session cookie, the extractors that give a handler the session
//!   ([`session::CurrentSession`]) or the signed-in user ([`session::SignedIn`], which sends
//!   anybody else to sign in and back), and [`session::CsrfForm`], the only way a page reads a
//!   POSTed form: it refuses one without the session's CSRF token.
//! - [`security_headers`]: every page forbids framing (RFC 9700 §4.16), loads nothing but this
//!   server's stylesheet (and the configured logo), and is never cached.
//! - [`Chrome`], what the base layout (`templates/base.html`) shows on every page, and [`render`].

pub mod admin;
pub mod assets;
pub mod authorize;
pub mod console;
pub mod home;
pub mod login;
pub mod logout;
pub mod session;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::config::Settings;
use crate::http::AppState;
use session::SessionUser;

/// The routes of the pages, each behind [`security_headers`].
pub fn routes(state: &AppState) -> Router<AppState> {
    let headers = SecurityHeaders::new(&state.settings);
    Router::new()
        .route("/", get(home::home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", get(logout::confirm).post(logout::submit))
        .route("/authorize", get(authorize::get).post(authorize::post))
        .route("/authorize/decision", axum::routing::post(authorize::decide))
        .route(assets::STYLESHEET, get(assets::stylesheet))
        .merge(admin::routes(state))
        .merge(console::routes())
        .layer(axum::middleware::from_fn_with_state(headers, security_headers))
}

/// What the base layout shows on every page: the product's name and logo (`[ui]`), and who is
/// signed in.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub product_name: String,
    pub logo_url: String,
    /// The signed-in user, for the header's "signed in as … · Sign out".
    pub username: Option<String>,
    /// The signed-in user is an administrator: the header links to the admin pages.
    pub admin: bool,
}

impl Chrome {
    pub fn new(settings: &Settings, user: Option<&SessionUser>) -> Chrome {
        Chrome {
            product_name: settings.ui.product_name.clone(),
            logo_url: settings.ui.logo_url.clone(),
            username: user.map(|u| u.username.clone()),
            admin: user.is_some_and(|u| u.admin),
        }
    }
}

/// Renders a page with `status`. A template that fails to render (it cannot, short of a bug)
/// answers a plain 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page saying what went wrong, and what to do.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub chrome: Chrome,
    pub title: &'a str,
    pub message: &'a str,
}

/// [`ErrorPage`] with `status`.
pub fn error_page(settings: &Settings, status: StatusCode, title: &str, message: &str) -> Response {
    render(status, &ErrorPage { chrome: Chrome::new(settings, None), title, message })
}

/// The page of a server failure (a database error): its cause is logged, never shown.
pub fn unavailable(settings: &Settings, error: &crate::oauth::OAuthError) -> Response {
    tracing::error!(error = %error, cause = ?error.cause, "a page could not be served");
    error_page(
        settings,
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The server cannot answer right now. Please try again in a moment.",
    )
}

/// A 303 See Other to `location` (after a POST the browser follows it with a GET).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    }
}

/// The headers of every page, built once from the settings.
#[derive(Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
}

impl SecurityHeaders {
    fn new(settings: &Settings) -> SecurityHeaders {
        // Nothing but this server's stylesheet and images (and the configured logo's origin).
        // No form-action: a consent form's answer is a redirect to the client, which it would
        // block; frame-ancestors 'none' is RFC 9700 §4.16's clickjacking defence.
        let logo = url::Url::parse(&settings.ui.logo_url).ok().map(|u| u.origin().ascii_serialization());
        let img = match logo {
            Some(origin) if origin != "null" => format!("'self' {origin}"),
            _ => "'self'".to_owned(),
        };
        let csp =
            format!("default-src 'none'; style-src 'self'; img-src {img}; frame-ancestors 'none'; base-uri 'none'");
        SecurityHeaders { csp: HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'none'")) }
    }
}

/// Adds the security headers to every page: no framing (`X-Frame-Options: DENY`, CSP
/// `frame-ancestors 'none'`), a strict CSP, no caching (`Cache-Control: no-store`, unless the
/// handler chose otherwise, as the stylesheet does), no Referer leaving the page (an
/// authorization request's query must not reach other sites), no MIME sniffing.
pub async fn security_headers(State(headers): State<SecurityHeaders>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let map = response.headers_mut();
    map.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    map.insert(header::CONTENT_SECURITY_POLICY, headers.csp.clone());
    map.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    map.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    map.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}
