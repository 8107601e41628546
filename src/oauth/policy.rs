//! The token policy in force for one client: the server-wide `[tokens]` settings, overridden by
//! whatever the client's own policy sets (`oauthd client update`).

use crate::config::TokenSettings;
use crate::store::ClientRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub access_lifetime_secs: i64,
    pub refresh_lifetime_secs: i64,
    /// Absolute lifetime of a grant family; 0 = unlimited.
    pub family_lifetime_secs: i64,
    /// Rotate refresh tokens on use (the seed: "renewed by default").
    pub rotate_refresh_tokens: bool,
    pub replay_window_secs: i64,
    /// Issue refresh tokens for the client_credentials grant.
    pub client_credentials_refresh: bool,
    pub revoke_access_on_refresh: bool,
}

impl Policy {
    pub fn for_client(defaults: &TokenSettings, client: &ClientRecord) -> Policy {
        let own = &client.policy;
        Policy {
            access_lifetime_secs: own.access_lifetime_secs.unwrap_or(defaults.access_lifetime_secs),
            refresh_lifetime_secs: own.refresh_lifetime_secs.unwrap_or(defaults.refresh_lifetime_secs),
            family_lifetime_secs: own.family_lifetime_secs.unwrap_or(defaults.family_lifetime_secs),
            rotate_refresh_tokens: own.rotate_refresh_tokens.unwrap_or(defaults.rotate_refresh_tokens),
            replay_window_secs: own.replay_window_secs.unwrap_or(defaults.replay_window_secs),
            client_credentials_refresh: own.client_credentials_refresh.unwrap_or(defaults.client_credentials_refresh),
            revoke_access_on_refresh: defaults.revoke_access_on_refresh,
        }
    }
}
