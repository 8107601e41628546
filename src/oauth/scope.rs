//! Scopes, RFC 6749 §3.3: a space-delimited, case-sensitive list of scope tokens, each
//! `1*( %x21 / %x23-5B / %x5D-7E )`. Kept as a set, so order and repeats do not matter.

use std::collections::BTreeSet;
use std::fmt;

use super::error::OAuthError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a `scope` parameter or stored scope column.
    pub fn parse(text: &str) -> Result<Scope, OAuthError> {
        let mut set = BTreeSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_char) {
                return Err(OAuthError::invalid_scope("the scope is malformed (RFC 6749 section 3.3)"));
            }
            set.insert(token.to_owned());
        }
        Ok(Scope(set))
    }

    pub fn from_list(items: &[String]) -> Scope {
        Scope(items.iter().cloned().collect())
    }

    pub fn is_subset(&self, of: &Scope) -> bool {
        self.0.is_subset(&of.0)
    }

    /// The scopes of either.
    pub fn union(&self, other: &Scope) -> Scope {
        Scope(self.0.union(&other.0).cloned().collect())
    }

    /// The scope tokens, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scope a grant asks for, checked against what the client may have. Without a `scope`
    /// parameter the client's default scopes apply (RFC 6749 §3.3: "process the request using a
    /// pre-defined default value").
    pub fn for_client(requested: Option<&str>, allowed: &[String], defaults: &[String]) -> Result<Scope, OAuthError> {
        let allowed = Scope::from_list(allowed);
        let Some(text) = requested else {
            return Ok(Scope::from_list(defaults));
        };
        let scope = Scope::parse(text)?;
        if !scope.is_subset(&allowed) {
            return Err(OAuthError::invalid_scope("the requested scope exceeds the scope granted to this client"));
        }
        Ok(scope)
    }
}

fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::error::ErrorCode;

    fn scope(text: &str) -> Scope {
        Scope::parse(text).unwrap()
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_empty_scope_parses_to_no_scope() {
        assert!(scope("").is_empty());
    }

    #[test]
    fn a_scope_of_only_spaces_parses_to_no_scope() {
        assert!(scope("   ").is_empty());
    }

    #[test]
    fn repeated_leading_and_trailing_spaces_separate_nothing_extra() {
        assert_eq!(scope("  read   write  "), Scope::from_list(&list(&["read", "write"])));
    }

    #[test]
    fn duplicate_scope_tokens_collapse_into_one() {
        assert_eq!(scope("read read write read"), scope("read write"));
        assert_eq!(scope("read read").to_string(), "read");
    }

    #[test]
    fn the_order_of_scope_tokens_does_not_matter() {
        assert_eq!(scope("write read admin"), scope("admin read write"));
    }

    #[test]
    fn scope_tokens_are_case_sensitive() {
        assert_ne!(scope("read"), scope("READ"));
    }

    #[test]
    fn a_space_separates_tokens_rather_than_belonging_to_one() {
        // 0x20 is the delimiter of RFC 6749 §3.3, never part of a scope token.
        assert_eq!(scope("a b"), Scope::from_list(&list(&["a", "b"])));
    }

    #[test]
    fn the_allowed_bytes_at_the_rfc_boundaries_parse() {
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        for allowed in ["!", "#", "[", "]", "~", "a!b#c[d]e~"] {
            assert_eq!(scope(allowed).to_string(), allowed, "{allowed:?} should be a scope token");
        }
    }

    #[test]
    fn the_forbidden_bytes_at_the_rfc_boundaries_are_invalid_scope() {
        for forbidden in ["\"", "\\", "\x7f", "read\"", "re\\ad", "read\x7f"] {
            let err = Scope::parse(forbidden).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidScope, "{forbidden:?} should be refused");
        }
    }

    #[test]
    fn every_ascii_byte_is_allowed_exactly_when_the_rfc_allows_it() {
        for b in 0u8..=0x7f {
            if b == b' ' {
                continue;
            }
            let text = format!("x{}", char::from(b));
            let rfc_allows = (0x21..=0x7e).contains(&b) && b != 0x22 && b != 0x5c;
            assert_eq!(Scope::parse(&text).is_ok(), rfc_allows, "byte {b:#04x}");
        }
    }

    #[test]
    fn control_characters_and_tabs_are_not_delimiters() {
        for text in ["read\twrite", "read\nwrite", "read\rwrite", "\0"] {
            assert_eq!(Scope::parse(text).unwrap_err().code, ErrorCode::InvalidScope, "{text:?}");
        }
    }

    #[test]
    fn non_ascii_scope_tokens_are_invalid_scope() {
        for text in ["café", "read ü", "\u{a0}", "read\u{3000}write"] {
            assert_eq!(Scope::parse(text).unwrap_err().code, ErrorCode::InvalidScope, "{text:?}");
        }
    }

    #[test]
    fn one_bad_token_spoils_the_whole_scope() {
        assert!(Scope::parse("read write\" admin").is_err());
    }

    #[test]
    fn display_joins_the_tokens_sorted_with_single_spaces() {
        assert_eq!(scope("  write   read ").to_string(), "read write");
        assert_eq!(scope("").to_string(), "");
    }

    #[test]
    fn display_then_parse_gives_back_the_same_scope() {
        for text in ["", "read", "write read", "! # [ ] ~", "a:b c/d e.f"] {
            let parsed = scope(text);
            assert_eq!(scope(&parsed.to_string()), parsed, "{text:?}");
        }
    }

    #[test]
    fn from_list_collapses_duplicates_like_parse() {
        assert_eq!(Scope::from_list(&list(&["b", "a", "b"])), scope("a b"));
    }

    #[test]
    fn no_scope_is_a_subset_of_every_scope() {
        assert!(scope("").is_subset(&scope("")));
        assert!(scope("").is_subset(&scope("read")));
    }

    #[test]
    fn a_scope_is_a_subset_of_itself_and_of_a_larger_scope() {
        assert!(scope("read").is_subset(&scope("read")));
        assert!(scope("read").is_subset(&scope("read write")));
    }

    #[test]
    fn a_larger_or_disjoint_scope_is_not_a_subset() {
        assert!(!scope("read write").is_subset(&scope("read")));
        assert!(!scope("admin").is_subset(&scope("read write")));
        assert!(!scope("read").is_subset(&scope("")));
    }

    #[test]
    fn without_a_scope_parameter_the_client_gets_its_default_scopes() {
        let got = Scope::for_client(None, &list(&["read", "write"]), &list(&["read"])).unwrap();
        assert_eq!(got, scope("read"));
    }

    #[test]
    fn without_a_scope_parameter_or_defaults_the_client_gets_no_scope() {
        let got = Scope::for_client(None, &list(&["read"]), &[]).unwrap();
        assert!(got.is_empty());
    }

    #[test]
    fn a_requested_scope_within_the_allowed_one_is_granted_as_requested() {
        let got = Scope::for_client(Some("write"), &list(&["read", "write"]), &list(&["read"])).unwrap();
        assert_eq!(got, scope("write"));
    }

    #[test]
    fn a_requested_scope_outside_the_allowed_one_is_invalid_scope() {
        let err = Scope::for_client(Some("read admin"), &list(&["read", "write"]), &[]).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn the_allowed_scope_is_compared_case_sensitively() {
        let err = Scope::for_client(Some("Read"), &list(&["read"]), &[]).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn a_malformed_requested_scope_is_invalid_scope_even_if_allowed() {
        let err = Scope::for_client(Some("re\"ad"), &list(&["re\"ad"]), &[]).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn a_client_allowed_no_scope_may_ask_for_none_but_not_for_any() {
        assert!(Scope::for_client(None, &[], &[]).unwrap().is_empty());
        assert!(Scope::for_client(Some(""), &[], &[]).unwrap().is_empty());
        assert_eq!(Scope::for_client(Some("read"), &[], &[]).unwrap_err().code, ErrorCode::InvalidScope);
    }
}
