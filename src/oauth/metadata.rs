//! Authorization server metadata, RFC 8414 §2, built from the running configuration.

use serde::Serialize;

use super::{pkce, Authority, GrantType};

/// Confidential clients authenticate with their secret; public clients (token endpoint and
/// revocation, RFC 7009 §2.1) with `client_id` alone: "none".
const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];
/// Introspection is for confidential clients only.
const INTROSPECTION_AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub response_types_supported: [&'static str; 1],
    /// RFC 7636 §6.2 / RFC 8414 §2: S256 only.
    pub code_challenge_methods_supported: [&'static str; 1],
    /// RFC 9207 §3: every authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    pub token_endpoint_auth_methods_supported: [&'static str; 3],
    pub revocation_endpoint_auth_methods_supported: [&'static str; 3],
    pub introspection_endpoint_auth_methods_supported: [&'static str; 2],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    pub service_documentation: String,
}

impl Authority {
    pub fn metadata(&self) -> Metadata {
        let issuer = self.issuer();
        let at = |path: &str| format!("{issuer}{path}");
        Metadata {
            authorization_endpoint: at("/authorize"),
            token_endpoint: at("/token"),
            revocation_endpoint: at("/revoke"),
            introspection_endpoint: at("/introspect"),
            service_documentation: at("/docs"),
            grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
            response_types_supported: ["code"],
            code_challenge_methods_supported: [pkce::S256],
            authorization_response_iss_parameter_supported: true,
            token_endpoint_auth_methods_supported: AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: AUTH_METHODS,
            introspection_endpoint_auth_methods_supported: INTROSPECTION_AUTH_METHODS,
            scopes_supported: self.settings.server.scopes_supported.clone(),
            issuer,
        }
    }
}
