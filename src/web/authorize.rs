//! `GET/POST /authorize` (RFC 6749 §3.1: both) and the consent form's answer,
//! `POST /authorize/decision`. Every decision is `oauth::authorize`'s and `oauth::consent`'s:
//!
//! 1. The request is validated first ([`Authority::authorization_request`]): before its client
//!    and redirect URI are established an error is a page here, never a redirect (§4.1.2.1);
//!    after, it is the redirect `authorize` built.
//! 2. Nobody signed in: to `/login`, and back to this same request after.
//! 3. Consent already given (or implicit for a first-party client): the code's redirect at once.
//!    Otherwise the consent page, whose form carries the request itself and the CSRF token; its
//!    answer validates the request again, then allows (a code) or denies (`access_denied`).
//!
//! [`Authority::authorization_request`]: crate::oauth::Authority::authorization_request

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::{login_location, CsrfForm, CurrentSession, SessionUser};
use super::{error_page, render, see_other, Chrome};
use crate::http::AppState;
use crate::oauth::authorize::{AuthorizationRequest, AuthorizeError};
use crate::oauth::params::Params;
use crate::oauth::OAuthError;

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    chrome: Chrome,
    csrf: String,
    client_name: &'a str,
    username: &'a str,
    /// (scope, what it lets the application do, if configured).
    scopes: Vec<(&'a str, Option<&'a str>)>,
    /// The authorization request, sent back with the answer.
    request: &'a str,
}

pub async fn get(State(auth): State<AppState>, session: CurrentSession, RawQuery(query): RawQuery) -> Response {
    authorize(&auth, &session, query.unwrap_or_default()).await
}

/// RFC 6749 §3.1: "The authorization server MUST support the use of the HTTP "GET" method … and
/// MAY support the use of the "POST" method as well." The form body is the query of a GET.
pub async fn post(State(auth): State<AppState>, session: CurrentSession, body: Bytes) -> Response {
    match String::from_utf8(body.to_vec()) {
        Ok(query) => authorize(&auth, &session, query).await,
        Err(_) => untrusted(&auth, &OAuthError::invalid_request("the request is not UTF-8")),
    }
}

async fn authorize(auth: &AppState, session: &CurrentSession, query: String) -> Response {
    let request = match validate(auth, &query).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Some(user) = session.user() else {
        return see_other(&login_location(&format!("/authorize?{query}")));
    };
    match auth.consent_needed(&request, &user.username).await {
        Ok(false) => answer(auth, auth.allow(&request, &user.username, user.auth_time).await),
        Ok(true) => consent_page(auth, session, user, &request, &query),
        Err(refused) => answer(auth, Err(refused)),
    }
}

/// The request, or the page or redirect that refuses it.
async fn validate(auth: &AppState, query: &str) -> Result<AuthorizationRequest, Response> {
    let params = Params::parse(query.as_bytes()).map_err(|e| untrusted(auth, &e))?;
    auth.authorization_request(&params).await.map_err(|refused| answer(auth, Err(refused)))
}

fn consent_page(
    auth: &AppState,
    session: &CurrentSession,
    user: &SessionUser,
    request: &AuthorizationRequest,
    query: &str,
) -> Response {
    let descriptions = &auth.settings.ui.scope_descriptions;
    let page = ConsentPage {
        chrome: Chrome::new(&auth.settings, Some(user)),
        csrf: session.0.as_ref().map(|s| s.csrf_token()).unwrap_or_default(),
        client_name: &request.client.name,
        username: &user.username,
        scopes: request.scope.iter().map(|s| (s, descriptions.get(s).map(String::as_str))).collect(),
        request: query,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct Decision {
    /// The authorization request, as the consent page received it.
    #[serde(default)]
    request: String,
    /// `allow` or `deny`.
    #[serde(default)]
    decision: String,
}

pub async fn decide(State(auth): State<AppState>, CsrfForm { session, form }: CsrfForm<Decision>) -> Response {
    let request = match validate(&auth, &form.request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Some(user) = session.user else {
        return see_other(&login_location(&format!("/authorize?{}", form.request)));
    };
    match form.decision.as_str() {
        "allow" => answer(&auth, auth.allow(&request, &user.username, user.auth_time).await),
        "deny" => see_other(&auth.deny(&request)),
        _ => error_page(&auth.settings, StatusCode::BAD_REQUEST, "Bad request", "Choose Allow or Deny."),
    }
}

/// The redirect to the client, or the error page of a request whose client or redirect URI is
/// not established.
fn answer(auth: &AppState, outcome: Result<String, AuthorizeError>) -> Response {
    match outcome {
        Ok(location) | Err(AuthorizeError::Redirect { location }) => see_other(&location),
        Err(AuthorizeError::Untrusted(error)) => untrusted(auth, &error),
    }
}

/// §4.1.2.1: "the authorization server SHOULD inform the resource owner of the error and MUST
/// NOT automatically redirect the user-agent to the invalid redirection URI."
fn untrusted(auth: &AppState, error: &OAuthError) -> Response {
    tracing::info!(error = error.code.as_str(), "authorization request refused with an error page");
    let message = format!(
        "The application sent an authorization request that cannot be answered: {} ({}). \
         Nothing was shared with it. Please tell the application's developers.",
        error.description,
        error.code.as_str()
    );
    error_page(&auth.settings, StatusCode::BAD_REQUEST, "This request cannot be answered", &message)
}
