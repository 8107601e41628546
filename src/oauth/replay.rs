//! Sealed replay responses for idempotent refresh (lost responses, concurrent refreshes).
//!
//! When a refresh token is rotated, the response is kept encrypted under a key derived from the
//! presented refresh token itself (HKDF-SHA256 of the token, ChaCha20-Poly1305), bound to the
//! client and the requested scope as associated data. Only a holder of the old token can open it;
//! a database dump reveals no usable token. A different client or scope fails to open it.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::issuer::TokenResponse;
use crate::clock::UnixTime;

const SALT: &[u8] = b"oauthd refresh replay v1";
const NONCE_LEN: usize = 12;

#[derive(Serialize, Deserialize)]
struct Sealed {
    access_token: String,
    refresh_token: String,
    scope: String,
    access_expires_at: UnixTime,
}

fn cipher(presented_refresh_token: &str) -> Option<ChaCha20Poly1305> {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(SALT), presented_refresh_token.as_bytes())
        .expand(b"response key", &mut key)
        .ok()?;
    Some(ChaCha20Poly1305::new(Key::from_slice(&key)))
}

fn associated_data(client_id: &str, requested_scope: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(client_id.len() + requested_scope.len() + 1);
    aad.extend_from_slice(client_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(requested_scope.as_bytes());
    aad
}

/// Seals a rotation's response. `requested_scope` is the normalised `scope` parameter ("" when absent).
pub fn seal(
    presented_refresh_token: &str,
    client_id: &str,
    requested_scope: &str,
    response: &TokenResponse,
    access_expires_at: UnixTime,
) -> Option<Vec<u8>> {
    let plain = Sealed {
        access_token: response.access_token.expose_secret().to_owned(),
        refresh_token: response.refresh_token.as_ref()?.expose_secret().to_owned(),
        scope: response.scope.clone(),
        access_expires_at,
    };
    let plaintext = SecretString::from(serde_json::to_string(&plain).ok()?);
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let aad = associated_data(client_id, requested_scope);
    let sealed = cipher(presented_refresh_token)?
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext.expose_secret().as_bytes(),
                aad: &aad,
            },
        )
        .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Some(out)
}

/// Opens a sealed response and rebuilds it with `expires_in` counted down to `now`; `None` when
/// the token, client or scope differ from the sealing request.
pub fn open(
    presented_refresh_token: &str,
    client_id: &str,
    requested_scope: &str,
    sealed: &[u8],
    now: UnixTime,
) -> Option<TokenResponse> {
    if sealed.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let aad = associated_data(client_id, requested_scope);
    let plaintext = cipher(presented_refresh_token)?
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .ok()?;
    let plain: Sealed = serde_json::from_slice(&plaintext).ok()?;
    Some(TokenResponse {
        access_token: SecretString::from(plain.access_token),
        expires_in: (plain.access_expires_at - now).max(0),
        refresh_token: Some(SecretString::from(plain.refresh_token)),
        scope: plain.scope,
    })
}
