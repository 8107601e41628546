//! Creating, listing, showing, deleting clients and rotating their secrets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use super::{is_vschar_text, AdminError};
use crate::oauth::scope::Scope;
use crate::oauth::{Authority, GrantType};
use crate::store::{ClientRecord, NewClient, StoreError};

/// What an operator asks for when creating a client.
#[derive(Debug, Default, Clone)]
pub struct ClientSpec {
    /// A chosen id (for migrating existing clients); generated when `None`.
    pub client_id: Option<String>,
    pub name: String,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    /// Scopes granted when a request names none; all of `scopes` when `None`.
    pub default_scopes: Option<Vec<String>>,
    /// An existing secret to import (for migrating clients); generated when `None`.
    pub secret: Option<SecretString>,
}

/// The result of creating a client: the secret is shown this once and never stored.
pub struct CreatedClient {
    pub client: ClientRecord,
    pub client_secret: SecretString,
}

/// Shortest imported secret accepted; generated secrets are 43 characters (256 bits).
const MIN_IMPORTED_SECRET: usize = 16;

pub async fn create(auth: &Authority, spec: ClientSpec) -> Result<CreatedClient, AdminError> {
    let client_id = match spec.client_id {
        Some(id) => {
            if id.is_empty() || id.len() > 255 || !is_vschar_text(&id) {
                return Err(AdminError::Invalid(
                    "client id must be 1-255 printable ASCII characters".into(),
                ));
            }
            id
        }
        None => random_text(16),
    };
    if spec.name.trim().is_empty() {
        return Err(AdminError::Invalid("a client needs a --name".into()));
    }
    let grant_types = validate_grant_types(&spec.grant_types)?;
    let scopes = validate_scopes(&spec.scopes)?;
    let default_scopes = match spec.default_scopes {
        Some(d) => validate_scopes(&d)?,
        None => scopes.clone(),
    };
    if !Scope::from_list(&default_scopes).is_subset(&Scope::from_list(&scopes)) {
        return Err(AdminError::Invalid(
            "default scopes must be among the client's scopes".into(),
        ));
    }
    let secret = match spec.secret {
        Some(s) => {
            let text = s.expose_secret();
            if text.len() < MIN_IMPORTED_SECRET || text.len() > 512 || !is_vschar_text(text) {
                return Err(AdminError::Invalid(format!(
                    "an imported secret must be {MIN_IMPORTED_SECRET}-512 printable ASCII characters"
                )));
            }
            s
        }
        None => SecretString::from(random_text(32)),
    };
    let secret_hash = auth.hasher.hash(secret.expose_secret())?;
    let now = auth.clock.now();
    let new = NewClient {
        client_id: &client_id,
        name: spec.name.trim(),
        secret_hash: &secret_hash,
        grant_types: &grant_types,
        scopes: &scopes,
        default_scopes: &default_scopes,
        now,
    };
    auth.store.insert_client(&new).await.map_err(|e| match e {
        StoreError::Duplicate => AdminError::AlreadyExists(format!("client {client_id}")),
        e => e.into(),
    })?;
    let client = find(auth, &client_id).await?;
    Ok(CreatedClient {
        client,
        client_secret: secret,
    })
}

pub async fn find(auth: &Authority, client_id: &str) -> Result<ClientRecord, AdminError> {
    auth.store
        .find_client(client_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("client {client_id}")))
}

pub async fn list(auth: &Authority) -> Result<Vec<ClientRecord>, AdminError> {
    Ok(auth.store.list_clients().await?)
}

/// Deletes a client; its grant families and tokens go with it.
pub async fn delete(auth: &Authority, client_id: &str) -> Result<(), AdminError> {
    if auth.store.delete_client(client_id).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("client {client_id}")))
    }
}

/// Generates and stores a new secret; the old one stops working at once.
pub async fn rotate_secret(auth: &Authority, client_id: &str) -> Result<SecretString, AdminError> {
    let secret = SecretString::from(random_text(32));
    let hash = auth.hasher.hash(secret.expose_secret())?;
    if auth
        .store
        .set_client_secret(client_id, &hash, auth.clock.now())
        .await?
    {
        Ok(secret)
    } else {
        Err(AdminError::NotFound(format!("client {client_id}")))
    }
}

fn validate_grant_types(grant_types: &[String]) -> Result<Vec<String>, AdminError> {
    if grant_types.is_empty() {
        return Err(AdminError::Invalid(
            "a client needs at least one --grant-type".into(),
        ));
    }
    let mut out = Vec::new();
    for g in grant_types {
        let Some(grant) = GrantType::parse(g) else {
            let known: Vec<_> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
            return Err(AdminError::Invalid(format!(
                "unknown grant type {g:?}; known: {}",
                known.join(", ")
            )));
        };
        if !out.iter().any(|o| o == grant.as_str()) {
            out.push(grant.as_str().to_owned());
        }
    }
    Ok(out)
}

fn validate_scopes(scopes: &[String]) -> Result<Vec<String>, AdminError> {
    let joined = scopes.join(" ");
    let scope = Scope::parse(&joined)
        .map_err(|_| AdminError::Invalid(format!("invalid scope in {joined:?}")))?;
    Ok(scope
        .to_string()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

/// `bytes` random bytes from the OS CSPRNG as URL-safe base64.
pub(crate) fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}
