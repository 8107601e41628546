//! Issuing tokens for a successful grant: mint an access token (and a refresh token when the
//! client may use the refresh_token grant — the seed: refresh tokens are issued for every grant
//! type but implicit), store their digests under a new grant family, and build the RFC 6749 §5.1
//! response.

use secrecy::{ExposeSecret, SecretString};
use serde::ser::SerializeStruct;
use serde::Serialize;

use super::client_auth::AuthenticatedClient;
use super::error::OAuthError;
use super::policy::Policy;
use super::scope::Scope;
use super::token_format::{mint, Minted};
use super::{Authority, GrantType};
use crate::clock::UnixTime;
use crate::store::{NewFamily, NewToken, TokenKind};

/// A successful token response (RFC 6749 §5.1). Holds live tokens, so Debug shows none of them.
#[derive(Clone)]
pub struct TokenResponse {
    pub access_token: SecretString,
    pub expires_in: i64,
    pub refresh_token: Option<SecretString>,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Serialize for TokenResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("TokenResponse", 5)?;
        out.serialize_field("access_token", self.access_token.expose_secret())?;
        out.serialize_field("token_type", "Bearer")?;
        out.serialize_field("expires_in", &self.expires_in)?;
        if let Some(refresh) = &self.refresh_token {
            out.serialize_field("refresh_token", refresh.expose_secret())?;
        }
        out.serialize_field("scope", &self.scope)?;
        out.end()
    }
}

/// What a grant handler has established and wants issued.
pub struct Grant<'a> {
    pub client: &'a AuthenticatedClient,
    pub grant_type: GrantType,
    pub username: Option<&'a str>,
    pub scope: &'a Scope,
}

/// Lifetimes of a new token pair, capped by the family's absolute end.
pub struct Expiries {
    pub access: UnixTime,
    pub refresh: UnixTime,
}

impl Expiries {
    pub(crate) fn new(policy: &Policy, now: UnixTime, family_expires_at: Option<UnixTime>) -> Expiries {
        let cap = family_expires_at.unwrap_or(UnixTime::MAX);
        Expiries {
            access: (now + policy.access_lifetime_secs).min(cap),
            refresh: (now + policy.refresh_lifetime_secs).min(cap),
        }
    }
}

impl Authority {
    /// Issues a new grant family with its first tokens — only while the client row is the one the
    /// grant was decided on (the insert is conditioned on it, and confirms it).
    pub async fn issue(&self, grant: Grant<'_>) -> Result<TokenResponse, OAuthError> {
        let now = self.clock.now();
        let policy = Policy::for_client(&self.settings.tokens, grant.client);
        let family_lifetime = policy.family_lifetime_secs;
        let family_expires_at = (family_lifetime > 0).then(|| now + family_lifetime);
        let expiries = Expiries::new(&policy, now, family_expires_at);
        let scope = grant.scope.to_string();
        let family_id = uuid::Uuid::new_v4().simple().to_string();
        let with_refresh = grant.client.grant_types.iter().any(|g| g == GrantType::RefreshToken.as_str())
            && (grant.grant_type != GrantType::ClientCredentials || policy.client_credentials_refresh);

        let access = mint(TokenKind::Access);
        let refresh = with_refresh.then(|| mint(TokenKind::Refresh));
        let access_row = NewToken {
            digest: &access.digest,
            kind: TokenKind::Access,
            scope: &scope,
            issued_at: now,
            expires_at: expiries.access,
            access_digest: None,
        };
        let refresh_row = refresh.as_ref().map(|r| NewToken {
            digest: &r.digest,
            kind: TokenKind::Refresh,
            scope: &scope,
            issued_at: now,
            expires_at: expiries.refresh,
            access_digest: Some(&access.digest),
        });
        let family = NewFamily {
            family_id: &family_id,
            client: grant.client.stamp(),
            username: grant.username,
            grant_type: grant.grant_type.as_str(),
            scope: &scope,
            created_at: now,
            expires_at: family_expires_at,
        };
        let inserted = self.store.insert_grant(&family, &access_row, refresh_row.as_ref()).await?;
        grant.client.confirm(inserted)?;
        self.metrics.issued(grant.grant_type.as_str());
        tracing::info!(family_id = %family_id, refresh = with_refresh, "tokens issued");
        Ok(response(access, expiries.access - now, refresh, scope))
    }
}

pub(crate) fn response(access: Minted, expires_in: i64, refresh: Option<Minted>, scope: String) -> TokenResponse {
    TokenResponse { access_token: access.token, expires_in, refresh_token: refresh.map(|r| r.token), scope }
}
