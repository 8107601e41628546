//! `server.issuer`, parsed once into the one type every reader uses: whether oauthd is behind a
//! TLS-terminating proxy, the RFC 8414 metadata, `iss` in introspection answers and redirects.
//! Parsing normalises it (the URL parser lowercases the scheme and host and trims surrounding
//! spaces), so a rule that asks "is it https?" asks the parsed URL, never the text as written:
//! `HTTPS://…` and ` https://…` are https everywhere or nowhere.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use serde::Deserialize;

/// A validated issuer identifier (RFC 8414 §2): an absolute `https` URL (or `http` on a loopback
/// host) without query or fragment, whose host is not a wildcard address. Held without a
/// trailing slash, as it is published.
#[derive(Clone, PartialEq, Eq)]
pub struct Issuer {
    text: String,
    https: bool,
    loopback: bool,
}

impl Issuer {
    /// Parses and validates `text`; the error says what is wrong, for a message naming the setting.
    pub fn parse(text: &str) -> Result<Issuer, String> {
        let url =
            url::Url::parse(text).map_err(|_| "must be an absolute URL such as https://auth.example.com".to_owned())?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment (RFC 8414 section 2)".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not hold a user name or password".into());
        }
        let ip = match url.host() {
            Some(url::Host::Domain(d)) => (d == "localhost").then_some(IpAddr::from([127, 0, 0, 1])),
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            None => return Err("must be an absolute URL such as https://auth.example.com".into()),
        };
        if ip.is_some_and(|ip| ip.is_unspecified()) {
            return Err("must name this server as clients reach it, not a wildcard address (0.0.0.0, ::)".into());
        }
        let loopback = ip.is_some_and(|ip| ip.to_canonical().is_loopback());
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err("must be an https URL".into()),
        };
        let text = url.as_str().trim_end_matches('/').to_owned();
        Ok(Issuer { text, https, loopback })
    }

    /// The issuer of a listener serving at `scheme://address` itself (no `server.issuer` set), a
    /// wildcard address replaced by loopback (`Settings::check_serving` refuses to serve on a
    /// wildcard address without an issuer; this keeps the type's promise regardless).
    pub fn of_listener(https: bool, mut address: SocketAddr) -> Issuer {
        if address.ip().is_unspecified() {
            address.set_ip(match address.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        // A socket address with a concrete IP is always a valid URL authority.
        let text = format!("{}://{address}", if https { "https" } else { "http" });
        Issuer { text, https, loopback: address.ip().to_canonical().is_loopback() }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether the host is `localhost` or a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl FromStr for Issuer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Issuer::parse(s)
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

/// `server.issuer` as configured: empty (derived from the listener) or a valid issuer.
pub fn deserialize_optional<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Issuer>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Ok(None);
    }
    Issuer::parse(&text).map(Some).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> bool {
        Issuer::parse(text).is_ok()
    }

    #[test]
    fn an_https_issuer_is_accepted_with_or_without_a_path_or_port() {
        for issuer in ["https://auth.example.com", "https://auth.example.com/", "https://auth.example.com:8443/oauth"] {
            assert!(ok(issuer), "{issuer}");
        }
    }

    #[test]
    fn plain_http_parses_for_any_host_and_says_whether_it_is_loopback() {
        for issuer in ["http://localhost", "http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080/"] {
            let parsed = Issuer::parse(issuer).unwrap();
            assert!(!parsed.is_https() && parsed.is_loopback(), "{issuer}");
        }
        for issuer in ["http://auth.example.com", "http://localhost.example.com", "http://10.0.0.1", "http://[fe80::1]"]
        {
            let parsed = Issuer::parse(issuer).unwrap();
            assert!(!parsed.is_https() && !parsed.is_loopback(), "{issuer}");
        }
    }

    #[test]
    fn a_wildcard_host_is_refused_on_either_scheme() {
        for issuer in
            ["http://0.0.0.0:8080", "https://0.0.0.0:8443", "http://[::]:8080", "https://[::]", "https://0.0.0.0"]
        {
            let err = Issuer::parse(issuer).unwrap_err();
            assert!(err.contains("wildcard"), "{issuer}: {err}");
        }
    }

    #[test]
    fn a_query_a_fragment_or_credentials_are_refused() {
        for issuer in [
            "https://auth.example.com/?tenant=1",
            "https://auth.example.com/?",
            "https://auth.example.com/#top",
            "https://auth.example.com/#",
            "https://user:pw@auth.example.com",
        ] {
            assert!(!ok(issuer), "{issuer}");
        }
    }

    #[test]
    fn what_is_not_an_absolute_http_url_is_refused() {
        for issuer in [
            "auth.example.com",
            "/oauth",
            "https://",
            "not a url",
            " ",
            "ftp://auth.example.com",
            "file:///etc/oauthd",
            "urn:oauthd",
            "wss://auth.example.com",
        ] {
            assert!(!ok(issuer), "{issuer:?}");
        }
    }

    #[test]
    fn the_scheme_is_https_however_it_is_written() {
        for issuer in [
            "HTTPS://auth.example.com",
            "Https://Auth.Example.COM/",
            " https://auth.example.com",
            "https://auth.example.com ",
        ] {
            let parsed = Issuer::parse(issuer).unwrap();
            assert!(parsed.is_https(), "{issuer:?}");
            assert_eq!(parsed.as_str(), "https://auth.example.com", "{issuer:?} is normalised");
        }
        let upper_http = Issuer::parse("HTTP://LOCALHOST:8080").unwrap();
        assert!(!upper_http.is_https() && upper_http.is_loopback());
        assert_eq!(upper_http.as_str(), "http://localhost:8080");
    }

    #[test]
    fn the_published_issuer_drops_trailing_slashes_and_keeps_its_path() {
        assert_eq!(Issuer::parse("https://auth.example.com/").unwrap().as_str(), "https://auth.example.com");
        assert_eq!(
            Issuer::parse("https://auth.example.com:8443/oauth/").unwrap().as_str(),
            "https://auth.example.com:8443/oauth"
        );
    }

    #[test]
    fn a_listener_issuer_is_its_own_address() {
        let local = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(Issuer::of_listener(false, local), Issuer::parse("http://127.0.0.1:8080").unwrap());
        assert_eq!(Issuer::of_listener(true, local), Issuer::parse("https://127.0.0.1:8080").unwrap());
        assert_eq!(
            Issuer::of_listener(false, "[::1]:8080".parse().unwrap()),
            Issuer::parse("http://[::1]:8080").unwrap()
        );
        let wildcard = Issuer::of_listener(false, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(wildcard.as_str(), "http://127.0.0.1:8080", "never a wildcard");
    }
}
