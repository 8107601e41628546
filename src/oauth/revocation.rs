//! Token revocation, RFC 7009, and the operator's `oauthd token revoke`.
//!
//! Phases: authenticate the client once, first ("The client also includes its authentication credentials",
//! §2.1), validate (`token` REQUIRED; `token_type_hint` OPTIONAL — a wrong hint still finds the
//! token, because the token's prefix says its kind), look the token up, check ownership ("verifies
//! whether the token was issued to the client making the revocation request. If this validation
//! fails, the request is refused", §2.1 → `unauthorized_client`), revoke: a refresh token takes its
//! whole grant family with it ("SHOULD also invalidate all access tokens based on the same
//! authorization grant", §2.1); an access token only itself. Unknown and already invalid tokens
//! answer 200 as well ("invalid tokens do not cause an error response", §2.2). The client's
//! revocation and the operator's are one path: one store call, whose statement holds the
//! ownership rule.

use super::client_auth::ClientCredentials;
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::{token_format, Authority};
use crate::metrics::KindLabel;
use crate::store::{Revocation, TokenKind};

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
        self.revoke_as(token, Some(&client.client_id)).await
    }

    /// Revokes a token, whoever it was issued to (the operator).
    pub async fn revoke(&self, token: &str) -> Result<Revoked, OAuthError> {
        self.revoke_as(token, None).await
    }

    /// Revokes a token on behalf of a client — a token issued to another client is refused — or
    /// of the operator (`None`), then logs and counts what it did.
    async fn revoke_as(&self, token: &str, owner: Option<&str>) -> Result<Revoked, OAuthError> {
        let Some((kind, digest)) = token_format::parse(token) else {
            return Ok(self.recorded(None));
        };
        match self.store.revoke_token(&digest, kind, owner, self.clock.now()).await? {
            Revocation::Revoked { family_id } | Revocation::AlreadyRevoked { family_id } => {
                tracing::info!(%family_id, kind = kind.as_str(), "token revoked");
                Ok(self.recorded(Some(kind)))
            }
            Revocation::OtherClient => Err(OAuthError::unauthorized_client("the token was not issued to this client")),
            Revocation::Unknown => Ok(self.recorded(None)),
        }
    }

    /// Counts a revocation by the kind of token found (`None`: unknown).
    fn recorded(&self, kind: Option<TokenKind>) -> Revoked {
        let (label, revoked) = match kind {
            None => ("unknown", Revoked::Unknown),
            Some(TokenKind::Access) => ("access_token", Revoked::AccessToken),
            Some(TokenKind::Refresh) => ("refresh_token", Revoked::Family),
        };
        self.metrics.revocations.get_or_create(&KindLabel { kind: label }).inc();
        revoked
    }
}
