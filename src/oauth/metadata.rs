//! Authorization server metadata, RFC 8414 §2, built from the running configuration.

use serde::Serialize;

use super::{Authority, GrantType};

const AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    /// REQUIRED by RFC 8414; oauthd has no authorization endpoint, so it supports none.
    pub response_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: [&'static str; 2],
    pub revocation_endpoint_auth_methods_supported: [&'static str; 2],
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
            token_endpoint: at("/token"),
            revocation_endpoint: at("/revoke"),
            introspection_endpoint: at("/introspect"),
            service_documentation: at("/docs"),
            grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
            response_types_supported: Vec::new(),
            token_endpoint_auth_methods_supported: AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: AUTH_METHODS,
            introspection_endpoint_auth_methods_supported: AUTH_METHODS,
            scopes_supported: self.settings.server.scopes_supported.clone(),
            issuer,
        }
    }
}
