//! `GET /logout` asks for confirmation (a link cannot sign anybody out); `POST /logout` ends the
//! session and removes its cookie.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::{clear_cookie, with_cookie, CsrfForm, CurrentSession};
use super::{render, unavailable, Chrome};
use crate::http::AppState;

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    chrome: Chrome,
    /// `None` once signed out: the page says so instead of asking.
    csrf: Option<String>,
}

pub async fn confirm(State(auth): State<AppState>, session: CurrentSession) -> Response {
    let chrome = Chrome::new(&auth.settings, session.user());
    let csrf = session.0.as_ref().filter(|s| s.user.is_some()).map(|s| s.csrf_token());
    render(StatusCode::OK, &LogoutPage { chrome, csrf })
}

#[derive(Deserialize)]
pub struct LogoutForm {}

pub async fn submit(State(auth): State<AppState>, CsrfForm { session, .. }: CsrfForm<LogoutForm>) -> Response {
    if let Err(error) = auth.end_session(&session).await {
        return unavailable(&auth.settings, &error);
    }
    let page = LogoutPage { chrome: Chrome::new(&auth.settings, None), csrf: None };
    with_cookie(render(StatusCode::OK, &page), clear_cookie(&auth.settings))
}
