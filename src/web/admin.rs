//! The console's admin pages under `/admin`: every client and user, token lookup, security
//! events. Only administrators (users with the admin flag, read from the database on every
//! request) see them; anybody else signed in gets a 403 page, anybody not signed in is sent to
//! sign in and back.
//!
//! One route layer ([`gate`]) does both for every admin route, as the admin API's `auth` does
//! for the API: it admits the administrator, hands the handler an [`Administrator`], and records
//! every form the administrator sends as an `admin_console_action` security event (path and
//! status, never a field's value) — the console's audit trail. The actions themselves are
//! `admin::` functions, the same the CLI and the admin API call, which record their own events
//! with the administrator as actor ([`Administrator::origin`]).

mod clients;
mod events;
mod tokens;
mod users;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::session::{Session, SessionUser, SignedIn};
use super::{error_page, render, see_other, unavailable, Chrome, ErrorPage};
use crate::admin::{Actor, AdminError, Origin};
use crate::http::AppState;
use crate::oauth::events::SecurityEvent;
use crate::oauth::OAuthError;
use crate::store::EventKind;

/// The admin pages, each behind [`gate`].
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { see_other("/admin/clients") }))
        .route("/admin/clients", get(clients::list).post(clients::create))
        .route("/admin/clients/new", get(clients::new))
        .route("/admin/clients/{client_id}", get(clients::show))
        .route("/admin/clients/{client_id}/disable", post(clients::disable))
        .route("/admin/clients/{client_id}/enable", post(clients::enable))
        .route("/admin/clients/{client_id}/revoke-tokens", post(clients::revoke_tokens))
        .route("/admin/clients/{client_id}/delete", post(clients::delete))
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/users/{username}", get(users::show))
        .route("/admin/users/{username}/disable", post(users::disable))
        .route("/admin/users/{username}/enable", post(users::enable))
        .route("/admin/users/{username}/password", post(users::set_password))
        .route("/admin/users/{username}/admin", post(users::set_admin))
        .route("/admin/users/{username}/revoke-tokens", post(users::revoke_tokens))
        .route("/admin/users/{username}/delete", post(users::delete))
        .route("/admin/tokens", get(tokens::form))
        .route("/admin/tokens/lookup", post(tokens::lookup))
        .route("/admin/tokens/revoke", post(tokens::revoke))
        .route("/admin/events", get(events::list))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), gate))
}

/// The signed-in administrator of an admin page.
#[derive(Clone)]
pub struct Administrator {
    pub user: SessionUser,
    pub session: Session,
    /// The administrator and the peer's address: what the admin functions record as the actor.
    pub origin: Origin,
}

impl Administrator {
    pub fn chrome(&self, auth: &AppState) -> Chrome {
        Chrome::new(&auth.settings, Some(&self.user))
    }

    pub fn csrf(&self) -> String {
        self.session.csrf_token()
    }
}

/// Handlers read the administrator [`gate`] admitted; without one (a route outside the gate) the
/// request is refused rather than served.
impl FromRequestParts<AppState> for Administrator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &AppState) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Administrator>()
            .cloned()
            .ok_or_else(|| error_page(&auth.settings, StatusCode::FORBIDDEN, "Administrators only", NOT_ADMIN))
    }
}

const NOT_ADMIN: &str = "This page is for administrators. Ask an administrator if you need something changed.";

/// Admits administrators to the admin pages (see the module docs) and records each form they
/// send as an `admin_console_action` event.
pub async fn gate(State(auth): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let signed_in = match SignedIn::from_request_parts(&mut parts, &auth).await {
        Ok(signed_in) => signed_in,
        Err(to_sign_in) => return to_sign_in,
    };
    let SignedIn { session, user } = signed_in;
    if !user.admin {
        tracing::info!(username = %user.username, path = parts.uri.path(), "an admin page was refused to a non-administrator");
        let page = ErrorPage {
            chrome: Chrome::new(&auth.settings, Some(&user)),
            title: "Administrators only",
            message: NOT_ADMIN,
        };
        return render(StatusCode::FORBIDDEN, &page);
    }
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let origin = Origin { actor: Actor::User(user.username.clone()), peer };
    let action = (parts.method == Method::POST).then(|| describe_action(parts.uri.path()));
    parts.extensions.insert(Administrator { user, session, origin: origin.clone() });
    let response = next.run(Request::from_parts(parts, body)).await;
    if let Some(action) = action {
        let event = SecurityEvent::new(EventKind::AdminConsoleAction, &origin)
            .detail(format!("{action} {}", response.status().as_u16()));
        auth.record_security_event(event).await;
    }
    response
}

/// `POST /path` for the audit trail: the path only (ids, never a form's value), bounded.
fn describe_action(path: &str) -> String {
    let mut action = format!("POST {path}");
    if action.len() > 300 {
        let mut end = 300;
        while !action.is_char_boundary(end) {
            end -= 1;
        }
        action.truncate(end);
        action.push('…');
    }
    action
}

/// Characters kept as they are in a path segment or a query value; everything else is
/// percent-encoded (an imported client id may hold `/`, `?`, `#` or a space).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `text` as one path segment or query value.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// The first non-blank value of `name` among a form's or a query's fields, trimmed.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().filter(|(n, _)| n == name).map(|(_, v)| v.trim()).find(|v| !v.is_empty())
}

/// Every non-blank value of `name` (checkboxes, lines of a text area).
pub fn fields<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields.iter().filter(|(n, _)| n == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).collect()
}

/// A query string's fields; a query that cannot be read is no fields, so a page always answers.
pub fn query_fields(parts: &axum::http::Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(parts.query().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// How an admin function's refusal is shown when no form is there to show it by a field: 404,
/// 409 or 422 page with its message (written by oauthd, never holding a secret), or the 503 page of
/// a store failure.
pub fn admin_error_page(auth: &AppState, admin: &Administrator, error: AdminError) -> Response {
    let (status, title) = match &error {
        AdminError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        AdminError::AlreadyExists(_) => (StatusCode::CONFLICT, "Already exists"),
        AdminError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Not done"),
        AdminError::Store(_) | AdminError::Other(_) => return server_error(auth, error),
    };
    let message = error.to_string();
    render(status, &ErrorPage { chrome: admin.chrome(auth), title, message: &message })
}

/// The message of a refusal to show next to a form, or the error page of a server failure.
pub fn refusal(auth: &AppState, error: AdminError) -> Result<String, Box<Response>> {
    match error {
        AdminError::NotFound(_) | AdminError::AlreadyExists(_) | AdminError::Invalid(_) => Ok(error.to_string()),
        AdminError::Store(_) | AdminError::Other(_) => Err(Box::new(server_error(auth, error))),
    }
}

fn server_error(auth: &AppState, error: AdminError) -> Response {
    let oauth = match error {
        AdminError::Store(e) => OAuthError::from(e),
        AdminError::Other(e) => match e.downcast::<OAuthError>() {
            Ok(oauth) => oauth,
            Err(e) => OAuthError::server_error(e),
        },
        other => OAuthError::server_error(anyhow::anyhow!("{other}")),
    };
    unavailable(&auth.settings, &oauth)
}

/// The tabs of the admin pages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Clients,
    Users,
    Tokens,
    Events,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded_whole() {
        assert_eq!(encode("abc-DEF_1.2~"), "abc-DEF_1.2~");
        assert_eq!(encode("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn fields_are_read_trimmed_and_blank_ones_skipped() {
        let form: Vec<(String, String)> =
            [("a", " "), ("a", " x "), ("b", "1"), ("b", ""), ("b", "2")].map(|(n, v)| (n.into(), v.into())).into();
        assert_eq!(field(&form, "a"), Some("x"));
        assert_eq!(field(&form, "c"), None);
        assert_eq!(fields(&form, "b"), ["1", "2"]);
    }

    #[test]
    fn an_action_is_its_path_bounded() {
        assert_eq!(describe_action("/admin/users/bob/delete"), "POST /admin/users/bob/delete");
        assert!(describe_action(&"/x".repeat(400)).len() <= 304);
    }
}
