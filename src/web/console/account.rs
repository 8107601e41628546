//! Authorized applications (the consents the user gave, with scopes and last use; revoking one
//! ends its grants and forgets it) and Sessions (the user's live sign-ins; ending any of them).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{failed, owner, Peer, Section};
use crate::admin::{consents, sessions};
use crate::http::AppState;
use crate::web::session::{CsrfForm, SignedIn};
use crate::web::{render, see_other, Chrome};

/// A time as the pages show it: UTC, to the minute.
pub fn when(unix: i64) -> String {
    match cookie::time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => {
            format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
        }
        Err(_) => unix.to_string(),
    }
}

/// One authorized application as the page shows it.
pub struct AuthorizedView {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub granted: String,
    pub last_used: Option<String>,
    pub revoke_path: String,
}

#[derive(Template)]
#[template(path = "console/authorized.html")]
struct AuthorizedPage {
    chrome: Chrome,
    section: Section,
    csrf: String,
    apps: Vec<AuthorizedView>,
}

pub async fn authorized(State(auth): State<AppState>, signed_in: SignedIn) -> Response {
    let found = match consents::authorized(&auth, &signed_in.user.username).await {
        Ok(found) => found,
        Err(error) => return failed(&auth.settings, error),
    };
    let apps = found
        .into_iter()
        .map(|a| AuthorizedView {
            revoke_path: format!(
                "/console/authorized/{}/revoke",
                super::applications::path_segment(&a.consent.client_id)
            ),
            client_id: a.consent.client_id,
            name: a.consent.client_name,
            scopes: a.consent.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            granted: when(a.consent.granted_at),
            last_used: a.last_used_at.map(when),
        })
        .collect();
    let page = AuthorizedPage {
        chrome: Chrome::new(&auth.settings, Some(&signed_in.user)),
        section: Section::Authorized,
        csrf: signed_in.session.csrf_token(),
        apps,
    };
    render(StatusCode::OK, &page)
}

pub async fn revoke_authorization(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    peer: Peer,
    Path(client_id): Path<String>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let origin = owner(&signed_in.user.username, peer).origin();
    match consents::withdraw(&auth, &origin, &signed_in.user.username, &client_id).await {
        Ok(_) => see_other("/console/authorized"),
        Err(error) => failed(&auth.settings, error),
    }
}

/// One session as the page shows it.
pub struct SessionLine {
    pub signed_in: String,
    pub last_seen: String,
    pub current: bool,
    pub end_path: String,
}

#[derive(Template)]
#[template(path = "console/sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    section: Section,
    csrf: String,
    sessions: Vec<SessionLine>,
}

pub async fn sessions(State(auth): State<AppState>, signed_in: SignedIn) -> Response {
    let found = match sessions::of_user(&auth, &signed_in.user.username, &signed_in.session).await {
        Ok(found) => found,
        Err(error) => return failed(&auth.settings, error),
    };
    let sessions = found
        .into_iter()
        .map(|s| SessionLine {
            signed_in: when(s.signed_in_at),
            last_seen: when(s.last_seen_at),
            current: s.current,
            end_path: format!("/console/sessions/{}/end", s.handle),
        })
        .collect();
    let page = SessionsPage {
        chrome: Chrome::new(&auth.settings, Some(&signed_in.user)),
        section: Section::Sessions,
        csrf: signed_in.session.csrf_token(),
        sessions,
    };
    render(StatusCode::OK, &page)
}

pub async fn end_session(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    Path(handle): Path<String>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    match sessions::end(&auth, &signed_in.user.username, &handle).await {
        Ok(()) => see_other("/console/sessions"),
        Err(error) => failed(&auth.settings, error),
    }
}
