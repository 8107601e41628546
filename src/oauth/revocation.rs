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

use super::client_auth::{as_client, AuthenticatedClient, ClientCredentials};
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::{token_format, Authority};
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

/// What a revocation changed, before it is logged and counted.
enum Outcome {
    Made { family_id: String, kind: TokenKind },
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
        let outcome = as_client!(self, &credentials, |client| {
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
            self.revoke_as(token, Some(client)).await
        })?;
        Ok(self.recorded(outcome))
    }

    /// Revokes a token, whoever it was issued to (the operator).
    pub async fn revoke(&self, token: &str) -> Result<Revoked, OAuthError> {
        let outcome = self.revoke_as(token, None).await?;
        Ok(self.recorded(outcome))
    }

    /// Revokes a token on behalf of a client — a token issued to another client is refused — or
    /// of the operator (`None`). The common case, the client's own valid token, is one statement
    /// (which also confirms the client, see [`as_client!`](crate::oauth::client_auth::as_client)); anything else (unknown,
    /// already revoked, another client's) is looked up to answer as RFC 7009 says.
    async fn revoke_as(&self, token: &str, owner: Option<&AuthenticatedClient>) -> Result<Outcome, OAuthError> {
        let now = self.clock.now();
        if let (Some(client), Some((kind, digest))) = (owner, token_format::parse(token)) {
            if let Some(family_id) = self.store.revoke_owned(&digest, kind, &client.stamp(), now).await? {
                client.confirm(true)?;
                return Ok(Outcome::Made { family_id, kind });
            }
        }
        let Some((kind, record)) = self.find_token(token, owner).await? else {
            return Ok(Outcome::Unknown);
        };
        if owner.is_some_and(|owner| owner.client_id != record.client_id) {
            return Err(OAuthError::unauthorized_client("the token was not issued to this client"));
        }
        match kind {
            TokenKind::Refresh => self.store.revoke_family(&record.family_id, now).await?,
            TokenKind::Access => self.store.revoke_token(&token_format::digest(token), now).await?,
        };
        Ok(Outcome::Made { family_id: record.family_id, kind })
    }

    /// Logs and counts what a revocation did.
    fn recorded(&self, outcome: Outcome) -> Revoked {
        let (label, revoked) = match outcome {
            Outcome::Unknown => ("unknown", Revoked::Unknown),
            Outcome::Made { family_id, kind } => {
                tracing::info!(%family_id, kind = kind.as_str(), "token revoked");
                match kind {
                    TokenKind::Access => ("access_token", Revoked::AccessToken),
                    TokenKind::Refresh => ("refresh_token", Revoked::Family),
                }
            }
        };
        self.metrics.revocations.get_or_create(&KindLabel { kind: label }).inc();
        revoked
    }
}
