//! The token policy in force for one client: the server-wide `[tokens]` settings, overridden by
//! whatever the client's own policy sets (`oauthd client update`). Public clients always rotate
//! (RFC 9700 §4.14.2) and default to `tokens.public_replay_window_secs`.

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
        // RFC 9700 §4.14.2: refresh tokens of public clients "MUST be sender-constrained or use
        // refresh token rotation" — oauthd has no sender constraint, so they always rotate.
        let rotate = client.public || own.rotate_refresh_tokens.unwrap_or(defaults.rotate_refresh_tokens);
        let replay_window =
            if client.public { defaults.public_replay_window_secs } else { defaults.replay_window_secs };
        Policy {
            access_lifetime_secs: own.access_lifetime_secs.unwrap_or(defaults.access_lifetime_secs),
            refresh_lifetime_secs: own.refresh_lifetime_secs.unwrap_or(defaults.refresh_lifetime_secs),
            family_lifetime_secs: own.family_lifetime_secs.unwrap_or(defaults.family_lifetime_secs),
            rotate_refresh_tokens: rotate,
            replay_window_secs: own.replay_window_secs.unwrap_or(replay_window),
            client_credentials_refresh: own.client_credentials_refresh.unwrap_or(defaults.client_credentials_refresh),
            revoke_access_on_refresh: defaults.revoke_access_on_refresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ClientPolicy;

    fn client(policy: ClientPolicy) -> ClientRecord {
        ClientRecord {
            client_id: "client-1".into(),
            name: "Client 1".into(),
            secret_hash: String::new(),
            secret_version: 1,
            grant_types: Vec::new(),
            scopes: Vec::new(),
            default_scopes: Vec::new(),
            created_at: 0,
            updated_at: 0,
            policy,
            introspect: false,
            disabled_at: None,
            redirect_uris: Vec::new(),
            public: false,
            pkce_required: true,
            first_party: false,
            owner: None,
        }
    }

    fn defaults() -> TokenSettings {
        TokenSettings {
            access_lifetime_secs: 3600,
            refresh_lifetime_secs: 86_400,
            family_lifetime_secs: 0,
            revoke_access_on_refresh: true,
            replay_window_secs: 10,
            rotate_refresh_tokens: true,
            client_credentials_refresh: true,
            code_lifetime_secs: 60,
            public_replay_window_secs: 2,
        }
    }

    /// The policy of a client without overrides.
    fn base() -> Policy {
        Policy::for_client(&defaults(), &client(ClientPolicy::default()))
    }

    #[test]
    fn without_overrides_every_setting_falls_back_to_the_default() {
        let d = defaults();
        assert_eq!(
            base(),
            Policy {
                access_lifetime_secs: d.access_lifetime_secs,
                refresh_lifetime_secs: d.refresh_lifetime_secs,
                family_lifetime_secs: d.family_lifetime_secs,
                rotate_refresh_tokens: d.rotate_refresh_tokens,
                replay_window_secs: d.replay_window_secs,
                client_credentials_refresh: d.client_credentials_refresh,
                revoke_access_on_refresh: d.revoke_access_on_refresh,
            }
        );
    }

    #[test]
    fn an_access_lifetime_override_wins_and_changes_nothing_else() {
        let own = ClientPolicy { access_lifetime_secs: Some(60), ..ClientPolicy::default() };
        assert_eq!(Policy::for_client(&defaults(), &client(own)), Policy { access_lifetime_secs: 60, ..base() });
    }

    #[test]
    fn a_refresh_lifetime_override_wins_and_changes_nothing_else() {
        let own = ClientPolicy { refresh_lifetime_secs: Some(120), ..ClientPolicy::default() };
        assert_eq!(Policy::for_client(&defaults(), &client(own)), Policy { refresh_lifetime_secs: 120, ..base() });
    }

    #[test]
    fn a_family_lifetime_override_wins_and_changes_nothing_else() {
        let own = ClientPolicy { family_lifetime_secs: Some(7200), ..ClientPolicy::default() };
        assert_eq!(Policy::for_client(&defaults(), &client(own)), Policy { family_lifetime_secs: 7200, ..base() });
    }

    #[test]
    fn a_rotation_override_wins_and_changes_nothing_else() {
        let own = ClientPolicy { rotate_refresh_tokens: Some(false), ..ClientPolicy::default() };
        assert_eq!(Policy::for_client(&defaults(), &client(own)), Policy { rotate_refresh_tokens: false, ..base() });
    }

    #[test]
    fn a_replay_window_override_wins_and_changes_nothing_else() {
        let own = ClientPolicy { replay_window_secs: Some(0), ..ClientPolicy::default() };
        assert_eq!(Policy::for_client(&defaults(), &client(own)), Policy { replay_window_secs: 0, ..base() });
    }

    #[test]
    fn a_client_credentials_refresh_override_wins_and_changes_nothing_else() {
        let own = ClientPolicy { client_credentials_refresh: Some(false), ..ClientPolicy::default() };
        assert_eq!(
            Policy::for_client(&defaults(), &client(own)),
            Policy { client_credentials_refresh: false, ..base() }
        );
    }

    #[test]
    fn an_override_equal_to_the_default_is_kept() {
        let own = ClientPolicy {
            access_lifetime_secs: Some(3600),
            rotate_refresh_tokens: Some(true),
            ..ClientPolicy::default()
        };
        assert_eq!(Policy::for_client(&defaults(), &client(own)), base());
    }

    #[test]
    fn an_override_can_turn_a_default_off_or_on() {
        let off = TokenSettings { rotate_refresh_tokens: false, client_credentials_refresh: false, ..defaults() };
        let own = ClientPolicy {
            rotate_refresh_tokens: Some(true),
            client_credentials_refresh: Some(true),
            ..ClientPolicy::default()
        };
        let p = Policy::for_client(&off, &client(own));
        assert!(p.rotate_refresh_tokens);
        assert!(p.client_credentials_refresh);
    }

    #[test]
    fn all_overrides_together_each_win() {
        let own = ClientPolicy {
            access_lifetime_secs: Some(1),
            refresh_lifetime_secs: Some(2),
            family_lifetime_secs: Some(3),
            rotate_refresh_tokens: Some(false),
            replay_window_secs: Some(4),
            client_credentials_refresh: Some(false),
        };
        assert_eq!(
            Policy::for_client(&defaults(), &client(own)),
            Policy {
                access_lifetime_secs: 1,
                refresh_lifetime_secs: 2,
                family_lifetime_secs: 3,
                rotate_refresh_tokens: false,
                replay_window_secs: 4,
                client_credentials_refresh: false,
                revoke_access_on_refresh: true,
            }
        );
    }

    #[test]
    fn a_public_client_always_rotates_and_defaults_to_the_public_replay_window() {
        let public = |own: ClientPolicy| ClientRecord { public: true, ..client(own) };
        let off = TokenSettings { rotate_refresh_tokens: false, ..defaults() };
        let p = Policy::for_client(
            &off,
            &public(ClientPolicy { rotate_refresh_tokens: Some(false), ..Default::default() }),
        );
        assert!(p.rotate_refresh_tokens, "a rotation-off policy is ignored for a public client");
        assert_eq!(p.replay_window_secs, 2);
        let own_window = ClientPolicy { replay_window_secs: Some(0), ..ClientPolicy::default() };
        assert_eq!(Policy::for_client(&defaults(), &public(own_window)).replay_window_secs, 0, "its own window wins");
        assert_eq!(base().replay_window_secs, 10, "confidential clients keep the general window");
    }

    #[test]
    fn revoking_access_on_refresh_always_follows_the_server_setting() {
        for server in [true, false] {
            let settings = TokenSettings { revoke_access_on_refresh: server, ..defaults() };
            let p = Policy::for_client(&settings, &client(ClientPolicy::default()));
            assert_eq!(p.revoke_access_on_refresh, server);
        }
    }
}
