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
