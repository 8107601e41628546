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
use super::token_format::mint;
use super::{Authority, GrantType};
use crate::clock::UnixTime;
use crate::store::{NewFamily, NewGrant, NewToken, TokenKind};

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
            access: now.saturating_add(policy.access_lifetime_secs).min(cap),
            refresh: now.saturating_add(policy.refresh_lifetime_secs).min(cap),
        }
    }
}

/// Tokens just minted: the RFC 6749 §5.1 answer that hands them out once, and the rows that store
/// their digests.
pub(crate) struct FreshTokens {
    pub answer: TokenResponse,
    pub access: NewToken,
    pub refresh: Option<NewToken>,
}

impl FreshTokens {
    /// Mints an access token for `access_scope` and, when `refresh_scope` is given, a refresh token
    /// issued with it. The one place token rows are built, for every grant, rotation and refresh.
    pub(crate) fn mint(
        now: UnixTime,
        expiries: &Expiries,
        access_scope: String,
        refresh_scope: Option<String>,
    ) -> FreshTokens {
        let access = mint(TokenKind::Access);
        let access_row = NewToken {
            digest: access.digest,
            kind: TokenKind::Access,
            scope: access_scope.clone(),
            issued_at: now,
            expires_at: expiries.access,
            access_digest: None,
        };
        let (refresh, refresh_row) = match refresh_scope {
            Some(scope) => {
                let refresh = mint(TokenKind::Refresh);
                let row = NewToken {
                    digest: refresh.digest,
                    kind: TokenKind::Refresh,
                    scope,
                    issued_at: now,
                    expires_at: expiries.refresh,
                    access_digest: Some(access.digest),
                };
                (Some(refresh.token), Some(row))
            }
            None => (None, None),
        };
        let answer = TokenResponse {
            access_token: access.token,
            expires_in: expiries.access - now,
            refresh_token: refresh,
            scope: access_scope,
        };
        FreshTokens { answer, access: access_row, refresh: refresh_row }
    }
}

/// A new grant family with its first tokens, ready to be stored, and the answer to send once it is.
pub(crate) struct PreparedGrant<'a> {
    pub grant: NewGrant<'a>,
    pub answer: TokenResponse,
}

/// A grant family just issued, and the answer that hands its tokens out once.
pub(crate) struct IssuedFamily {
    pub answer: TokenResponse,
    pub family_id: String,
}

/// A fresh grant family id.
pub(crate) fn new_family_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Authority {
    /// Issues a new grant family with its first tokens.
    pub async fn issue(&self, grant: Grant<'_>) -> Result<TokenResponse, OAuthError> {
        Ok(self.issue_family(grant).await?.answer)
    }

    /// [`Authority::issue`], saying which grant family it created (for the security event of
    /// tokens issued from the console).
    pub(crate) async fn issue_family(&self, grant: Grant<'_>) -> Result<IssuedFamily, OAuthError> {
        let now = self.clock.now();
        let family_id = new_family_id();
        let scope = grant.scope.to_string();
        let prepared = self.prepare_grant(&grant, &family_id, &scope, now);
        self.store.insert_grant(&prepared.grant).await?;
        self.issued(grant.grant_type, &family_id, prepared.grant.refresh.is_some());
        Ok(IssuedFamily { answer: prepared.answer, family_id })
    }

    /// Mints the tokens of a new grant family `family_id` with `scope` (the grant's, as text) and
    /// builds its rows, without storing them: [`Authority::issue`] stores them as they are, the
    /// authorization_code grant with the code it consumes.
    pub(crate) fn prepare_grant<'a>(
        &self,
        grant: &Grant<'a>,
        family_id: &'a str,
        scope: &'a str,
        now: UnixTime,
    ) -> PreparedGrant<'a> {
        let policy = Policy::for_client(&self.settings.tokens, grant.client);
        let family_lifetime = policy.family_lifetime_secs;
        let family_expires_at = (family_lifetime > 0).then(|| now.saturating_add(family_lifetime));
        let expiries = Expiries::new(&policy, now, family_expires_at);
        let with_refresh = grant.client.may_use(GrantType::RefreshToken)
            && (grant.grant_type != GrantType::ClientCredentials || policy.client_credentials_refresh);
        let fresh = FreshTokens::mint(now, &expiries, scope.to_owned(), with_refresh.then(|| scope.to_owned()));
        let family = NewFamily {
            family_id,
            client_id: &grant.client.client_id,
            username: grant.username,
            grant_type: grant.grant_type,
            scope,
            created_at: now,
            expires_at: family_expires_at,
        };
        PreparedGrant { grant: NewGrant { family, access: fresh.access, refresh: fresh.refresh }, answer: fresh.answer }
    }

    /// Counts and logs a grant family just stored.
    pub(crate) fn issued(&self, grant_type: GrantType, family_id: &str, refresh: bool) {
        self.metrics.issued(grant_type.as_str());
        tracing::info!(family_id = %family_id, refresh, "tokens issued");
    }
}
