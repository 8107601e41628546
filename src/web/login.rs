//! `GET /login` shows the sign-in form; `POST /login` checks it (`Authority::sign_in`), starts
//! the user's session under a new id and returns them to `return_to` — a path on this server.
//! Every refusal says the same thing, whether or not the account exists.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;

use super::session::{ensure_session, safe_return_to, set_cookie, with_cookie, CsrfForm, CurrentSession};
use super::{render, see_other, unavailable, Chrome};
use crate::http::AppState;
use crate::oauth::sign_in::SignInError;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    chrome: Chrome,
    csrf: String,
    return_to: &'a str,
    username: &'a str,
    /// Shown next to the password field.
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

pub async fn form(State(auth): State<AppState>, session: CurrentSession, Query(query): Query<LoginQuery>) -> Response {
    let return_to = safe_return_to(query.return_to.as_deref());
    if session.user().is_some() {
        return see_other(return_to);
    }
    let (session, cookie) = match ensure_session(&auth, session.0).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = LoginPage {
        chrome: Chrome::new(&auth.settings, None),
        csrf: session.csrf_token(),
        return_to,
        username: "",
        error: None,
    };
    let response = render(StatusCode::OK, &page);
    match cookie {
        Some(cookie) => with_cookie(response, cookie),
        None => response,
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    password: Option<SecretString>,
    return_to: Option<String>,
}

pub async fn submit(State(auth): State<AppState>, CsrfForm { session, form }: CsrfForm<LoginForm>) -> Response {
    let return_to = safe_return_to(form.return_to.as_deref());
    let password = form.password.unwrap_or_else(|| SecretString::from(String::new()));
    let again = |status: StatusCode, error: String| {
        let page = LoginPage {
            chrome: Chrome::new(&auth.settings, None),
            csrf: session.csrf_token(),
            return_to,
            username: &form.username,
            error: Some(error),
        };
        render(status, &page)
    };
    match auth.sign_in(&form.username, &password).await {
        Ok(username) => match auth.begin_session(Some(&session), &username).await {
            Ok(signed_in) => with_cookie(see_other(return_to), set_cookie(&auth.settings, &signed_in)),
            Err(error) => unavailable(&auth.settings, &error),
        },
        Err(SignInError::Invalid) => {
            again(StatusCode::UNAUTHORIZED, "The username or password is incorrect.".to_owned())
        }
        Err(SignInError::Locked { retry_after_secs }) => {
            let mut response = again(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many failed sign-ins. Try again in {retry_after_secs} s."),
            );
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(SignInError::Failed(error)) => unavailable(&auth.settings, &error),
    }
}
