//! Token lookup: an administrator pastes a token (in a POST form, never a URL) and sees its state,
//! family, client, user, scopes and expiry (`admin::tokens::lookup`), with a button to revoke it
//! (`admin::tokens::revoke`). The pasted token is only digested to find its row: it is not stored,
//! logged, or put in the audit event (which holds the path only); the page that shows the result
//! carries it once more in the revoke form's hidden field and is never cached.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};

use super::{refusal, Administrator, Tab};
use crate::admin::tokens;
use crate::admin::views::TokenView;
use crate::clock::utc_text;
use crate::http::AppState;
use crate::web::session::CsrfForm;
use crate::web::{render, Chrome};

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tab: Tab,
    csrf: String,
    /// What was found, when a token was looked up.
    found: Option<Found>,
    /// A token was looked up and is unknown (or not an oauthd token).
    unknown: bool,
    /// Said after a revocation.
    notice: Option<String>,
    error: Option<String>,
}

/// A token looked up, as the page shows it.
struct Found {
    view: TokenView,
    kind: &'static str,
    /// "An access token", "A refresh token".
    title: &'static str,
    state: &'static str,
    issued_at: String,
    expires_at: String,
    first_used_at: Option<String>,
    /// The pasted token, for the revoke button's form: only while it can still be revoked.
    token: Option<String>,
}

impl Found {
    fn new(view: TokenView, token: &SecretString) -> Found {
        use crate::admin::views::{TokenState, TokenType};
        let (kind, title) = match view.kind {
            TokenType::AccessToken => ("access token", "An access token"),
            TokenType::RefreshToken => ("refresh token", "A refresh token"),
        };
        let state = match view.state {
            TokenState::Active => "active",
            TokenState::Revoked => "revoked",
            TokenState::Consumed => "consumed (rotated)",
            TokenState::Expired => "expired",
        };
        Found {
            kind,
            title,
            state,
            issued_at: utc_text(view.issued_at),
            expires_at: utc_text(view.expires_at),
            first_used_at: view.first_used_at.map(utc_text),
            token: (view.state != TokenState::Revoked).then(|| token.expose_secret().trim().to_owned()),
            view,
        }
    }
}

impl TokensPage {
    fn new(admin: &Administrator, auth: &AppState) -> TokensPage {
        TokensPage {
            chrome: admin.chrome(auth),
            tab: Tab::Tokens,
            csrf: admin.csrf(),
            found: None,
            unknown: false,
            notice: None,
            error: None,
        }
    }
}

pub async fn form(State(auth): State<AppState>, admin: Administrator) -> Response {
    render(StatusCode::OK, &TokensPage::new(&admin, &auth))
}

#[derive(serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: Option<SecretString>,
}

/// The pasted token, or the page asking for one.
fn pasted(form: TokenForm, page: &mut TokensPage) -> Option<SecretString> {
    match form.token {
        Some(token) if !token.expose_secret().trim().is_empty() => Some(token),
        _ => {
            page.error = Some("Paste a token.".to_owned());
            None
        }
    }
}

pub async fn lookup(
    State(auth): State<AppState>,
    admin: Administrator,
    CsrfForm { form, .. }: CsrfForm<TokenForm>,
) -> Response {
    let mut page = TokensPage::new(&admin, &auth);
    let Some(token) = pasted(form, &mut page) else {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    match tokens::lookup(&auth, token.expose_secret()).await {
        Ok(Some(view)) => page.found = Some(Found::new(view, &token)),
        Ok(None) => page.unknown = true,
        Err(error) => match refusal(&auth, error) {
            Ok(message) => page.error = Some(message),
            Err(response) => return *response,
        },
    }
    render(StatusCode::OK, &page)
}

pub async fn revoke(
    State(auth): State<AppState>,
    admin: Administrator,
    CsrfForm { form, .. }: CsrfForm<TokenForm>,
) -> Response {
    let mut page = TokensPage::new(&admin, &auth);
    let Some(token) = pasted(form, &mut page) else {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    match tokens::revoke(&auth, &admin.origin, token.expose_secret()).await {
        Ok(Some(revocation)) => {
            page.notice = Some(match revocation.revoked {
                crate::oauth::revocation::Revoked::Family => {
                    "The refresh token was revoked with its whole grant family.".to_owned()
                }
                _ => "The access token was revoked.".to_owned(),
            });
            // The state after: looked up again.
            match tokens::lookup(&auth, token.expose_secret()).await {
                Ok(Some(view)) => page.found = Some(Found::new(view, &token)),
                Ok(None) => page.unknown = true,
                Err(error) => match refusal(&auth, error) {
                    Ok(message) => page.error = Some(message),
                    Err(response) => return *response,
                },
            }
        }
        Ok(None) => page.unknown = true,
        Err(error) => match refusal(&auth, error) {
            Ok(message) => page.error = Some(message),
            Err(response) => return *response,
        },
    }
    render(StatusCode::OK, &page)
}
