//! Token revocation, RFC 7009, and the operator's `oauthd token revoke`.
//!
//! Phases: authenticate the client ("The client also includes its authentication credentials",
//! §2.1), validate (`token` REQUIRED; `token_type_hint` OPTIONAL — a wrong hint still finds the
//! token, because the token's prefix says its kind), look the token up, check ownership ("verifies
//! whether the token was issued to the client making the revocation request. If this validation
//! fails, the request is refused", §2.1 → `unauthorized_client`), revoke: a refresh token takes its
//! whole grant family with it ("SHOULD also invalidate all access tokens based on the same
//! authorization grant", §2.1); an access token only itself. Unknown and already invalid tokens
//! answer 200 as well ("invalid tokens do not cause an error response", §2.2).

use super::client_auth::ClientCredentials;
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::Authority;
use crate::metrics::KindLabel;
use crate::store::TokenKind;

/// What a revocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// A refresh token: its whole grant family.
    Family,
    /// One access token.
    AccessToken,
    /// Nothing: the token is unknown (or was not an oauthd token).
    Unknown,
}

impl Authority {
    /// Handles one revocation request (RFC 7009 §2.1).
    pub async fn revocation_request(
        &self,
        authorization: Option<&[u8]>,
        params: &Params,
    ) -> Result<Revoked, OAuthError> {
        let credentials = ClientCredentials::from_request(authorization, params)?;
        tracing::Span::current().record("client_id", credentials.client_id.as_str());
        let client = self.authenticate_client(&credentials).await?;
        let token = params.require("token")?;
        match params.get("token_type_hint") {
            None | Some("access_token" | "refresh_token") => {}
            Some(_) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedTokenType,
                    "this server revokes access_token and refresh_token only",
                ))
            }
        }
        if let Some(revoked) = self.revoke_owned(token, &client.client_id).await? {
            return Ok(revoked);
        }
        self.revoke(token, Some(&client.client_id)).await
    }

    /// The common case in one round trip: the client's own, still valid token. `None` when that
    /// did not apply (unknown, already revoked, another client's): [`Authority::revoke`] then
    /// looks the token up and answers as RFC 7009 says.
    async fn revoke_owned(&self, token: &str, client_id: &str) -> Result<Option<Revoked>, OAuthError> {
        let Some((kind, digest)) = crate::oauth::token_format::parse(token) else {
            return Ok(None);
        };
        let Some(family_id) = self.store.revoke_owned(&digest, kind, client_id, self.clock.now()).await? else {
            return Ok(None);
        };
        Ok(Some(self.revoked(&family_id, kind)))
    }

    /// Revokes a token. With `owner`, a token issued to another client is refused; without
    /// (an operator), any token is revoked.
    pub async fn revoke(&self, token: &str, owner: Option<&str>) -> Result<Revoked, OAuthError> {
        let Some((kind, record)) = self.find_token(token).await? else {
            self.metrics.revocations.get_or_create(&KindLabel { kind: "unknown" }).inc();
            return Ok(Revoked::Unknown);
        };
        if owner.is_some_and(|owner| owner != record.client_id) {
            return Err(OAuthError::unauthorized_client("the token was not issued to this client"));
        }
        let now = self.clock.now();
        match kind {
            TokenKind::Refresh => self.store.revoke_family(&record.family_id, now).await?,
            TokenKind::Access => self.store.revoke_token(&crate::oauth::token_format::digest(token), now).await?,
        };
        Ok(self.revoked(&record.family_id, kind))
    }

    /// Logs and counts a revocation that was made: a refresh token's family, or an access token.
    fn revoked(&self, family_id: &str, kind: TokenKind) -> Revoked {
        tracing::info!(%family_id, kind = kind.as_str(), "token revoked");
        let (label, revoked) = match kind {
            TokenKind::Access => ("access_token", Revoked::AccessToken),
            TokenKind::Refresh => ("refresh_token", Revoked::Family),
        };
        self.metrics.revocations.get_or_create(&KindLabel { kind: label }).inc();
        revoked
    }
}
