//! The token endpoint (RFC 6749 §3.2): authenticate the client once, then hand the request to the
//! file of its grant type. The grant runs as the client ([`as_client!`](crate::oauth::client_auth::as_client)): its first
//! statement confirms a client whose secret was verified before.

pub mod client_credentials;
pub mod password;
pub mod refresh_token;

use super::client_auth::{as_client, ClientCredentials};
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::{Authority, GrantType, TokenResponse};

impl Authority {
    /// Handles one token request: its `Authorization` header value and its body parameters.
    pub async fn token_request(
        &self,
        authorization: Option<&[u8]>,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let grant_type = params.require("grant_type")?;
        let span = tracing::Span::current();
        span.record("grant_type", printable(grant_type));
        let credentials = ClientCredentials::from_request(authorization, params)?;
        span.record("client_id", credentials.client_id.as_str());
        as_client!(self, &credentials, |client| {
            let Some(grant) = GrantType::parse(grant_type) else {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    "the grant type is not supported by this server",
                ));
            };
            Authority::ensure_client_may_use(client, grant)?;
            match grant {
                GrantType::ClientCredentials => client_credentials::grant(self, client, params).await,
                GrantType::Password => password::grant(self, client, params).await,
                GrantType::RefreshToken => refresh_token::grant(self, client, params).await,
            }
        })
    }
}

/// A client-chosen string fit for a log field: short and printable.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic()).take(40).collect()
}
