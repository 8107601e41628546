//! Token introspection, RFC 7662.
//!
//! Phases: authenticate the caller as a client ("the protected resource MUST also be authorized",
//! §2.1 — here: a client, answered 401 `invalid_client` otherwise, §2.3), validate (`token`
//! REQUIRED), look the token up and check it (one place: [`super::token_state`]), check the
//! caller may see it (the client it was issued to, or a client marked as a resource server), and
//! answer. Anything not active — expired, revoked, consumed, unknown, damaged, or not the
//! caller's — is exactly `{"active": false}` (§2.2: "SHOULD NOT include any additional
//! information about an inactive token"). The first active introspection of an access token is
//! recorded: a refresh replay whose successor's access token was already used is reuse.

use serde::Serialize;

use super::client_auth::{AuthenticatedClient, ClientCredentials};
use super::params::Params;
use super::{Authority, OAuthError};
use crate::metrics::ActiveLabel;
use crate::store::TokenKind;

/// An RFC 7662 §2.2 answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<ActiveToken>,
}

/// What oauthd knows of an active token, in RFC 7662 §2.2 names.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ActiveToken {
    pub scope: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` for access tokens (RFC 6749 §5.1 types); `refresh_token` for refresh tokens.
    pub token_type: &'static str,
    pub exp: i64,
    pub iat: i64,
    pub sub: String,
    pub iss: String,
}

impl Introspection {
    pub fn inactive() -> Self {
        Introspection { active: false, details: None }
    }
}

impl Authority {
    /// Handles one introspection request.
    pub async fn introspection_request(
        &self,
        authorization: Option<&[u8]>,
        params: &Params,
    ) -> Result<Introspection, OAuthError> {
        let credentials = ClientCredentials::from_request(authorization, params)?;
        tracing::Span::current().record("client_id", credentials.client_id.as_str());
        let caller = self.authenticate_client(&credentials).await?;
        if caller.public {
            // A public client's id is no credential: it must not read tokens with it.
            return Err(OAuthError::invalid_client("a public client cannot introspect tokens"));
        }
        let token = params.require("token")?;
        let answer = self.introspect(&caller, token).await?;
        let active = if answer.active { "true" } else { "false" };
        self.metrics.introspections.get_or_create(&ActiveLabel { active }).inc();
        Ok(answer)
    }

    async fn introspect(&self, caller: &AuthenticatedClient, token: &str) -> Result<Introspection, OAuthError> {
        let Ok((kind, record)) = self.active_token(token).await? else {
            return Ok(Introspection::inactive());
        };
        if record.client_id != caller.client_id && !caller.introspect {
            return Ok(Introspection::inactive());
        }
        if kind == TokenKind::Access && record.first_used_at.is_none() {
            self.store.mark_first_use(&record.token_digest, self.clock.now()).await?;
        }
        let sub = record.username.clone().unwrap_or_else(|| record.client_id.clone());
        Ok(Introspection {
            active: true,
            details: Some(ActiveToken {
                scope: record.scope,
                client_id: record.client_id,
                username: record.username,
                token_type: match kind {
                    TokenKind::Access => "Bearer",
                    TokenKind::Refresh => "refresh_token",
                },
                exp: record.expires_at.min(record.family_expires_at.unwrap_or(i64::MAX)),
                iat: record.issued_at,
                sub,
                iss: self.issuer(),
            }),
        })
    }

    /// The issuer identifier (RFC 8414 §2): `server.issuer`, or the listener's URL when unset
    /// (filled in when the listener is bound).
    pub fn issuer(&self) -> String {
        self.settings.issuer(self.settings.server.listen).as_str().to_owned()
    }
}
