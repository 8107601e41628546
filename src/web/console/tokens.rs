//! Generate tokens: an access and a refresh token for one of the user's applications, for the
//! user or for the application itself, with the scopes ticked — the seed's "refresh token that
//! you generate through the UI". The answer shows them once, with the seed's curl commands to
//! refresh and revoke them, filled in for this server and this application.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};

use super::applications::{page_of, AppView};
use super::commands::{self, Credentials, Target};
use super::form::Fields;
use super::{failed, owner, Peer, Section};
use crate::admin::applications::{self, TokenSubject};
use crate::admin::AdminError;
use crate::http::AppState;
use crate::web::session::{CsrfForm, SignedIn};
use crate::web::{render, Chrome};

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    section: Section,
    app: AppView,
    /// For the signed-in user (rather than the application itself).
    for_user: bool,
    access_token: String,
    refresh_token: Option<String>,
    expires_in: i64,
    scope: String,
    refresh_command: Option<String>,
    revoke_command: String,
    /// The commands carry a placeholder instead of the Basic value (no secret was given).
    placeholder: bool,
}

pub async fn generate(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    peer: Peer,
    Path(client_id): Path<String>,
    CsrfForm { form, .. }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(form);
    let owner = owner(&signed_in.user.username, peer);
    let subject = if fields.one("subject") == "application" { TokenSubject::Application } else { TokenSubject::User };
    let secret = Some(fields.one("client_secret")).filter(|s| !s.is_empty()).map(SecretString::from);
    let refuse = |message: String| {
        let auth = auth.clone();
        let owner = owner.clone();
        let client_id = client_id.clone();
        let signed_in = &signed_in;
        async move {
            let errors = (None, Some(message), None, None);
            page_of(&auth, signed_in, &owner, &client_id, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
    };
    let client = match applications::find(&auth, &owner, &client_id).await {
        Ok(client) => client,
        Err(error) => return failed(&auth.settings, error),
    };
    // The secret only fills the commands; a wrong one is said before any token is made.
    if let Some(secret) = &secret {
        match applications::verify_secret(&auth, &owner, &client_id, secret).await {
            Ok(true) => {}
            Ok(false) => return refuse("That is not this application's current secret.".into()).await,
            Err(error) => return failed(&auth.settings, error),
        }
    }
    let issued = match applications::issue_tokens(&auth, &owner, &client_id, subject, &fields.all("scope")).await {
        Ok(issued) => issued,
        Err(AdminError::Invalid(message)) => return refuse(message).await,
        Err(error) => return failed(&auth.settings, error),
    };
    let issuer = auth.issuer();
    let target = Target { issuer: &issuer, insecure: auth.settings.tls.self_signed };
    let credentials = match &secret {
        _ if client.public => Credentials::Public { client_id: &client.client_id },
        Some(secret) => Credentials::Basic { client_id: &client.client_id, secret: secret.expose_secret() },
        None => Credentials::Placeholder,
    };
    let access_token = issued.access_token.expose_secret().to_owned();
    let refresh_token = issued.refresh_token.as_ref().map(|r| r.expose_secret().to_owned());
    let page = TokensPage {
        chrome: Chrome::new(&auth.settings, Some(&signed_in.user)),
        section: Section::Applications,
        for_user: subject == TokenSubject::User,
        refresh_command: refresh_token.as_deref().map(|r| commands::refresh(&target, &credentials, r, &issued.scope)),
        revoke_command: commands::revoke(&target, &credentials, &access_token),
        placeholder: matches!(credentials, Credentials::Placeholder),
        app: AppView::new(&client),
        access_token,
        refresh_token,
        expires_in: issued.expires_in,
        scope: issued.scope,
    };
    render(StatusCode::OK, &page)
}
