//! Creating, listing, showing, changing, disabling and deleting clients, rotating their secrets,
//! revoking their tokens, and the registration rules every creation and change passes
//! ([`check_registration`]; redirect URIs themselves are checked by `oauth::redirect_uri`). The
//! CLI, the admin API and the console come through here.

use std::ops::RangeInclusive;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use super::page::{Page, PageRequest};
use super::{check_filter_keys, check_key, hash_secret, is_vschar_text, AdminError, Origin};
use crate::config::{MAX_LIFETIME_SECS, MAX_REPLAY_WINDOW_SECS};
use crate::oauth::events::SecurityEvent;
use crate::oauth::redirect_uri;
use crate::oauth::scope::Scope;
use crate::oauth::{Authority, GrantType};
use crate::store::{ClientFilter, ClientRecord, ClientUpdate, EventKind, NewClient, StoreError};

/// What an operator asks for when creating a client.
#[derive(Debug, Default, Clone)]
pub struct ClientSpec {
    /// A chosen id (for migrating existing clients); generated when `None`.
    pub client_id: Option<String>,
    pub name: String,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    /// Scopes granted when a request names none; all of `scopes` when `None`.
    pub default_scopes: Option<Vec<String>>,
    /// An existing secret to import (for migrating clients); generated when `None`.
    pub secret: Option<SecretString>,
    /// A resource server: may introspect tokens issued to any client.
    pub introspect: bool,
    /// Where authorization responses may go (the authorization_code grant needs one at least).
    pub redirect_uris: Vec<String>,
    /// A public client (`token_endpoint_auth_method` "none"): no secret is generated or accepted.
    pub public: bool,
    /// Let authorization requests go without PKCE (confidential clients only).
    pub pkce_optional: bool,
    /// A first-party client: the user's consent is implicit.
    pub first_party: bool,
    /// The user who may manage it in the console (an existing username); `None`: the operator's.
    pub owner: Option<String>,
}

/// Changes to a client; `None` leaves an attribute as it is. For policy values, `Some(None)`
/// returns the attribute to the server-wide default.
#[derive(Debug, Default, Clone)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub default_scopes: Option<Vec<String>>,
    pub introspect: Option<bool>,
    pub access_lifetime_secs: Option<Option<i64>>,
    pub refresh_lifetime_secs: Option<Option<i64>>,
    pub family_lifetime_secs: Option<Option<i64>>,
    pub rotate_refresh_tokens: Option<Option<bool>>,
    pub replay_window_secs: Option<Option<i64>>,
    pub client_credentials_refresh: Option<Option<bool>>,
    /// Replaces the registered redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    pub pkce_required: Option<bool>,
    pub first_party: Option<bool>,
}

/// The result of creating a client: the secret is shown this once and never stored. A public
/// client has none.
pub struct CreatedClient {
    pub client: ClientRecord,
    pub client_secret: Option<SecretString>,
}

/// Most redirect URIs one client may register.
const MAX_REDIRECT_URIS: usize = 50;

/// Shortest imported secret accepted; generated secrets are 43 characters (256 bits).
const MIN_IMPORTED_SECRET: usize = 16;

pub async fn create(auth: &Authority, spec: ClientSpec) -> Result<CreatedClient, AdminError> {
    let client_id = match spec.client_id {
        Some(id) => {
            if id.is_empty() || id.len() > 255 || !is_vschar_text(&id) {
                return Err(AdminError::Invalid("client id must be 1-255 printable ASCII characters".into()));
            }
            id
        }
        None => new_client_id(),
    };
    if spec.name.trim().is_empty() {
        return Err(AdminError::Invalid("a client needs a --name".into()));
    }
    validate_name(&spec.name)?;
    let grant_types = validate_grant_types(&spec.grant_types)?;
    let scopes = validate_scopes(&spec.scopes)?;
    let default_scopes = match spec.default_scopes {
        Some(d) => validate_scopes(&d)?,
        None => scopes.clone(),
    };
    if !Scope::from_list(&default_scopes).is_subset(&Scope::from_list(&scopes)) {
        return Err(AdminError::Invalid("default scopes must be among the client's scopes".into()));
    }
    let redirect_uris = validate_redirect_uris(&spec.redirect_uris)?;
    if let Some(owner) = &spec.owner {
        super::users::find(auth, owner).await.map_err(|e| match e {
            AdminError::NotFound(_) => unknown_owner(owner),
            e => e,
        })?;
    }
    let pkce_required = !spec.pkce_optional;
    check_registration(&Registration {
        public: spec.public,
        grant_types: &grant_types,
        redirect_uris: &redirect_uris,
        pkce_required,
        introspect: spec.introspect,
    })?;
    let secret = match spec.secret {
        Some(_) if spec.public => {
            return Err(AdminError::Invalid("a public client has no secret: it cannot import one".into()))
        }
        None if spec.public => None,
        Some(s) => {
            let text = s.expose_secret();
            if text.len() < MIN_IMPORTED_SECRET || text.len() > 512 || !is_vschar_text(text) {
                return Err(AdminError::Invalid(format!(
                    "an imported secret must be {MIN_IMPORTED_SECRET}-512 printable ASCII characters"
                )));
            }
            Some(s)
        }
        None => Some(SecretString::from(random_text(32))),
    };
    // A public client's hash stays empty: client authentication never verifies a secret for it.
    let secret_hash = match &secret {
        Some(secret) => hash_secret(auth, secret).await?,
        None => String::new(),
    };
    let now = auth.clock.now();
    let new = NewClient {
        client_id: &client_id,
        name: spec.name.trim(),
        secret_hash: &secret_hash,
        grant_types: &grant_types,
        scopes: &scopes,
        default_scopes: &default_scopes,
        redirect_uris: &redirect_uris,
        public: spec.public,
        pkce_required,
        first_party: spec.first_party,
        owner: spec.owner.as_deref(),
        now,
    };
    auth.store.insert_client(&new).await.map_err(|e| match e {
        StoreError::Duplicate => AdminError::AlreadyExists(format!("client {client_id}")),
        // The owner was deleted since it was looked up.
        StoreError::Gone => unknown_owner(spec.owner.as_deref().unwrap_or_default()),
        e => e.into(),
    })?;
    if spec.introspect {
        update(auth, &client_id, ClientChanges { introspect: Some(true), ..ClientChanges::default() }).await?;
    }
    let client = find(auth, &client_id).await?;
    Ok(CreatedClient { client, client_secret: secret })
}

/// Applies changes to a client and returns it as stored. Tokens already issued keep the expiry
/// they were issued with; the new policy applies from the next grant or refresh.
pub async fn update(auth: &Authority, client_id: &str, changes: ClientChanges) -> Result<ClientRecord, AdminError> {
    let current = find(auth, client_id).await?;
    let name = changes.name.unwrap_or(current.name);
    if name.trim().is_empty() {
        return Err(AdminError::Invalid("a client needs a name".into()));
    }
    validate_name(&name)?;
    let grant_types = match changes.grant_types {
        Some(g) => validate_grant_types(&g)?,
        None => current.grant_types,
    };
    let scopes = match changes.scopes {
        Some(s) => validate_scopes(&s)?,
        None => current.scopes,
    };
    let default_scopes = match changes.default_scopes {
        Some(d) => validate_scopes(&d)?,
        None => current.default_scopes.into_iter().filter(|d| scopes.contains(d)).collect(),
    };
    if !Scope::from_list(&default_scopes).is_subset(&Scope::from_list(&scopes)) {
        return Err(AdminError::Invalid("default scopes must be among the client's scopes".into()));
    }
    let redirect_uris = match changes.redirect_uris {
        Some(uris) => validate_redirect_uris(&uris)?,
        None => current.redirect_uris,
    };
    let pkce_required = changes.pkce_required.unwrap_or(current.pkce_required);
    let introspect = changes.introspect.unwrap_or(current.introspect);
    check_registration(&Registration {
        public: current.public,
        grant_types: &grant_types,
        redirect_uris: &redirect_uris,
        pkce_required,
        introspect,
    })?;
    let mut policy = current.policy;
    let set = |target: &mut Option<i64>, change: Option<Option<i64>>, what: &str, range: RangeInclusive<i64>| {
        if let Some(value) = change {
            if value.is_some_and(|v| !range.contains(&v)) {
                let (min, max) = range.into_inner();
                return Err(AdminError::Invalid(format!("{what} must be between {min} and {max} seconds")));
            }
            *target = value;
        }
        Ok(())
    };
    let lifetime = |min| min..=MAX_LIFETIME_SECS;
    set(&mut policy.access_lifetime_secs, changes.access_lifetime_secs, "the access token lifetime", lifetime(1))?;
    set(&mut policy.refresh_lifetime_secs, changes.refresh_lifetime_secs, "the refresh token lifetime", lifetime(1))?;
    set(&mut policy.family_lifetime_secs, changes.family_lifetime_secs, "the family lifetime", lifetime(0))?;
    // The same bound as tokens.replay_window_secs (README, security notes).
    let window = 0..=MAX_REPLAY_WINDOW_SECS;
    set(&mut policy.replay_window_secs, changes.replay_window_secs, "the replay window", window)?;
    if let Some(rotate) = changes.rotate_refresh_tokens {
        policy.rotate_refresh_tokens = rotate;
    }
    if let Some(issue) = changes.client_credentials_refresh {
        policy.client_credentials_refresh = issue;
    }
    let update = ClientUpdate {
        name: name.trim(),
        grant_types: &grant_types,
        scopes: &scopes,
        default_scopes: &default_scopes,
        policy: &policy,
        introspect,
        redirect_uris: &redirect_uris,
        pkce_required,
        first_party: changes.first_party.unwrap_or(current.first_party),
        now: auth.clock.now(),
    };
    if !auth.store.update_client(client_id, &update).await? {
        return Err(AdminError::NotFound(format!("client {client_id}")));
    }
    find(auth, client_id).await
}

/// Disables a client — it can no longer authenticate and every token issued to it is revoked —
/// or enables it again (revoked tokens stay revoked). Recorded as a security event.
pub async fn set_disabled(
    auth: &Authority,
    origin: &Origin,
    client_id: &str,
    disabled: bool,
) -> Result<(), AdminError> {
    let now = auth.clock.now();
    if !is_known_key(client_id) || !auth.store.set_client_disabled(client_id, disabled.then_some(now), now).await? {
        return Err(not_found(client_id));
    }
    let event = if disabled {
        let grants = auth.store.revoke_client_families(client_id, now).await?;
        SecurityEvent::new(EventKind::ClientDisabled, origin).detail(format!("{grants} grants revoked"))
    } else {
        SecurityEvent::new(EventKind::ClientEnabled, origin)
    };
    auth.record_security_event(event.client(client_id)).await;
    Ok(())
}

/// Revokes every token issued to a client (after a leaked secret). Returns the grants revoked.
/// Recorded as a security event.
pub async fn revoke_tokens(auth: &Authority, origin: &Origin, client_id: &str) -> Result<u64, AdminError> {
    find(auth, client_id).await?;
    let grants = auth.store.revoke_client_families(client_id, auth.clock.now()).await?;
    let event = SecurityEvent::new(EventKind::ClientTokensRevoked, origin).client(client_id);
    auth.record_security_event(event.detail(format!("{grants} grants revoked"))).await;
    Ok(grants)
}

pub async fn find(auth: &Authority, client_id: &str) -> Result<ClientRecord, AdminError> {
    if !is_known_key(client_id) {
        return Err(not_found(client_id));
    }
    let found = auth.store.find_client(client_id).await?;
    found.map(std::sync::Arc::unwrap_or_clone).ok_or_else(|| not_found(client_id))
}

pub async fn list(auth: &Authority) -> Result<Vec<ClientRecord>, AdminError> {
    Ok(auth.store.list_clients().await?)
}

/// Which clients [`page`] lists; `None` matches any.
#[derive(Debug, Default, Clone)]
pub struct ClientListFilter {
    pub disabled: Option<bool>,
    /// Clients allowed this grant type.
    pub grant_type: Option<String>,
    /// Clients allowed this scope (one scope token).
    pub scope: Option<String>,
    /// Clients this user owns.
    pub owner: Option<String>,
}

/// A page of clients matching `filter`, by client id.
pub async fn page(
    auth: &Authority,
    filter: &ClientListFilter,
    request: &PageRequest,
) -> Result<Page<ClientRecord>, AdminError> {
    let grant_type = match filter.grant_type.as_deref() {
        Some(g) => validate_grant_types(&[g.to_owned()])?.into_iter().next(),
        None => None,
    };
    let scope = match filter.scope.as_deref() {
        Some(s) if Scope::parse(s).is_err() || s.contains(' ') || s.is_empty() => {
            return Err(AdminError::Invalid("scope must be one scope token".into()))
        }
        other => other,
    };
    let after: Option<String> = request.after()?;
    check_filter_keys(&[("owner", &filter.owner)])?;
    let store_filter = ClientFilter { disabled: filter.disabled, grant_type, scope, owner: filter.owner.as_deref() };
    let rows = auth.store.list_clients_page(store_filter, after.as_deref(), request.fetch()).await?;
    Ok(Page::from_rows(rows, request, |c| c.client_id.clone()))
}

/// Deletes a client; its grant families and tokens go with it. Recorded as a security event.
pub async fn delete(auth: &Authority, origin: &Origin, client_id: &str) -> Result<(), AdminError> {
    if !is_known_key(client_id) || !auth.store.delete_client(client_id).await? {
        return Err(not_found(client_id));
    }
    auth.record_security_event(SecurityEvent::new(EventKind::ClientDeleted, origin).client(client_id)).await;
    Ok(())
}

/// Generates and stores a new secret; the old one stops working at once. Tokens already issued
/// stay valid unless `revoke_tokens`. Recorded as a security event.
pub async fn rotate_secret(
    auth: &Authority,
    origin: &Origin,
    client_id: &str,
    revoke_tokens: bool,
) -> Result<SecretString, AdminError> {
    if find(auth, client_id).await?.public {
        return Err(AdminError::Invalid(format!("client {client_id} is public: it has no secret to rotate")));
    }
    let secret = SecretString::from(random_text(32));
    let hash = hash_secret(auth, &secret).await?;
    let now = auth.clock.now();
    if !is_known_key(client_id) || !auth.store.set_client_secret(client_id, &hash, now).await? {
        return Err(not_found(client_id));
    }
    let mut event = SecurityEvent::new(EventKind::ClientSecretRotated, origin).client(client_id);
    if revoke_tokens {
        let grants = auth.store.revoke_client_families(client_id, now).await?;
        event = event.detail(format!("{grants} grants revoked"));
    }
    auth.record_security_event(event).await;
    Ok(secret)
}

fn unknown_owner(owner: &str) -> AdminError {
    AdminError::Invalid(format!("the owner {owner:?} is not a user"))
}

fn not_found(client_id: &str) -> AdminError {
    AdminError::NotFound(format!("client {client_id}"))
}

/// Whether `client_id` could name a stored client (a client id is printable ASCII); anything else
/// is not found, without a query.
fn is_known_key(client_id: &str) -> bool {
    check_key("a client id", client_id).is_ok()
}

/// A client's name: shown to people, so printable — no control characters — and at most 255
/// characters.
fn validate_name(name: &str) -> Result<(), AdminError> {
    check_key("a client name", name)?;
    if name.chars().count() > 255 {
        return Err(AdminError::Invalid("a client name must be at most 255 characters".into()));
    }
    Ok(())
}

fn validate_grant_types(grant_types: &[String]) -> Result<Vec<GrantType>, AdminError> {
    if grant_types.is_empty() {
        return Err(AdminError::Invalid("a client needs at least one --grant-type".into()));
    }
    let mut out = Vec::new();
    for g in grant_types {
        let Some(grant) = GrantType::parse(g) else {
            let known: Vec<_> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
            return Err(AdminError::Invalid(format!("unknown grant type {g:?}; known: {}", known.join(", "))));
        };
        if !out.contains(&grant) {
            out.push(grant);
        }
    }
    Ok(out)
}

/// What the registration rules look at: the client as it would be stored.
struct Registration<'a> {
    public: bool,
    grant_types: &'a [GrantType],
    redirect_uris: &'a [String],
    pkce_required: bool,
    introspect: bool,
}

/// The rules a client's registration must keep, checked on every creation and change.
fn check_registration(r: &Registration<'_>) -> Result<(), AdminError> {
    let invalid = |message: String| Err(AdminError::Invalid(message));
    if r.public {
        // RFC 6749 §4.3.2 and §4.4.2: these grants need an authenticated (confidential) client.
        if let Some(grant) =
            r.grant_types.iter().find(|g| matches!(g, GrantType::ClientCredentials | GrantType::Password))
        {
            return invalid(format!(
                "a public client cannot use the {} grant: it has no secret to authenticate with",
                grant.as_str()
            ));
        }
        // RFC 9700 §2.1.1: "Public clients MUST use PKCE".
        if !r.pkce_required {
            return invalid(
                "PKCE can be made optional for confidential clients only; public clients must use it".into(),
            );
        }
        if r.introspect {
            return invalid("a public client cannot be a resource server (--introspect): it has no secret".into());
        }
    }
    if r.grant_types.contains(&GrantType::AuthorizationCode) && r.redirect_uris.is_empty() {
        return invalid("a client allowed the authorization_code grant needs at least one --redirect-uri".into());
    }
    Ok(())
}

/// Checks each redirect URI (`oauth::redirect_uri::validate`), dropping repeats.
fn validate_redirect_uris(uris: &[String]) -> Result<Vec<String>, AdminError> {
    let mut out: Vec<String> = Vec::new();
    for uri in uris {
        redirect_uri::validate(uri)
            .map_err(|problem| AdminError::Invalid(format!("redirect URI {uri:?}: {problem}")))?;
        if !out.contains(uri) {
            out.push(uri.clone());
        }
    }
    if out.len() > MAX_REDIRECT_URIS {
        return Err(AdminError::Invalid(format!("a client may register at most {MAX_REDIRECT_URIS} redirect URIs")));
    }
    Ok(out)
}

fn validate_scopes(scopes: &[String]) -> Result<Vec<String>, AdminError> {
    let joined = scopes.join(" ");
    let scope = Scope::parse(&joined).map_err(|_| AdminError::Invalid(format!("invalid scope in {joined:?}")))?;
    Ok(scope.to_string().split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

/// `bytes` random bytes from the OS CSPRNG as URL-safe base64.
/// A generated client id: 128 random bits, base64url, starting with a letter or digit — an id
/// starting with `-` would read as an option on every command line that names it
/// (`oauthd client show -x…`, `curl -u`).
fn new_client_id() -> String {
    loop {
        let id = random_text(16);
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return id;
        }
    }
}

pub(crate) fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod generated_id_tests {
    use super::new_client_id;

    #[test]
    fn generated_client_ids_never_start_with_a_dash_or_underscore() {
        for _ in 0..2000 {
            let id = new_client_id();
            assert_eq!(id.len(), 22);
            assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
        }
    }
}
