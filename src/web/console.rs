//! The user console under `/console`: a signed-in user's own applications (register, change,
//! delete, regenerate the secret), the tokens they generate for them, the applications they
//! authorized, and their sessions. Every rule is `admin::applications` (and the consent and
//! session functions it sits beside); a handler here extracts, calls one, and renders.
//!
//! A secret or a token is on one page only, the answer to the POST that made it (never stored,
//! never in a URL, never cached: pages are `no-store`); every other page shows none.

pub mod account;
pub mod applications;
pub mod commands;
pub mod form;
pub mod tokens;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::error_page;
use crate::admin::applications::Owner;
use crate::admin::AdminError;
use crate::config::Settings;
use crate::http::AppState;

/// Where the console lives.
pub const BASE: &str = "/console";

/// The console's routes (merged into the pages' router, behind their security headers).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(applications::list))
        .route("/console/applications", get(applications::list).post(applications::create))
        .route("/console/applications/new", get(applications::new))
        .route("/console/applications/{client_id}", get(applications::show).post(applications::update))
        .route("/console/applications/{client_id}/delete", post(applications::delete))
        .route("/console/applications/{client_id}/secret", post(applications::rotate_secret))
        .route("/console/applications/{client_id}/tokens", post(tokens::generate))
        .route("/console/applications/{client_id}/revoke-tokens", post(applications::revoke_tokens))
        .route("/console/authorized", get(account::authorized))
        .route("/console/authorized/{client_id}/revoke", post(account::revoke_authorization))
        .route("/console/sessions", get(account::sessions))
        .route("/console/sessions/{session}/end", post(account::end_session))
}

/// The address a request came from, for the security events of the user's actions.
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())))
    }
}

/// The signed-in user as the owner of applications, acting from `peer`.
pub fn owner(username: &str, Peer(peer): Peer) -> Owner {
    Owner::new(username, peer)
}

/// Which console section a page belongs to, for the navigation's `aria-current`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Applications,
    Authorized,
    Sessions,
}

impl Section {
    /// Whether this is the section named `name` (applications, authorized, sessions).
    pub fn is(&self, name: &str) -> bool {
        let own = match self {
            Section::Applications => "applications",
            Section::Authorized => "authorized",
            Section::Sessions => "sessions",
        };
        own == name
    }
}

/// The page answering an admin error that is not the user's to correct on a form: an unknown (or
/// someone else's) application is 404, anything else the server's failure (logged, not shown).
pub fn failed(settings: &Settings, error: AdminError) -> Response {
    match error {
        AdminError::NotFound(_) => error_page(
            settings,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such application among yours. It may have been deleted.",
        ),
        AdminError::Invalid(message) => error_page(settings, StatusCode::BAD_REQUEST, "Not possible", &message),
        error => {
            tracing::error!(%error, "a console page failed");
            error_page(
                settings,
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The server cannot answer right now. Please try again in a moment.",
            )
        }
    }
}
