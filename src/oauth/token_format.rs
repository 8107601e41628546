//! The token format: a kind prefix, 256 bits from the OS CSPRNG, and a checksum, all in the
//! URL-safe base64 alphabet so a token can be pasted into `curl -d` unencoded.
//!
//! `oat_` + 43 chars (32 random bytes) + 6 chars (first 4 bytes of SHA-256 of what precedes) for
//! access tokens; `ort_` for refresh tokens; `oac_` for authorization codes. A mistyped or
//! truncated token fails the checksum and is rejected without a database read. The database keeps
//! only [`digest`]s.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest as _, Sha256};

use crate::store::{Digest, TokenKind};

const ACCESS_PREFIX: &str = "oat_";
const REFRESH_PREFIX: &str = "ort_";
const CODE_PREFIX: &str = "oac_";
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
    mint_prefixed(prefix(kind))
}

/// Mints an authorization code (RFC 6749 §4.1.2): the token format with the prefix `oac_`.
pub fn mint_code() -> Minted {
    mint_prefixed(CODE_PREFIX)
}

fn mint_prefixed(prefix: &str) -> Minted {
    let mut random = [0u8; 32];
    OsRng.fill_bytes(&mut random);
    let mut token = String::with_capacity(TOKEN_LEN);
    token.push_str(prefix);
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
    well_formed(token).then(|| (kind, digest(token)))
}

/// Recognises an authorization code as [`parse`] recognises a token: its digest, or `None`.
pub fn parse_code(code: &str) -> Option<Digest> {
    (code.len() == TOKEN_LEN && code.is_ascii() && code.starts_with(CODE_PREFIX) && well_formed(code))
        .then(|| digest(code))
}

/// The body's alphabet and the checksum of an ASCII string of [`TOKEN_LEN`] bytes.
fn well_formed(token: &str) -> bool {
    let (head, check) = token.split_at(TOKEN_LEN - CHECK_LEN);
    let body = &head[4..];
    if !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return false;
    }
    let expected = checksum(head);
    bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), check.as_bytes()))
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

    /// A well-formed token of the given kind around `body`, with its correct checksum.
    fn token_with_body(prefix: &str, body: &str) -> String {
        let head = format!("{prefix}{body}");
        let check = checksum(&head);
        format!("{head}{check}")
    }

    fn fresh(kind: TokenKind) -> String {
        reveal(&mint(kind)).to_owned()
    }

    #[test]
    fn minted_access_tokens_parse_as_access_tokens() {
        let m = mint(TokenKind::Access);
        let t = reveal(&m);
        assert!(t.starts_with("oat_"));
        assert_eq!(parse(t), Some((TokenKind::Access, m.digest)));
    }

    #[test]
    fn minted_tokens_are_53_url_safe_characters() {
        for kind in [TokenKind::Access, TokenKind::Refresh] {
            let t = fresh(kind);
            assert_eq!(t.len(), 53);
            assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{t}");
        }
    }

    #[test]
    fn two_minted_tokens_differ() {
        assert_ne!(fresh(TokenKind::Access), fresh(TokenKind::Access));
    }

    #[test]
    fn a_hand_built_token_with_a_correct_checksum_parses() {
        // Guards the helper the other tests rely on.
        let t = token_with_body("oat_", &"A".repeat(BODY_LEN));
        assert_eq!(parse(&t), Some((TokenKind::Access, digest(&t))));
    }

    #[test]
    fn a_token_of_the_wrong_length_does_not_parse() {
        let t = fresh(TokenKind::Access);
        assert_eq!(parse(""), None);
        assert_eq!(parse("oat_"), None);
        assert_eq!(parse(&t[..TOKEN_LEN - 1]), None);
        assert_eq!(parse(&format!("{t}A")), None);
        assert_eq!(parse(&format!("{t}{t}")), None);
        assert_eq!(parse(&format!(" {t}")), None);
    }

    #[test]
    fn a_token_with_a_longer_body_and_a_correct_checksum_does_not_parse() {
        let t = token_with_body("oat_", &"A".repeat(BODY_LEN + 1));
        assert_eq!(parse(&t), None);
    }

    #[test]
    fn a_non_ascii_token_of_the_right_byte_length_does_not_parse_or_panic() {
        let t = fresh(TokenKind::Access);
        // Two ASCII bytes replaced by one two-byte character, at the prefix, in the body, across
        // the body/checksum split and in the checksum: the byte length stays 53.
        for at in [2, 3, 4, 20, TOKEN_LEN - CHECK_LEN - 1, TOKEN_LEN - CHECK_LEN, TOKEN_LEN - 2] {
            let odd = format!("{}é{}", &t[..at], &t[at + 2..]);
            assert_eq!(odd.len(), TOKEN_LEN);
            assert_eq!(parse(&odd), None, "é at {at}");
        }
    }

    #[test]
    fn a_body_character_outside_the_url_safe_alphabet_does_not_parse() {
        // The checksum is recomputed, so only the alphabet check can refuse these.
        for odd in ['+', '/', '=', '.', ' ', '%', '\0', '~'] {
            let body = format!("{}{odd}", "A".repeat(BODY_LEN - 1));
            let t = token_with_body("ort_", &body);
            assert_eq!(t.len(), TOKEN_LEN);
            assert_eq!(parse(&t), None, "{odd:?}");
        }
    }

    #[test]
    fn an_unknown_prefix_does_not_parse_even_with_a_correct_checksum() {
        for prefix in ["OAT_", "oat-", "xyz_", "ort.", "oatx"] {
            let t = token_with_body(prefix, &"A".repeat(BODY_LEN));
            assert_eq!(parse(&t), None, "{prefix}");
        }
    }

    #[test]
    fn swapping_the_prefix_of_an_access_token_breaks_its_checksum() {
        let t = fresh(TokenKind::Access);
        assert_eq!(parse(&t.replacen("oat_", "ort_", 1)), None);
    }

    #[test]
    fn a_token_with_the_checksum_of_another_token_does_not_parse() {
        let a = fresh(TokenKind::Access);
        let b = fresh(TokenKind::Access);
        let split = TOKEN_LEN - CHECK_LEN;
        let mixed = format!("{}{}", &a[..split], &b[split..]);
        assert_ne!(mixed, a);
        assert_eq!(parse(&mixed), None);
    }

    #[test]
    fn a_changed_checksum_character_does_not_parse() {
        let t = fresh(TokenKind::Refresh);
        let mut bytes = t.into_bytes();
        let last = TOKEN_LEN - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(parse(std::str::from_utf8(&bytes).unwrap()), None);
    }

    #[test]
    fn codes_are_tokens_with_their_own_prefix_and_never_parse_as_tokens() {
        let m = mint_code();
        let code = reveal(&m).to_owned();
        assert!(code.starts_with("oac_") && code.len() == TOKEN_LEN, "{code}");
        assert_eq!(parse_code(&code), Some(m.digest));
        assert_eq!(parse(&code), None, "a code is not a token");
        assert_eq!(parse_code(&fresh(TokenKind::Access)), None, "a token is not a code");
        assert_eq!(parse_code(&code[..TOKEN_LEN - 1]), None);
        assert_eq!(parse_code(&code.replacen("oac_", "oat_", 1)), None);
        let mut typo = code.into_bytes();
        typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
        assert_eq!(parse_code(std::str::from_utf8(&typo).unwrap()), None);
        assert_eq!(parse_code("oac_é"), None);
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_token_text() {
        // FIPS 180-2 test vector: SHA-256("abc").
        let expected = Digest::new([
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03,
            0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
        ]);
        assert_eq!(digest("abc"), expected);
    }

    #[test]
    fn the_digest_of_a_token_is_stable_and_matches_what_mint_and_parse_give() {
        let m = mint(TokenKind::Access);
        let t = reveal(&m);
        assert_eq!(digest(t), m.digest);
        assert_eq!(digest(t), digest(t));
        assert_eq!(parse(t).map(|(_, d)| d), Some(m.digest));
        assert_ne!(digest(t), digest(&fresh(TokenKind::Access)));
    }
}
