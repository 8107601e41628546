//! Request parameters of the form-encoded endpoints (RFC 6749 §3.2, §4.1.3; RFC 7009 §2.1).
//! "Parameters sent without a value MUST be treated as if they were omitted from the request."
//! (§3.1) and "Request and response parameters MUST NOT be included more than once." (§3.1, §3.2)

use std::collections::HashMap;

use super::error::OAuthError;

#[derive(Default)]
pub struct Params(HashMap<String, String>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values carry secrets (passwords, tokens, client secrets): names only.
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body, refusing repeated parameters.
    pub fn parse(body: &[u8]) -> Result<Params, OAuthError> {
        // The form decoder replaces invalid UTF-8 with U+FFFD, so that different bytes (a
        // password's) would read the same: refuse them instead. Decoding the whole body at once is
        // exact, as the separators `&`, `=` and `+` are ASCII and never part of a longer character.
        if percent_encoding::percent_decode(body).decode_utf8().is_err() {
            return Err(OAuthError::invalid_request("the request body is not valid UTF-8 form data"));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| OAuthError::invalid_request("the request body is not valid form data"))?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            if map.contains_key(&name) {
                return Err(OAuthError::invalid_request(format!("parameter `{}` is repeated", printable(&name))));
            }
            map.insert(name, value);
        }
        Ok(Params(map))
    }

    /// A parameter's value; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("the `{name}` parameter is missing")))
    }
}

/// A parameter name fit to echo in an error description: short and printable.
fn printable(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_graphic()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::error::ErrorCode;

    fn parse(body: &str) -> Params {
        Params::parse(body.as_bytes()).unwrap()
    }

    fn refused(body: &[u8]) -> OAuthError {
        Params::parse(body).unwrap_err()
    }

    #[test]
    fn each_parameter_is_read_by_name() {
        let p = parse("grant_type=password&username=alice&scope=read");
        assert_eq!(p.get("grant_type"), Some("password"));
        assert_eq!(p.get("username"), Some("alice"));
        assert_eq!(p.get("scope"), Some("read"));
        assert_eq!(p.get("password"), None);
    }

    #[test]
    fn an_empty_body_has_no_parameters() {
        let p = parse("");
        assert_eq!(p.get("grant_type"), None);
        assert_eq!(format!("{p:?}"), "[]");
    }

    #[test]
    fn parameter_names_are_case_sensitive() {
        let p = parse("Grant_Type=password");
        assert_eq!(p.get("grant_type"), None);
        assert_eq!(p.get("Grant_Type"), Some("password"));
    }

    #[test]
    fn a_repeated_parameter_is_invalid_request() {
        let err = refused(b"grant_type=password&scope=a&scope=b");
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.description.contains("`scope`"), "{}", err.description);
    }

    #[test]
    fn a_repeated_parameter_with_the_same_value_is_invalid_request() {
        assert_eq!(refused(b"scope=a&scope=a").code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_repeat_with_an_empty_value_is_still_invalid_request() {
        // An empty value counts as absent when read, but the parameter was still sent twice.
        assert_eq!(refused(b"scope=read&scope=").code, ErrorCode::InvalidRequest);
        assert_eq!(refused(b"scope=&scope=read").code, ErrorCode::InvalidRequest);
        assert_eq!(refused(b"scope=&scope=").code, ErrorCode::InvalidRequest);
        assert_eq!(refused(b"scope&scope").code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn the_error_for_a_repeated_parameter_never_quotes_its_values() {
        let err = refused(b"password=hunter2&password=s3cr3t");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn a_repeat_spelled_with_percent_escapes_is_still_a_repeat() {
        assert_eq!(refused(b"scope=a&%73cope=b").code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_repeated_parameter_name_is_echoed_printable_and_short() {
        let name = format!("a\u{7}\u{1b}[31m{}", "x".repeat(100));
        let body = format!("{name}=1&{name}=2");
        let err = refused(body.as_bytes());
        assert!(!err.description.contains('\u{1b}'), "{}", err.description);
        assert!(!err.description.contains('\u{7}'), "{}", err.description);
        assert!(err.description.contains(&format!("`a[31m{}`", "x".repeat(35))), "{}", err.description);
        assert!(!err.description.contains(&"x".repeat(36)), "{}", err.description);
    }

    #[test]
    fn an_empty_value_counts_as_absent() {
        let p = parse("scope=&username=alice");
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.require("scope").unwrap_err().code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_name_without_an_equals_sign_counts_as_absent() {
        assert_eq!(parse("scope").get("scope"), None);
    }

    #[test]
    fn require_returns_a_present_value_and_names_a_missing_one() {
        let p = parse("username=alice");
        assert_eq!(p.require("username").unwrap(), "alice");
        let err = p.require("password").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.description.contains("`password`"), "{}", err.description);
    }

    #[test]
    fn a_plus_sign_decodes_to_a_space() {
        assert_eq!(parse("scope=read+write").get("scope"), Some("read write"));
    }

    #[test]
    fn percent_20_decodes_to_a_space_and_percent_2b_to_a_plus() {
        let p = parse("scope=read%20write&password=a%2Bb");
        assert_eq!(p.get("scope"), Some("read write"));
        assert_eq!(p.get("password"), Some("a+b"));
    }

    #[test]
    fn percent_escapes_of_delimiters_stay_inside_the_value() {
        let p = parse("password=a%26b%3Dc&username=u");
        assert_eq!(p.get("password"), Some("a&b=c"));
        assert_eq!(p.get("username"), Some("u"));
    }

    #[test]
    fn percent_escapes_decode_as_utf8() {
        let p = parse("username=%C3%A9l%C3%A8ve&password=%E2%82%AC%F0%9F%94%91");
        assert_eq!(p.get("username"), Some("élève"));
        assert_eq!(p.get("password"), Some("€🔑"));
    }

    #[test]
    fn raw_utf8_in_the_body_is_kept() {
        assert_eq!(parse("username=élève").get("username"), Some("élève"));
    }

    #[test]
    fn a_bad_percent_escape_is_kept_literally() {
        // The WHATWG urlencoded parser, which serde_urlencoded follows, leaves a `%` that does
        // not start two hex digits as it is.
        let p = parse("a=%&b=%4&c=%ZZ&d=100%");
        assert_eq!(p.get("a"), Some("%"));
        assert_eq!(p.get("b"), Some("%4"));
        assert_eq!(p.get("c"), Some("%ZZ"));
        assert_eq!(p.get("d"), Some("100%"));
    }

    #[test]
    fn percent_encoded_invalid_utf8_is_invalid_request() {
        // RFC 6749 Appendix B: names and values are UTF-8. Replacing bad bytes with U+FFFD makes
        // different credentials (`%FF`, `%FE`, `%C3`) read as the same string.
        for body in [&b"password=%FF"[..], b"password=%C3", b"password=%C3%28", b"%FF=x"] {
            assert_eq!(refused(body).code, ErrorCode::InvalidRequest, "{body:?}");
        }
    }

    #[test]
    fn raw_invalid_utf8_in_the_body_is_invalid_request() {
        assert_eq!(refused(b"password=\xff\xfe").code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_json_body_yields_none_of_the_parameters() {
        // Not form data, but every byte string parses as some form: the JSON text becomes one
        // odd parameter name, and the grant then finds its parameters missing.
        let p = parse(r#"{"grant_type":"password","username":"alice"}"#);
        assert_eq!(p.get("grant_type"), None);
        assert_eq!(p.get("username"), None);
        assert_eq!(p.require("grant_type").unwrap_err().code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn stray_ampersands_are_ignored() {
        let p = parse("&&username=alice&&");
        assert_eq!(p.get("username"), Some("alice"));
    }

    #[test]
    fn debug_names_the_parameters_but_never_prints_their_values() {
        let p = parse("grant_type=client_credentials&password=hunter2&client_secret=s3cr3t&refresh_token=ort_abc");
        let shown = format!("{p:?} {p:#?}");
        for value in ["client_credentials", "hunter2", "s3cr3t", "ort_abc"] {
            assert!(!shown.contains(value), "{shown}");
        }
        for name in ["grant_type", "password", "client_secret", "refresh_token"] {
            assert!(shown.contains(name), "{shown}");
        }
    }
}
