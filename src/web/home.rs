//! `/`: where a sign-in without a destination lands: who is signed in, and signing out.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::session::SignedIn;
use super::{render, Chrome};
use crate::http::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    username: String,
}

pub async fn home(State(auth): State<AppState>, signed_in: SignedIn) -> Response {
    let chrome = Chrome::new(&auth.settings, Some(&signed_in.user));
    render(StatusCode::OK, &HomePage { chrome, username: signed_in.user.username })
}
