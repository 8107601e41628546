//! The JSON shapes of what the admin functions return: printed by the CLI's `--json`, answered by
//! the admin API (and described in its OpenAPI document), available to the console. None holds a
//! secret hash, a token or a digest; a secret appears only in [`CreatedClientView`], once. Times
//! are unix seconds (`i64`, not the `UnixTime` alias, which the OpenAPI schemas would not resolve).

use serde::Serialize;
use utoipa::ToSchema;

use crate::config::TokenSettings;
use crate::oauth::policy::Policy;
use crate::store::{ClientRecord, FamilyRecord, SecurityEventRecord, UserRecord};

/// A client, with the token policy in force for it and its own overrides.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    /// Grant types it may use: authorization_code, client_credentials, password, refresh_token.
    pub grant_types: Vec<String>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// Scopes granted when a request names none.
    pub default_scopes: Vec<String>,
    /// A resource server: may introspect tokens issued to any client.
    pub introspect: bool,
    /// Where authorization responses may go (the authorization_code grant).
    pub redirect_uris: Vec<String>,
    /// client_secret_basic (a confidential client, which also may use client_secret_post), or
    /// none (a public client: no secret).
    pub token_endpoint_auth_method: String,
    /// Authorization requests need PKCE (always for a public client).
    pub pkce_required: bool,
    /// A first-party client: the user's consent is implicit.
    pub first_party: bool,
    /// A disabled client cannot authenticate.
    pub disabled: bool,
    /// The user who registered it in the console and manages it there; null for the operator's.
    pub owner: Option<String>,
    /// Bumped by every change to the client.
    pub secret_version: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// The token policy in force: the client's overrides over the `[tokens]` settings.
    pub policy: PolicyView,
    /// The client's own overrides; null values follow the `[tokens]` settings.
    pub policy_overrides: PolicyOverridesView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyView {
    pub access_lifetime_secs: i64,
    pub refresh_lifetime_secs: i64,
    /// 0 = unlimited.
    pub family_lifetime_secs: i64,
    pub rotate_refresh_tokens: bool,
    /// 0 = strict rotation.
    pub replay_window_secs: i64,
    pub client_credentials_refresh: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyOverridesView {
    pub access_lifetime_secs: Option<i64>,
    pub refresh_lifetime_secs: Option<i64>,
    pub family_lifetime_secs: Option<i64>,
    pub rotate_refresh_tokens: Option<bool>,
    pub replay_window_secs: Option<i64>,
    pub client_credentials_refresh: Option<bool>,
}

impl ClientView {
    pub fn new(defaults: &TokenSettings, c: &ClientRecord) -> ClientView {
        let p = Policy::for_client(defaults, c);
        let own = &c.policy;
        ClientView {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            grant_types: c.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: c.scopes.clone(),
            default_scopes: c.default_scopes.clone(),
            introspect: c.introspect,
            redirect_uris: c.redirect_uris.clone(),
            token_endpoint_auth_method: auth_method(c).to_owned(),
            pkce_required: c.pkce_required || c.public,
            first_party: c.first_party,
            disabled: c.disabled_at.is_some(),
            owner: c.owner.clone(),
            secret_version: c.secret_version,
            created_at: c.created_at,
            updated_at: c.updated_at,
            policy: PolicyView {
                access_lifetime_secs: p.access_lifetime_secs,
                refresh_lifetime_secs: p.refresh_lifetime_secs,
                family_lifetime_secs: p.family_lifetime_secs,
                rotate_refresh_tokens: p.rotate_refresh_tokens,
                replay_window_secs: p.replay_window_secs,
                client_credentials_refresh: p.client_credentials_refresh,
            },
            policy_overrides: PolicyOverridesView {
                access_lifetime_secs: own.access_lifetime_secs,
                refresh_lifetime_secs: own.refresh_lifetime_secs,
                family_lifetime_secs: own.family_lifetime_secs,
                rotate_refresh_tokens: own.rotate_refresh_tokens,
                replay_window_secs: own.replay_window_secs,
                client_credentials_refresh: own.client_credentials_refresh,
            },
        }
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 `token_endpoint_auth_method`).
pub fn auth_method(c: &ClientRecord) -> &'static str {
    if c.public {
        "none"
    } else {
        "client_secret_basic"
    }
}

/// A client with its secret, answered once: when it is created and when its secret is rotated.
/// oauthd keeps only the secret's argon2id hash.
#[derive(Clone, Serialize, ToSchema)]
pub struct CreatedClientView {
    #[serde(flatten)]
    pub client: ClientView,
    /// Shown this once; absent for a public client, which has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A resource owner. Never the password or its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    /// May use the console's admin pages.
    pub admin: bool,
    /// A disabled user cannot authenticate.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> UserView {
        UserView {
            username: u.username.clone(),
            admin: u.admin,
            disabled: u.disabled_at.is_some(),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// A grant family: one successful grant and every token descended from it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantView {
    pub family_id: String,
    pub client_id: String,
    /// The resource owner; null for a client's own grant (client_credentials).
    pub username: Option<String>,
    /// The grant that started it: client_credentials or password.
    pub grant_type: String,
    /// The scope granted (space-separated).
    pub scope: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The family's absolute end (unix seconds); null when unlimited.
    pub expires_at: Option<i64>,
    /// When it was revoked (unix seconds); null while not revoked.
    pub revoked_at: Option<i64>,
    /// Not revoked, not past its end, and holding a token that can still be used.
    pub active: bool,
}

impl From<&FamilyRecord> for GrantView {
    fn from(f: &FamilyRecord) -> GrantView {
        GrantView {
            family_id: f.family_id.clone(),
            client_id: f.client_id.clone(),
            username: f.username.clone(),
            grant_type: f.grant_type.as_str().to_owned(),
            scope: f.scope.clone(),
            created_at: f.created_at,
            expires_at: f.expires_at,
            revoked_at: f.revoked_at,
            active: f.active,
        }
    }
}

/// What oauthd knows of a token looked up by value. The token itself is neither stored nor
/// shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    pub kind: TokenType,
    pub state: TokenState,
    /// `state` is active.
    pub active: bool,
    pub family_id: String,
    pub client_id: String,
    pub username: Option<String>,
    pub grant_type: String,
    /// The token's scope (space-separated).
    pub scope: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds: the token's expiry, or its family's end when that comes first.
    pub expires_at: i64,
    /// An access token's first use (introspection or an admin API call), unix seconds.
    pub first_used_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    AccessToken,
    RefreshToken,
}

/// Whether a token can be used, and if not why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Active,
    /// Revoked itself, or with its grant family.
    Revoked,
    /// A refresh token already rotated.
    Consumed,
    /// Past its expiry or its family's end.
    Expired,
}

/// A security event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// Increases with each event recorded.
    pub id: i64,
    /// Unix seconds.
    pub occurred_at: i64,
    /// refresh_token_reuse, authorization_code_reuse, login_locked, token_revoked, grant_revoked, client_tokens_revoked,
    /// user_tokens_revoked, client_disabled, client_enabled, client_deleted,
    /// client_secret_rotated, user_disabled, user_enabled, user_deleted, user_password_reset,
    /// user_admin_granted, user_admin_revoked, tokens_issued, consent_revoked, admin_api_call,
    /// admin_api_denied, admin_console_action.
    pub kind: String,
    /// Who: user (an administrator), client (the admin API with a client's token), cli, system.
    pub actor_type: String,
    /// The administrator's username or the client's id; null for cli and system.
    pub actor_id: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub family_id: Option<String>,
    /// The peer's IP address, when the event came from a request.
    pub peer_address: Option<String>,
    /// A note written by oauthd (e.g. the admin API route and status).
    pub detail: Option<String>,
}

impl From<&SecurityEventRecord> for EventView {
    fn from(e: &SecurityEventRecord) -> EventView {
        EventView {
            id: e.security_event_id,
            occurred_at: e.occurred_at,
            kind: e.kind.as_str().to_owned(),
            actor_type: e.actor_kind.as_str().to_owned(),
            actor_id: e.actor_id.clone(),
            client_id: e.client_id.clone(),
            username: e.username.clone(),
            family_id: e.family_id.clone(),
            peer_address: e.peer_address.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// A consent a user gave a client on the consent page, and the client's last use of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    pub username: String,
    pub client_id: String,
    pub client_name: String,
    /// The scopes allowed so far (space-separated).
    pub scope: String,
    /// Unix seconds.
    pub granted_at: i64,
    /// When a token was last issued to the client for this user (unix seconds); null when it
    /// holds none.
    pub last_used_at: Option<i64>,
}

impl From<&crate::admin::consents::Authorization> for ConsentView {
    fn from(a: &crate::admin::consents::Authorization) -> ConsentView {
        ConsentView {
            username: a.consent.username.clone(),
            client_id: a.consent.client_id.clone(),
            client_name: a.consent.client_name.clone(),
            scope: a.consent.scope.clone(),
            granted_at: a.consent.granted_at,
            last_used_at: a.last_used_at,
        }
    }
}
