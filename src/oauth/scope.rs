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
