//! The token endpoint (RFC 6749 §3.2): authenticate the client once, check it may use the grant
//! type it asks for, then hand the request to the file of that grant type.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;

use std::net::IpAddr;

use super::client_auth::ClientCredentials;
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::{Authority, GrantType, TokenResponse};

impl Authority {
    /// Handles one token request: its `Authorization` header value, its body parameters, and the
    /// client's address (for the login throttle of the password grant).
    pub async fn token_request(
        &self,
        authorization: Option<&[u8]>,
        params: &Params,
        peer: Option<IpAddr>,
    ) -> Result<TokenResponse, OAuthError> {
        let grant_type = params.require("grant_type")?;
        let span = tracing::Span::current();
        span.record("grant_type", printable(grant_type));
        let credentials = ClientCredentials::from_request(authorization, params)?;
        span.record("client_id", credentials.client_id.as_str());
        let client = self.authenticate_client(&credentials).await?;
        let Some(grant) = GrantType::parse(grant_type) else {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "the grant type is not supported by this server",
            ));
        };
        Authority::ensure_client_may_use(&client, grant)?;
        match grant {
            GrantType::AuthorizationCode => authorization_code::grant(self, &client, params).await,
            GrantType::ClientCredentials => client_credentials::grant(self, &client, params).await,
            GrantType::Password => password::grant(self, &client, params, peer).await,
            GrantType::RefreshToken => refresh_token::grant(self, &client, params).await,
        }
    }
}

/// A client-chosen string fit for a log field: short and printable.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic()).take(40).collect()
}
