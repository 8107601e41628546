//! A user's own clients — the console's "Applications" — and the tokens they generate for them:
//! the self-service rules, over the functions of [`clients`] and [`tokens`] that the CLI and the
//! admin API call (so validation, secret hashing, cache invalidation and events stay there).
//!
//! The rules kept here:
//! - a user reaches only the clients they own; any other client answers as an unknown one does
//!   (not found), so the console tells nobody which ids exist;
//! - a user's application may hold only the scopes the operator offers (`console.allowed_scopes`),
//!   all of them when the user names none;
//! - the console registers what a developer portal offers — a name, grant types, redirect URIs,
//!   confidential or public, scopes — and nothing that is the operator's to grant: no chosen id or
//!   imported secret, no introspection of other clients' tokens, no first-party standing (which
//!   would skip users' consent), PKCE always, the server's token policy;
//! - tokens are generated for the signed-in user or, where the application may use the
//!   client_credentials grant, for the application itself; never for another user.

use std::net::IpAddr;

use secrecy::SecretString;

use super::clients::{self, ClientChanges, ClientListFilter, ClientSpec, CreatedClient};
use super::page::{Page, PageRequest};
use super::{tokens, users, Actor, AdminError, Origin};
use crate::oauth::client_auth::ClientCredentials;
use crate::oauth::scope::Scope;
use crate::oauth::{Authority, ErrorCode, GrantType, TokenResponse};
use crate::store::ClientRecord;

/// A signed-in user acting on their own applications, and the address they act from.
#[derive(Debug, Clone)]
pub struct Owner {
    pub username: String,
    pub peer: Option<IpAddr>,
}

impl Owner {
    pub fn new(username: impl Into<String>, peer: Option<IpAddr>) -> Owner {
        Owner { username: username.into(), peer }
    }

    /// Who the security events of their actions name.
    pub fn origin(&self) -> Origin {
        Origin { actor: Actor::User(self.username.clone()), peer: self.peer }
    }
}

/// An application as a user registers it.
#[derive(Debug, Default, Clone)]
pub struct ApplicationSpec {
    pub name: String,
    /// authorization_code, client_credentials, password, refresh_token.
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    /// A public client (no secret): authorization_code and refresh_token only.
    pub public: bool,
    /// Among `console.allowed_scopes`; all of them when empty.
    pub scopes: Vec<String>,
}

/// Changes a user may make to their application; `None` leaves an attribute as it is.
#[derive(Debug, Default, Clone)]
pub struct ApplicationChanges {
    pub name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    /// Among `console.allowed_scopes`; they become the default scopes too.
    pub scopes: Option<Vec<String>>,
}

/// Whom generated tokens are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSubject {
    /// The signed-in user: a grant family of theirs, with a refresh token, as the password grant
    /// issues but without their password (they are signed in).
    User,
    /// The application itself, as the client_credentials grant issues.
    Application,
}

/// A page of the user's applications, by client id.
pub async fn page(auth: &Authority, owner: &Owner, request: &PageRequest) -> Result<Page<ClientRecord>, AdminError> {
    let filter = ClientListFilter { owner: Some(owner.username.clone()), ..ClientListFilter::default() };
    clients::page(auth, &filter, request).await
}

/// The user's application `client_id`; not found when it is not theirs.
pub async fn find(auth: &Authority, owner: &Owner, client_id: &str) -> Result<ClientRecord, AdminError> {
    match clients::find(auth, client_id).await {
        Ok(client) if client.owner.as_deref() == Some(owner.username.as_str()) => Ok(client),
        // The same answer as for an id that does not exist.
        Ok(_) => Err(AdminError::NotFound(format!("client {client_id}"))),
        Err(e) => Err(e),
    }
}

/// Registers an application owned by the user; its secret (none for a public client) is in the
/// answer, this once.
pub async fn create(auth: &Authority, owner: &Owner, spec: ApplicationSpec) -> Result<CreatedClient, AdminError> {
    ensure_active(auth, owner).await?;
    let scopes = allowed_scopes(auth, &spec.scopes)?;
    clients::create(
        auth,
        ClientSpec {
            name: spec.name,
            grant_types: spec.grant_types,
            scopes,
            redirect_uris: spec.redirect_uris,
            public: spec.public,
            owner: Some(owner.username.clone()),
            ..ClientSpec::default()
        },
    )
    .await
}

/// Changes the user's application and returns it as stored.
pub async fn update(
    auth: &Authority,
    owner: &Owner,
    client_id: &str,
    changes: ApplicationChanges,
) -> Result<ClientRecord, AdminError> {
    find(auth, owner, client_id).await?;
    let scopes = changes.scopes.map(|s| allowed_scopes(auth, &s)).transpose()?;
    let changes = ClientChanges {
        name: changes.name,
        grant_types: changes.grant_types,
        redirect_uris: changes.redirect_uris,
        default_scopes: scopes.clone(),
        scopes,
        ..ClientChanges::default()
    };
    clients::update(auth, client_id, changes).await
}

/// Deletes the user's application with every token issued to it. Recorded as a security event.
pub async fn delete(auth: &Authority, owner: &Owner, client_id: &str) -> Result<(), AdminError> {
    find(auth, owner, client_id).await?;
    clients::delete(auth, &owner.origin(), client_id).await
}

/// Gives the user's application a new secret, returned this once; the old one stops working at
/// once. Recorded as a security event.
pub async fn rotate_secret(auth: &Authority, owner: &Owner, client_id: &str) -> Result<SecretString, AdminError> {
    find(auth, owner, client_id).await?;
    clients::rotate_secret(auth, &owner.origin(), client_id, false).await
}

/// Revokes every token issued to the user's application (a leaked token, or a clean slate).
/// Returns the grants revoked. Recorded as a security event.
pub async fn revoke_tokens(auth: &Authority, owner: &Owner, client_id: &str) -> Result<u64, AdminError> {
    find(auth, owner, client_id).await?;
    clients::revoke_tokens(auth, &owner.origin(), client_id).await
}

/// Generates an access and a refresh token for the user's application, for `subject`, with
/// `scopes` among the application's (its default scopes when empty). The tokens are in the answer,
/// this once. Recorded as a security event.
pub async fn issue_tokens(
    auth: &Authority,
    owner: &Owner,
    client_id: &str,
    subject: TokenSubject,
    scopes: &[String],
) -> Result<TokenResponse, AdminError> {
    let client = find(auth, owner, client_id).await?;
    let username = match subject {
        TokenSubject::User => Some(owner.username.as_str()),
        // RFC 6749 §4.4: the client's own tokens are the client_credentials grant's, which only a
        // confidential client allowed that grant may use.
        TokenSubject::Application if !client.may_use(GrantType::ClientCredentials) => {
            return Err(AdminError::Invalid(
                "tokens for the application itself need the client_credentials grant".into(),
            ));
        }
        TokenSubject::Application => None,
    };
    ensure_active(auth, owner).await?;
    tokens::issue(auth, &owner.origin(), client_id, username, scopes).await
}

/// Whether `secret` is the current secret of the user's application, checked as the token
/// endpoint checks one (failures count towards its backoff alike). The console asks for it to
/// write the Basic value into the curl commands it shows: oauthd keeps only the secret's hash.
pub async fn verify_secret(
    auth: &Authority,
    owner: &Owner,
    client_id: &str,
    secret: &SecretString,
) -> Result<bool, AdminError> {
    if find(auth, owner, client_id).await?.public {
        return Ok(false);
    }
    let credentials =
        ClientCredentials { client_id: client_id.to_owned(), secret: Some(secret.clone()), via_basic: true };
    match auth.authenticate_client(&credentials).await {
        Ok(_) => Ok(true),
        Err(e) if e.code == ErrorCode::InvalidClient => Ok(false),
        Err(e) => Err(AdminError::Other(e.into())),
    }
}

/// Refuses a user who no longer exists or was disabled since they signed in.
async fn ensure_active(auth: &Authority, owner: &Owner) -> Result<(), AdminError> {
    if users::find(auth, &owner.username).await?.disabled_at.is_some() {
        return Err(AdminError::Invalid(format!("user {} is disabled", owner.username)));
    }
    Ok(())
}

/// `requested` when each is among `console.allowed_scopes`; all of those when none is requested.
fn allowed_scopes(auth: &Authority, requested: &[String]) -> Result<Vec<String>, AdminError> {
    let allowed = &auth.settings.console.allowed_scopes;
    let requested = Scope::parse(&requested.join(" "))
        .map_err(|_| AdminError::Invalid("the scopes are not valid scope tokens".into()))?;
    if requested.is_empty() {
        return Ok(allowed.clone());
    }
    if !requested.is_subset(&Scope::from_list(allowed)) {
        return Err(AdminError::Invalid(format!(
            "an application registered in the console may hold only these scopes: {}",
            allowed.join(" ")
        )));
    }
    Ok(requested.to_string().split(' ').map(str::to_owned).collect())
}
