//! The console's forms as name/value pairs: checkboxes repeat a name (`grant_type`, `scope`),
//! which a struct cannot hold, so a form is read as its pairs and asked for one value or all.

/// A POSTed form's fields, in order.
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; empty when absent.
    pub fn one(&self, name: &str) -> String {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
    }

    /// Every non-empty value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(n, v)| n == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    }

    /// The lines of a textarea `name`, trimmed, without empty ones.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.one(name).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str) -> Fields {
        Fields(serde_urlencoded::from_str(body).unwrap())
    }

    #[test]
    fn repeated_names_are_all_kept_and_empty_values_dropped() {
        let f = fields("grant_type=password&scope=A&grant_type=refresh_token&scope=&name=+x+");
        assert_eq!(f.all("grant_type"), ["password", "refresh_token"]);
        assert_eq!(f.all("scope"), ["A"]);
        assert_eq!(f.one("name"), "x");
        assert_eq!(f.one("missing"), "");
        assert!(f.has("scope") && !f.has("public"));
    }

    #[test]
    fn a_textarea_is_read_line_by_line() {
        let f = fields("redirect_uris=https%3A%2F%2Fa%2Fcb%0D%0A%0D%0A++https%3A%2F%2Fb%2Fcb+");
        assert_eq!(f.lines("redirect_uris"), ["https://a/cb", "https://b/cb"]);
    }
}
