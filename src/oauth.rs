//! The protocol layer: it decides. Grants, scopes, client authentication, revocation. It knows
//! nothing of axum beyond turning [`OAuthError`] into a response, and nothing of SQL.

pub mod client_auth;
pub mod error;
pub mod grants;
pub mod introspection;
pub mod issuer;
pub mod metadata;
pub mod params;
pub mod password_hash;
pub mod policy;
pub mod replay;
pub mod revocation;
pub mod scope;
pub mod secret_cache;
pub mod token_format;
pub mod token_state;

use std::sync::Arc;

pub use error::{ErrorCode, OAuthError};
pub use issuer::TokenResponse;

use crate::clock::Clock;
use crate::config::Settings;
use crate::store::Store;
use password_hash::Hasher;

/// Everything a protocol decision needs: storage, the clock, hashing, and the settings.
#[derive(Clone)]
pub struct Authority {
    pub store: Store,
    pub hasher: Hasher,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The grant types oauthd implements (RFC 6749 §4.3, §4.4, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    Password,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [GrantType::ClientCredentials, GrantType::Password, GrantType::RefreshToken];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

impl Authority {
    /// RFC 6749 §5.2 `unauthorized_client`: "The authenticated client is not authorized to use
    /// this authorization grant type."
    pub(crate) fn ensure_client_may_use(
        client: &crate::store::ClientRecord,
        grant: GrantType,
    ) -> Result<(), OAuthError> {
        if client.grant_types.iter().any(|g| g == grant.as_str()) {
            Ok(())
        } else {
            Err(OAuthError::unauthorized_client(format!("this client may not use the {} grant", grant.as_str())))
        }
    }
}
