//! The protocol layer: it decides. Grants, scopes, client authentication, revocation. It knows
//! nothing of axum beyond turning [`OAuthError`] into a response, and nothing of SQL.

pub mod authorize;
pub mod client_auth;
pub mod consent;
pub mod error;
pub mod events;
pub mod grants;
pub mod introspection;
pub mod issuer;
pub mod metadata;
pub mod params;
pub mod password_hash;
pub mod pkce;
pub mod policy;
pub mod redirect_uri;
pub mod replay;
pub mod revocation;
pub mod scope;
pub mod secret_cache;
pub mod session;
pub mod sign_in;
pub mod throttle;
pub mod token_format;
pub mod token_state;

use std::sync::Arc;

pub use crate::store::GrantType;
pub use error::{ErrorCode, OAuthError};
pub use issuer::TokenResponse;

use crate::clock::Clock;
use crate::config::Settings;
use crate::store::{ClientRecord, Store};
use password_hash::Hasher;

/// Everything a protocol decision needs: storage, the clock, hashing, and the settings.
#[derive(Clone)]
pub struct Authority {
    pub store: Store,
    pub hasher: Hasher,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Credential checks in flight, one at a time per account, address and client id
    /// (`throttle::turns`).
    pub turns: Arc<throttle::Turns>,
}

impl Authority {
    /// RFC 6749 §5.2 `unauthorized_client`: "The authenticated client is not authorized to use
    /// this authorization grant type."
    pub(crate) fn ensure_client_may_use(client: &ClientRecord, grant: GrantType) -> Result<(), OAuthError> {
        if client.may_use(grant) {
            Ok(())
        } else {
            Err(OAuthError::unauthorized_client(format!("this client may not use the {} grant", grant.as_str())))
        }
    }
}
