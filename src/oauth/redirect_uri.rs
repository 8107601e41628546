//! Redirection URIs (RFC 6749 §3.1.2): which may be registered, and how the `redirect_uri` of an
//! authorization request is matched against a client's registered ones.
//!
//! **Matching** is exact string comparison (RFC 9700 §4.1.3: "the authorization server MUST
//! ensure that the two URIs are equal, see RFC 3986 §6.2.1, Simple String Comparison"), with the
//! one exception RFC 9700 names: loopback redirects of native apps (RFC 8252 §7.3),
//! `http://127.0.0.1:{port}/{path}` and `http://[::1]:{port}/{path}`, match a registered loopback
//! URI of the same host literal whatever the port — "The authorization server MUST allow any port
//! to be specified at the time of the request for loopback IP redirect URIs". Everything but the
//! port still compares exactly, character for character.
//!
//! **Registration** refuses what exact matching cannot make safe: relative URIs, fragments
//! (§3.1.2: "The endpoint URI MUST NOT include a fragment component"), wildcards, user
//! information, whitespace, non-ASCII text, and every scheme but `https` (RFC 9700 §2.6, RFC 6749
//! §3.1.2.1) — except the loopback `http` URIs above. `http://localhost` is refused too, with a
//! message pointing at the IP literals: RFC 8252 §8.3 calls `localhost` NOT RECOMMENDED, because
//! the name can resolve to something other than the loopback interface (a hosts file, a resolver),
//! and a code sent there could leave the device; `127.0.0.1` and `[::1]` cannot. The check on the
//! raw text, not on a parsed and normalised URL, is deliberate: what is registered is what
//! requests are compared with.

/// Longest redirect URI accepted at registration.
pub const MAX_LEN: usize = 2000;

/// The two loopback IP literals of RFC 8252 §7.3, as they appear after `http://`.
const LOOPBACK_HOSTS: [&str; 2] = ["127.0.0.1", "[::1]"];

/// A loopback redirect URI (RFC 8252 §7.3) split around its port.
#[derive(Debug, PartialEq, Eq)]
struct Loopback<'a> {
    /// `127.0.0.1` or `[::1]`.
    host: &'a str,
    port: Option<u16>,
    /// Everything after the port: empty, or starting with `/` or `?`.
    rest: &'a str,
}

/// Reads `uri` as a loopback redirect URI: `http://` (lower case), a loopback IP literal, an
/// optional port of 1-5 digits (1-65535), then nothing or a path or query. `None` for anything
/// else — including look-alikes such as `http://127.0.0.1.evil.example/` or
/// `http://127.0.0.1@evil.example/`, whose text after the literal is neither.
fn loopback(uri: &str) -> Option<Loopback<'_>> {
    let after_scheme = uri.strip_prefix("http://")?;
    let host = LOOPBACK_HOSTS.into_iter().find(|h| after_scheme.starts_with(h))?;
    let after_host = &after_scheme[host.len()..];
    let (port, rest) = match after_host.strip_prefix(':') {
        Some(tail) => {
            let digits = tail.find(|c: char| !c.is_ascii_digit()).unwrap_or(tail.len());
            if digits == 0 || digits > 5 {
                return None;
            }
            let port: u16 = tail[..digits].parse().ok().filter(|p| *p > 0)?;
            (Some(port), &tail[digits..])
        }
        None => (None, after_host),
    };
    if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
        return None;
    }
    Some(Loopback { host, port, rest })
}

/// Whether a requested redirect URI matches one registered URI: the same string, or both loopback
/// URIs of the same host literal that differ at most in the port.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (loopback(registered), loopback(requested)) {
        (Some(r), Some(q)) => r.host == q.host && r.rest == q.rest,
        _ => false,
    }
}

/// Whether `requested` matches any of the client's registered redirect URIs.
pub fn is_registered(registered: &[String], requested: &str) -> bool {
    registered.iter().any(|r| matches(r, requested))
}

/// Checks a redirect URI an operator registers; the error says what is wrong and what to write.
pub fn validate(uri: &str) -> Result<(), String> {
    if uri.is_empty() {
        return Err("a redirect URI cannot be empty".into());
    }
    if uri.len() > MAX_LEN {
        return Err(format!("a redirect URI must be at most {MAX_LEN} characters"));
    }
    if !uri.is_ascii() {
        return Err("a redirect URI must be ASCII (percent-encode other characters)".into());
    }
    if uri.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
        return Err("a redirect URI cannot contain spaces or control characters".into());
    }
    if uri.contains('#') {
        // RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
        return Err("a redirect URI cannot have a fragment (#…)".into());
    }
    if uri.contains('*') {
        // RFC 9700 §4.1.3: exact matching; no patterns.
        return Err("a redirect URI cannot contain wildcards (*): register each URI exactly".into());
    }
    let parsed = url::Url::parse(uri)
        .map_err(|_| "a redirect URI must be an absolute URI such as https://app.example.com/callback".to_owned())?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a redirect URI cannot carry user information (user@…)".into());
    }
    match parsed.scheme() {
        "https" if uri.starts_with("https://") && parsed.host().is_some() => Ok(()),
        "https" => Err("write an https redirect URI as https://host/path".into()),
        "http" if loopback(uri).is_some() => Ok(()),
        "http" if parsed.host_str().is_some_and(|h| h.eq_ignore_ascii_case("localhost")) => Err(
            "use http://127.0.0.1:PORT/… or http://[::1]:PORT/… instead of localhost: the name may resolve off the \
             loopback interface (RFC 8252 section 8.3)"
                .into(),
        ),
        "http" => Err("a redirect URI must use https; plain http only for loopback redirects of native apps, written \
             http://127.0.0.1:PORT/… or http://[::1]:PORT/… (RFC 8252 section 7.3)"
            .into()),
        _ => Err("a redirect URI must use https (or http for a loopback IP literal)".into()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_uri_matches_itself_exactly() {
        assert!(matches("https://app.example.com/cb", "https://app.example.com/cb"));
        assert!(matches("https://app.example.com/cb?a=1", "https://app.example.com/cb?a=1"));
    }

    #[test]
    fn exact_matching_refuses_any_other_spelling() {
        let registered = "https://app.example.com/cb";
        for requested in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/cb#frag",
            "https://APP.example.com/cb",
            "https://app.example.com:443/cb",
            "https://app.example.com/CB",
            "https://app.example.com/c%62",
            "http://app.example.com/cb",
            "https://app.example.com/cb/../cb",
            "https://app.example.com/c",
            " https://app.example.com/cb",
            "",
        ] {
            assert!(!matches(registered, requested), "{requested}");
        }
    }

    #[test]
    fn a_loopback_uri_matches_whatever_the_port() {
        for (registered, requested) in [
            ("http://127.0.0.1/cb", "http://127.0.0.1:51004/cb"),
            ("http://127.0.0.1:8400/cb", "http://127.0.0.1:51004/cb"),
            ("http://127.0.0.1:8400/cb", "http://127.0.0.1/cb"),
            ("http://[::1]/oauth2redirect", "http://[::1]:61023/oauth2redirect"),
            ("http://127.0.0.1", "http://127.0.0.1:1"),
            ("http://127.0.0.1/cb?app=x", "http://127.0.0.1:65535/cb?app=x"),
        ] {
            assert!(matches(registered, requested), "{registered} ~ {requested}");
        }
    }

    #[test]
    fn a_loopback_uri_still_matches_everything_but_the_port_exactly() {
        let registered = "http://127.0.0.1/cb";
        for requested in [
            "http://127.0.0.1:5000/cb/",
            "http://127.0.0.1:5000/other",
            "http://127.0.0.1:5000/cb?x=1",
            "http://127.0.0.1:5000/cb#f",
            "http://[::1]:5000/cb",
            "http://localhost:5000/cb",
            "https://127.0.0.1:5000/cb",
            "HTTP://127.0.0.1:5000/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:65536/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:000005000/cb",
            "http://127.0.0.1.evil.example:5000/cb",
            "http://127.0.0.1@evil.example/cb",
            "http://127.0.0.1:5000@evil.example/cb",
            "http://127.0.0.2:5000/cb",
        ] {
            assert!(!matches(registered, requested), "{requested}");
        }
    }

    #[test]
    fn https_on_a_loopback_address_is_matched_exactly() {
        assert!(!matches("https://127.0.0.1:8443/cb", "https://127.0.0.1:9443/cb"));
        assert!(matches("https://127.0.0.1:8443/cb", "https://127.0.0.1:8443/cb"));
    }

    #[test]
    fn a_request_matches_when_any_registered_uri_does() {
        let registered = vec!["https://a.example/cb".to_owned(), "http://[::1]/cb".to_owned()];
        assert!(is_registered(&registered, "https://a.example/cb"));
        assert!(is_registered(&registered, "http://[::1]:4000/cb"));
        assert!(!is_registered(&registered, "https://b.example/cb"));
        assert!(!is_registered(&[], "https://a.example/cb"));
    }

    #[test]
    fn loopback_uris_are_read_with_their_port() {
        assert_eq!(
            loopback("http://127.0.0.1:8080/cb"),
            Some(Loopback { host: "127.0.0.1", port: Some(8080), rest: "/cb" })
        );
        assert_eq!(loopback("http://[::1]"), Some(Loopback { host: "[::1]", port: None, rest: "" }));
        assert_eq!(loopback("http://[::1]:9?x"), Some(Loopback { host: "[::1]", port: Some(9), rest: "?x" }));
        assert_eq!(loopback("http://[::1]x"), None);
        assert_eq!(loopback("http://[0:0:0:0:0:0:0:1]/cb"), None, "only the RFC 8252 spelling");
    }

    #[test]
    fn registration_accepts_https_and_loopback_http() {
        for uri in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?tenant=1",
            "https://app.example.com",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8400/callback",
            "http://[::1]/callback",
            "http://[::1]:61023/oauth2redirect/example-provider",
            "https://127.0.0.1:8443/cb",
            "https://localhost:8443/cb",
        ] {
            assert_eq!(validate(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn registration_refuses_what_exact_matching_cannot_make_safe() {
        for (uri, why) in [
            ("", "empty"),
            ("/callback", "absolute"),
            ("app.example.com/cb", "absolute"),
            ("https://app.example.com/cb#x", "fragment"),
            ("https://app.example.com/cb#", "fragment"),
            ("https://*.example.com/cb", "wildcard"),
            ("https://app.example.com/*", "wildcard"),
            ("http://app.example.com/cb", "https"),
            ("http://10.0.0.1/cb", "https"),
            ("http://localhost:8080/cb", "localhost"),
            ("http://LOCALHOST/cb", "localhost"),
            ("http://127.0.0.1.nip.io/cb", "https"),
            ("http://127.0.0.1:0/cb", "https"),
            ("ftp://app.example.com/cb", "https"),
            ("com.example.app:/oauth2redirect", "https"),
            ("javascript:alert(1)", "https"),
            ("https://user:pw@app.example.com/cb", "user"),
            ("https://app.example.com/c b", "spaces"),
            ("https://app.example.com/cb\n", "spaces"),
            ("https://app.example.com/é", "ASCII"),
            ("https:app.example.com/cb", "https://host"),
            ("HTTPS://app.example.com/cb", "https://host"),
        ] {
            let error = validate(uri).expect_err(uri);
            assert!(error.contains(why), "{uri}: {error}");
        }
        assert!(validate(&format!("https://app.example.com/{}", "a".repeat(MAX_LEN))).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn parsing_and_matching_arbitrary_text_never_panics(registered in ".{0,80}", requested in ".{0,80}") {
            let _ = validate(&registered);
            let _ = loopback(&requested);
            let _ = matches(&registered, &requested);
        }

        #[test]
        fn uri_shaped_text_never_panics_and_matches_itself(
            scheme in "(http|https|HTTP|ftp)",
            host in "(127\\.0\\.0\\.1|\\[::1\\]|localhost|[a-z]{1,8}\\.example)",
            port in proptest::option::of("[0-9]{0,7}"),
            rest in "[/?#@:a-z0-9%.*]{0,20}",
        ) {
            let uri = match port {
                Some(p) => format!("{scheme}://{host}:{p}{rest}"),
                None => format!("{scheme}://{host}{rest}"),
            };
            let _ = validate(&uri);
            prop_assert!(matches(&uri, &uri));
        }

        #[test]
        fn a_registrable_non_loopback_uri_matches_only_itself(path in "[a-z/]{0,12}", requested in ".{0,60}") {
            let registered = format!("https://app.example.com/{path}");
            prop_assume!(validate(&registered).is_ok());
            prop_assert_eq!(matches(&registered, &requested), registered == requested);
        }

        #[test]
        fn a_registered_loopback_uri_matches_any_port_and_nothing_else_changed(
            host in "(127\\.0\\.0\\.1|\\[::1\\])",
            path in "(/[a-z]{0,6}){0,3}",
            port in 1u16..,
            other in "[a-z/]{1,6}",
        ) {
            let registered = format!("http://{host}{path}");
            prop_assert!(validate(&registered).is_ok());
            let at_port = format!("http://{host}:{port}{path}");
            prop_assert!(matches(&registered, &at_port));
            let elsewhere = format!("http://{host}:{port}{path}{other}");
            prop_assert!(!matches(&registered, &elsewhere));
        }
    }
}
