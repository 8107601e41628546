//! Proof Key for Code Exchange, RFC 7636, with the S256 method only (RFC 9700 §2.1.1: "`S256` …
//! SHOULD be used"; `plain` protects nothing once the authorization request is seen, so oauthd
//! refuses it, as RFC 7636 §4.4.1 allows: "If the server … does not support the requested
//! transformation, the authorization endpoint MUST return … invalid_request").

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// The one `code_challenge_method` oauthd accepts.
pub const S256: &str = "S256";

/// Length of an S256 challenge: BASE64URL without padding of a 32-byte SHA-256.
const CHALLENGE_LEN: usize = 43;

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`, `unreserved = ALPHA / DIGIT / "-" / "." /
/// "_" / "~"`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `challenge` can be an S256 challenge (RFC 7636 §4.2:
/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`): 43 characters of the base64url alphabet.
/// Anything else could never match a verifier, so it is refused when the request is made.
pub fn is_valid_challenge(challenge: &str) -> bool {
    challenge.len() == CHALLENGE_LEN && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The S256 challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.6: "the server verifies it by calculating the code challenge from the received
/// "code_verifier" and comparing it with the previously associated "code_challenge"". Compared in
/// constant time.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    is_valid_verifier(verifier) && bool::from(challenge_of(verifier).as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies() {
        assert_eq!(challenge_of(VERIFIER), CHALLENGE);
        assert!(verify(VERIFIER, CHALLENGE));
        assert!(is_valid_challenge(CHALLENGE));
    }

    #[test]
    fn another_verifier_or_challenge_does_not_verify() {
        let other = format!("{}A", &VERIFIER[..VERIFIER.len() - 1]);
        assert!(!verify(&other, CHALLENGE));
        assert!(!verify(VERIFIER, &challenge_of(&other)));
        assert!(!verify(VERIFIER, VERIFIER), "plain is not accepted");
        assert!(!verify(VERIFIER, ""));
    }

    #[test]
    fn a_verifier_is_43_to_128_unreserved_characters() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"a".repeat(128)));
        assert!(is_valid_verifier("AZaz09-._~AZaz09-._~AZaz09-._~AZaz09-._~xyz"));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        for odd in ['+', '/', '=', ' ', '%', 'é', '\0'] {
            let verifier = format!("{}{odd}", "a".repeat(43));
            assert!(!is_valid_verifier(&verifier), "{odd:?}");
        }
    }

    #[test]
    fn a_short_verifier_never_verifies_even_against_its_own_challenge() {
        let short = "a".repeat(42);
        assert!(!verify(&short, &challenge_of(&short)));
    }

    #[test]
    fn a_challenge_is_43_base64url_characters() {
        assert!(!is_valid_challenge(&CHALLENGE[..42]));
        assert!(!is_valid_challenge(&format!("{CHALLENGE}A")));
        assert!(!is_valid_challenge(&CHALLENGE.replace('-', "+")));
        assert!(!is_valid_challenge(&format!("{}=", &CHALLENGE[..42])));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn checking_arbitrary_text_never_panics(verifier in ".{0,140}", challenge in ".{0,60}") {
            let _ = is_valid_verifier(&verifier);
            let _ = is_valid_challenge(&challenge);
            let _ = verify(&verifier, &challenge);
        }

        #[test]
        fn every_valid_verifier_verifies_against_its_challenge(verifier in "[A-Za-z0-9._~-]{43,128}") {
            let challenge = challenge_of(&verifier);
            prop_assert!(is_valid_challenge(&challenge));
            prop_assert!(verify(&verifier, &challenge));
        }
    }
}
