//! Client authentication at the token, revocation and introspection endpoints:
//! RFC 6749 §2.3.1 — HTTP Basic (`client_secret_basic`) or body parameters (`client_secret_post`),
//! never both ("The client MUST NOT use more than one authentication method in each request").
//!
//! Basic credentials are the form-urlencoded client id and secret joined by `:` and base64
//! encoded. The seed's literal curl sends `Authorization: Basic <b64>, Content-Type: ...` as one
//! header, so the credentials are the token after `Basic` up to the first comma or space, with or
//! without `=` padding.
//!
//! Each endpoint runs its work through [`as_client!`](crate::oauth::client_auth::as_client): a secret this process already
//! verified costs no read of the client row — the row it was verified against comes from the
//! cache, and the endpoint's own statement (the token lookup, the grant's insert, the revocation)
//! is conditioned on that row being unchanged. Any other case loads the row and verifies the
//! secret, as RFC 6749 §2.3.1 asks, before the work runs.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};

use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::password_hash::Hasher;
use crate::store::{ClientRecord, ClientStamp, Store};

const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credentials a client presented, and how.
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: SecretString,
    pub via_basic: bool,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// Reads the credentials from the `Authorization` header value and the body parameters.
    pub fn from_request(authorization: Option<&[u8]>, params: &Params) -> Result<ClientCredentials, OAuthError> {
        let post_secret = params.get("client_secret");
        let post_id = params.get("client_id");
        let Some(header) = authorization else {
            return match (post_id, post_secret) {
                (Some(id), Some(secret)) => Ok(ClientCredentials {
                    client_id: id.to_owned(),
                    secret: SecretString::from(secret.to_owned()),
                    via_basic: false,
                }),
                (None, Some(_)) => Err(OAuthError::invalid_request("`client_secret` was sent without `client_id`")),
                _ => Err(OAuthError::invalid_client("client authentication is required").with_basic_challenge(true)),
            };
        };
        let (client_id, secret) = parse_basic(header).map_err(|e| e.with_basic_challenge(true))?;
        if post_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "the client used more than one authentication method (Basic and client_secret)",
            ));
        }
        if post_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request("`client_id` does not match the Basic credentials"));
        }
        Ok(ClientCredentials { client_id, secret, via_basic: true })
    }
}

fn parse_basic(header: &[u8]) -> Result<(String, SecretString), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let value = std::str::from_utf8(header).map_err(|_| bad())?.trim_start();
    let (scheme, rest) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client("only HTTP Basic client authentication is supported"));
    }
    let encoded = rest.trim_start().split([',', ' ']).next().unwrap_or_default();
    let decoded = BASE64_ANY_PADDING.decode(encoded).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let id = form_decode(id).ok_or_else(bad)?;
    let secret = form_decode(secret).ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, SecretString::from(secret)))
}

/// Reverses `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B).
fn form_decode(s: &str) -> Option<String> {
    let plus_as_space = s.replace('+', " ");
    percent_decode_str(&plus_as_space).decode_utf8().ok().map(|c| c.into_owned())
}

/// A client that presented valid credentials in this request, with the row they were checked
/// against. Either that row was loaded in this request (confirmed), or it came from the
/// verified-secret cache: then it is unconfirmed until a statement conditioned on it (its
/// [`ClientStamp`]) finds it unchanged, and [`as_client!`](crate::oauth::client_auth::as_client) discards any answer reached
/// before that.
pub struct AuthenticatedClient {
    record: Arc<ClientRecord>,
    confirmed: AtomicBool,
}

impl Deref for AuthenticatedClient {
    type Target = ClientRecord;
    fn deref(&self) -> &ClientRecord {
        &self.record
    }
}

impl AuthenticatedClient {
    /// A row read from the database in this request (or by the operator's console).
    pub fn loaded(record: Arc<ClientRecord>) -> AuthenticatedClient {
        AuthenticatedClient { record, confirmed: AtomicBool::new(true) }
    }

    fn cached(record: Arc<ClientRecord>) -> AuthenticatedClient {
        AuthenticatedClient { record, confirmed: AtomicBool::new(false) }
    }

    /// The row as this request saw it, to condition a statement on.
    pub fn stamp(&self) -> ClientStamp<'_> {
        self.record.stamp()
    }

    pub fn is_confirmed(&self) -> bool {
        self.confirmed.load(Ordering::Relaxed)
    }

    /// Takes a conditioned statement's word on whether the row is unchanged. Changed means the
    /// client's registration changed after its row was read: after a cache hit,
    /// [`as_client!`](crate::oauth::client_auth::as_client) runs the request again on the row loaded afresh; after a load (an
    /// operator's change landed mid-request) the request is answered 503 and may be retried.
    pub fn confirm(&self, current: bool) -> Result<(), OAuthError> {
        if !current {
            return Err(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "the client's registration changed during the request; try again",
            ));
        }
        self.confirmed.store(true, Ordering::Relaxed);
        Ok(())
    }
}

/// Authenticates the client: one lookup, then either a cache hit (this very secret was verified
/// against this very row before, see [`super::secret_cache`]) or one argon2id verification
/// (against a dummy hash when the client does not exist, so unknown ids cost the same as wrong
/// secrets). After repeated failures for the id, uncached secrets are refused without argon2id
/// for a short backoff.
#[tracing::instrument(skip_all, fields(client_id = %credentials.client_id))]
pub async fn authenticate(
    store: &Store,
    hasher: &Hasher,
    credentials: &ClientCredentials,
) -> Result<AuthenticatedClient, OAuthError> {
    let client = store.find_client(&credentials.client_id).await?.map(Arc::new);
    let secret = credentials.secret.expose_secret();
    let cache = hasher.secret_cache();
    let client = match client {
        Some(client) if client.disabled_at.is_none() && cache.is_verified(&client, secret) => {
            return Ok(AuthenticatedClient::loaded(client))
        }
        other => other,
    };
    if cache.is_backing_off(&credentials.client_id) {
        tracing::info!("client authentication refused: too many recent failures for this id");
        return Err(failed(credentials));
    }
    let matched = hasher.verify(secret, client.as_ref().map(|c| c.secret_hash.as_str())).await?;
    match client {
        Some(client) if matched && client.disabled_at.is_none() => {
            cache.remember(&client, secret);
            Ok(AuthenticatedClient::loaded(client))
        }
        _ => {
            cache.record_failure(&credentials.client_id);
            tracing::info!("client authentication failed");
            Err(failed(credentials))
        }
    }
}

impl super::Authority {
    /// [`authenticate`] with the failure counted in the metrics.
    pub async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<AuthenticatedClient, OAuthError> {
        let result = authenticate(&self.store, &self.hasher, credentials).await;
        if result.as_ref().is_err_and(|e| e.code == super::ErrorCode::InvalidClient) {
            self.metrics.client_auth_failures.inc();
        }
        result
    }

    /// The client as this process verified the presented secret before, unconfirmed; `None`
    /// when it did not. For [`as_client!`].
    pub fn cached_client(&self, credentials: &ClientCredentials) -> Option<AuthenticatedClient> {
        let cache = self.hasher.secret_cache();
        cache.cached(&credentials.client_id, credentials.secret.expose_secret()).map(AuthenticatedClient::cached)
    }

    /// Confirms the client with a read of its own, for work that must not be done twice before
    /// it is confirmed (the password grant's argon2id verification of the user).
    pub async fn confirm_client(&self, client: &AuthenticatedClient) -> Result<(), OAuthError> {
        if client.is_confirmed() {
            return Ok(());
        }
        let current = self.store.client_is_current(&client.stamp()).await?;
        client.confirm(current)
    }
}

/// `as_client!(authority, &credentials, |client| { work })`: runs an endpoint's work (a block
/// whose value is a `Result<_, OAuthError>`) as the authenticated client.
///
/// When this process verified the presented secret before, the work runs first on the cached
/// row, unread: its statements are conditioned on the row being unchanged, and its answer stands
/// only if one of them confirmed that. Otherwise — nothing cached, the row changed (a new secret,
/// a policy change, disabled, deleted), or the work ended before any statement confirmed the
/// client (an error in the request, a damaged token) — the client is authenticated in full and
/// the work runs on the row loaded. So the work must change nothing before the client is
/// confirmed, and count nothing: its caller counts the answer.
///
/// A macro rather than a function taking an async closure: the future of a generic async
/// closure cannot be shown to be `Send` for every lifetime of its argument, and axum needs that.
macro_rules! as_client {
    ($authority:expr, $credentials:expr, |$client:ident| $work:block) => {{
        let authority: &$crate::oauth::Authority = $authority;
        let credentials: &$crate::oauth::client_auth::ClientCredentials = $credentials;
        let mut answer = None;
        if let Some(cached) = authority.cached_client(credentials) {
            let $client = &cached;
            let result: Result<_, $crate::oauth::OAuthError> = async $work.await;
            if cached.is_confirmed() {
                answer = Some(result);
            }
        }
        match answer {
            Some(answer) => answer,
            None => match authority.authenticate_client(credentials).await {
                Ok(loaded) => {
                    let $client = &loaded;
                    let result: Result<_, $crate::oauth::OAuthError> = async $work.await;
                    result
                }
                Err(error) => Err(error),
            },
        }
    }};
}
pub(crate) use as_client;

fn failed(credentials: &ClientCredentials) -> OAuthError {
    OAuthError::invalid_client("client authentication failed").with_basic_challenge(credentials.via_basic)
}
