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
    Hkdf::<Sha256>::new(Some(SALT), presented_refresh_token.as_bytes()).expand(b"response key", &mut key).ok()?;
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
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.expose_secret().as_bytes(), aad: &aad })
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
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad })
        .ok()?;
    let plain: Sealed = serde_json::from_slice(&plaintext).ok()?;
    Some(TokenResponse {
        access_token: SecretString::from(plain.access_token),
        expires_in: (plain.access_expires_at - now).max(0),
        refresh_token: Some(SecretString::from(plain.refresh_token)),
        scope: plain.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESENTED: &str = "ort_presented-refresh-token";
    const CLIENT: &str = "client-1";
    const SCOPE: &str = "read write";
    const EXPIRES_AT: UnixTime = 1_700_003_600;

    fn response() -> TokenResponse {
        TokenResponse {
            access_token: SecretString::from("oat_new-access-token"),
            expires_in: 3600,
            refresh_token: Some(SecretString::from("ort_new-refresh-token")),
            scope: "read write".into(),
        }
    }

    fn sealed() -> Vec<u8> {
        seal(PRESENTED, CLIENT, SCOPE, &response(), EXPIRES_AT).unwrap()
    }

    #[test]
    fn a_sealed_response_opens_to_the_same_tokens_and_scope() {
        let opened = open(PRESENTED, CLIENT, SCOPE, &sealed(), EXPIRES_AT - 3600).unwrap();
        assert_eq!(opened.access_token.expose_secret(), "oat_new-access-token");
        assert_eq!(opened.refresh_token.as_ref().map(|t| t.expose_secret()), Some("ort_new-refresh-token"));
        assert_eq!(opened.scope, "read write");
        assert_eq!(opened.expires_in, 3600);
    }

    #[test]
    fn a_response_sealed_for_no_requested_scope_opens_for_no_requested_scope() {
        let sealed = seal(PRESENTED, CLIENT, "", &response(), EXPIRES_AT).unwrap();
        assert!(open(PRESENTED, CLIENT, "", &sealed, EXPIRES_AT).is_some());
        assert!(open(PRESENTED, CLIENT, SCOPE, &sealed, EXPIRES_AT).is_none());
    }

    #[test]
    fn the_sealed_bytes_do_not_contain_the_tokens_in_clear() {
        let sealed = sealed();
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("oat_new-access-token") && !text.contains("ort_new-refresh-token"));
    }

    #[test]
    fn a_response_without_a_refresh_token_is_not_sealed() {
        let mut response = response();
        response.refresh_token = None;
        assert!(seal(PRESENTED, CLIENT, SCOPE, &response, EXPIRES_AT).is_none());
    }

    #[test]
    fn a_different_presented_token_cannot_open_it() {
        assert!(open("ort_another-refresh-token", CLIENT, SCOPE, &sealed(), EXPIRES_AT).is_none());
        assert!(open("", CLIENT, SCOPE, &sealed(), EXPIRES_AT).is_none());
    }

    #[test]
    fn a_different_client_cannot_open_it() {
        assert!(open(PRESENTED, "client-2", SCOPE, &sealed(), EXPIRES_AT).is_none());
        assert!(open(PRESENTED, "", SCOPE, &sealed(), EXPIRES_AT).is_none());
    }

    #[test]
    fn a_different_requested_scope_cannot_open_it() {
        assert!(open(PRESENTED, CLIENT, "read", &sealed(), EXPIRES_AT).is_none());
        assert!(open(PRESENTED, CLIENT, "", &sealed(), EXPIRES_AT).is_none());
        assert!(open(PRESENTED, CLIENT, "write read", &sealed(), EXPIRES_AT).is_none());
    }

    #[test]
    fn the_client_and_scope_cannot_trade_characters_across_their_boundary() {
        let sealed = seal(PRESENTED, "client", "read", &response(), EXPIRES_AT).unwrap();
        assert!(open(PRESENTED, "clientread", "", &sealed, EXPIRES_AT).is_none());
        assert!(open(PRESENTED, "clien", "tread", &sealed, EXPIRES_AT).is_none());
    }

    #[test]
    fn a_tampered_ciphertext_does_not_open() {
        let original = sealed();
        for at in [NONCE_LEN, NONCE_LEN + 5, original.len() - 1] {
            let mut tampered = original.clone();
            tampered[at] ^= 0x01;
            assert!(open(PRESENTED, CLIENT, SCOPE, &tampered, EXPIRES_AT).is_none(), "byte {at}");
        }
    }

    #[test]
    fn a_tampered_nonce_does_not_open() {
        let original = sealed();
        for at in [0, NONCE_LEN - 1] {
            let mut tampered = original.clone();
            tampered[at] ^= 0x80;
            assert!(open(PRESENTED, CLIENT, SCOPE, &tampered, EXPIRES_AT).is_none(), "byte {at}");
        }
    }

    #[test]
    fn an_extended_sealed_value_does_not_open() {
        let mut extended = sealed();
        extended.push(0);
        assert!(open(PRESENTED, CLIENT, SCOPE, &extended, EXPIRES_AT).is_none());
    }

    #[test]
    fn truncated_sealed_values_give_none_without_panicking() {
        let original = sealed();
        for len in [0, 1, NONCE_LEN - 1, NONCE_LEN, NONCE_LEN + 1, NONCE_LEN + 16, original.len() - 1] {
            assert!(open(PRESENTED, CLIENT, SCOPE, &original[..len], EXPIRES_AT).is_none(), "length {len}");
        }
    }

    #[test]
    fn garbage_gives_none_without_panicking() {
        for garbage in [vec![0u8; NONCE_LEN + 1], vec![0xff; 64], vec![0u8; 4096]] {
            assert!(open(PRESENTED, CLIENT, SCOPE, &garbage, EXPIRES_AT).is_none());
        }
    }

    #[test]
    fn expires_in_counts_down_to_now() {
        let sealed = sealed();
        assert_eq!(open(PRESENTED, CLIENT, SCOPE, &sealed, EXPIRES_AT - 3600).unwrap().expires_in, 3600);
        assert_eq!(open(PRESENTED, CLIENT, SCOPE, &sealed, EXPIRES_AT - 7).unwrap().expires_in, 7);
    }

    #[test]
    fn expires_in_is_zero_at_the_expiry() {
        assert_eq!(open(PRESENTED, CLIENT, SCOPE, &sealed(), EXPIRES_AT).unwrap().expires_in, 0);
    }

    #[test]
    fn expires_in_never_goes_negative_after_the_expiry() {
        let sealed = sealed();
        assert_eq!(open(PRESENTED, CLIENT, SCOPE, &sealed, EXPIRES_AT + 1).unwrap().expires_in, 0);
        assert_eq!(open(PRESENTED, CLIENT, SCOPE, &sealed, EXPIRES_AT + 86_400).unwrap().expires_in, 0);
    }

    #[test]
    fn expires_in_comes_from_the_sealed_expiry_not_the_response() {
        // The response's own expires_in is stale by the time a replay is answered.
        let mut stale = response();
        stale.expires_in = 999_999;
        let sealed = seal(PRESENTED, CLIENT, SCOPE, &stale, EXPIRES_AT).unwrap();
        assert_eq!(open(PRESENTED, CLIENT, SCOPE, &sealed, EXPIRES_AT - 10).unwrap().expires_in, 10);
    }

    #[test]
    fn two_seals_of_the_same_response_differ() {
        let first = sealed();
        let second = sealed();
        assert_ne!(first[..NONCE_LEN], second[..NONCE_LEN], "the nonce is random");
        assert_ne!(first, second);
        assert!(open(PRESENTED, CLIENT, SCOPE, &first, EXPIRES_AT).is_some());
        assert!(open(PRESENTED, CLIENT, SCOPE, &second, EXPIRES_AT).is_some());
    }
}
