//! The token format: a kind prefix, 256 bits from the OS CSPRNG, and a checksum, all in the
//! URL-safe base64 alphabet so a token can be pasted into `curl -d` unencoded.
//!
//! `oat_` + 43 chars (32 random bytes) + 6 chars (first 4 bytes of SHA-256 of what precedes) for
//! access tokens; `ort_` for refresh tokens. A mistyped or truncated token fails the checksum and
//! is rejected without a database read. The database keeps only [`digest`]s.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest as _, Sha256};

use crate::store::{Digest, TokenKind};

const ACCESS_PREFIX: &str = "oat_";
const REFRESH_PREFIX: &str = "ort_";
const BODY_LEN: usize = 43;
const CHECK_LEN: usize = 6;
const TOKEN_LEN: usize = 4 + BODY_LEN + CHECK_LEN;

fn prefix(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => ACCESS_PREFIX,
        TokenKind::Refresh => REFRESH_PREFIX,
    }
}

/// A freshly minted token: the text to hand out once, and the digest to store.
pub struct Minted {
    pub token: SecretString,
    pub digest: Digest,
}

/// Mints a new token of the given kind.
pub fn mint(kind: TokenKind) -> Minted {
    let mut random = [0u8; 32];
    OsRng.fill_bytes(&mut random);
    let mut token = String::with_capacity(TOKEN_LEN);
    token.push_str(prefix(kind));
    URL_SAFE_NO_PAD.encode_string(random, &mut token);
    let check = checksum(&token);
    token.push_str(&check);
    let digest = digest(&token);
    Minted { token: SecretString::from(token), digest }
}

fn checksum(head: &str) -> String {
    let hash = Sha256::digest(head.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash[..4])
}

/// SHA-256 of the token's text: the only form in which tokens are stored.
pub fn digest(token: &str) -> Digest {
    Digest::new(Sha256::digest(token.as_bytes()).into())
}

/// Recognises a token by its prefix and checks its checksum. `None` for anything that is not a
/// well-formed oauthd token, so callers answer "unknown" without touching the database.
pub fn parse(token: &str) -> Option<(TokenKind, Digest)> {
    if token.len() != TOKEN_LEN || !token.is_ascii() {
        return None;
    }
    let kind = if token.starts_with(ACCESS_PREFIX) {
        TokenKind::Access
    } else if token.starts_with(REFRESH_PREFIX) {
        TokenKind::Refresh
    } else {
        return None;
    };
    let (head, check) = token.split_at(TOKEN_LEN - CHECK_LEN);
    let body = &head[4..];
    if !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let expected = checksum(head);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), check.as_bytes())) {
        return None;
    }
    Some((kind, digest(token)))
}

/// Exposes a minted token's text; for building responses only.
pub fn reveal(minted: &Minted) -> &str {
    minted.token.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_damaged_ones_do_not() {
        let m = mint(TokenKind::Refresh);
        let t = reveal(&m).to_owned();
        assert!(t.starts_with("ort_"));
        assert_eq!(parse(&t), Some((TokenKind::Refresh, m.digest)));
        assert_eq!(parse(&t[..t.len() - 1]), None);
        let mut typo = t.clone().into_bytes();
        typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
        assert_eq!(parse(std::str::from_utf8(&typo).unwrap_or_default()), None);
        assert_eq!(parse(&t.replacen("ort_", "oat_", 1)), None);
    }
}
