//! Client authentication at the token, revocation and introspection endpoints:
//! RFC 6749 §2.3.1 — HTTP Basic (`client_secret_basic`) or body parameters (`client_secret_post`),
//! never both ("The client MUST NOT use more than one authentication method in each request").
//!
//! Basic credentials are the form-urlencoded client id and secret joined by `:` and base64
//! encoded, one token after `Basic`, with or without `=` padding, and nothing after it but spaces
//! — except that the seed's literal curl sends `Authorization: Basic <b64>, Content-Type: ...` as
//! one header, so another header folded in after a comma is tolerated. Several `Authorization`
//! headers are refused before this (`http::extract`).
//!
//! A public client (RFC 6749 §2.1, `token_endpoint_auth_method` "none") has no secret: it
//! identifies itself by `client_id` in the body alone (§3.2.1, RFC 7009 §2.1). A secret presented
//! for a public client, or a confidential client without its secret, fails as `invalid_client`.
//!
//! Each endpoint authenticates the client once, before it does anything else, and then works as
//! the [`AuthenticatedClient`] it got. What keeps that cheap is caching, not shortcuts: the row
//! comes from the store's coherent client cache, and a secret already verified against that row
//! costs an HMAC instead of argon2id ([`super::secret_cache`]).

use std::ops::Deref;
use std::sync::Arc;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};

use super::error::OAuthError;
use super::params::Params;
use super::password_hash::Hasher;
use super::throttle::Turns;
use crate::store::{ClientRecord, Store};

const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credentials a client presented, and how. `secret` is `None` when the body named the client
/// by `client_id` alone, as a public client does.
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<SecretString>,
    pub via_basic: bool,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// Reads the credentials from the `Authorization` header value and the body parameters.
    pub fn from_request(authorization: Option<&[u8]>, params: &Params) -> Result<ClientCredentials, OAuthError> {
        let post_secret = params.get("client_secret");
        let post_id = params.get("client_id");
        let Some(header) = authorization else {
            return match (post_id, post_secret) {
                (Some(id), secret) => Ok(ClientCredentials {
                    client_id: id.to_owned(),
                    secret: secret.map(|s| SecretString::from(s.to_owned())),
                    via_basic: false,
                }),
                (None, Some(_)) => Err(OAuthError::invalid_request("`client_secret` was sent without `client_id`")),
                _ => Err(OAuthError::invalid_client("client authentication is required").with_basic_challenge(true)),
            };
        };
        let (client_id, secret) = parse_basic(header).map_err(|e| e.with_basic_challenge(true))?;
        if post_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "the client used more than one authentication method (Basic and client_secret)",
            ));
        }
        if post_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request("`client_id` does not match the Basic credentials"));
        }
        Ok(ClientCredentials { client_id, secret: Some(secret), via_basic: true })
    }
}

fn parse_basic(header: &[u8]) -> Result<(String, SecretString), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let value = std::str::from_utf8(header).map_err(|_| bad())?.trim_start();
    let (scheme, rest) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client("only HTTP Basic client authentication is supported"));
    }
    let rest = rest.trim_start();
    let (encoded, after) = rest.split_at(rest.find([',', ' ']).unwrap_or(rest.len()));
    if !is_folded_header(after) {
        // `Basic <b64> junk`: RFC 7617 credentials are the scheme and one token68, nothing more.
        return Err(bad());
    }
    let decoded = BASE64_ANY_PADDING.decode(encoded).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let id = form_decode(id).ok_or_else(bad)?;
    let secret = form_decode(secret).ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, SecretString::from(secret)))
}

/// What may follow the base64 token: nothing but spaces, or — the seed's literal curl — a comma
/// and another header folded into the same value (`, Content-Type: application/x-…`).
fn is_folded_header(after: &str) -> bool {
    let after = after.trim();
    let Some(folded) = after.strip_prefix(',') else {
        return after.is_empty();
    };
    let Some((name, _value)) = folded.trim_start().split_once(':') else {
        return false;
    };
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Reverses `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B).
fn form_decode(s: &str) -> Option<String> {
    let plus_as_space = s.replace('+', " ");
    percent_decode_str(&plus_as_space).decode_utf8().ok().map(|c| c.into_owned())
}

/// A client that authenticated in this request (or that the operator acts for), with its row as
/// read for the request. Only [`authenticate`] and [`AuthenticatedClient::for_operator`] make one.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient(Arc<ClientRecord>);

impl Deref for AuthenticatedClient {
    type Target = ClientRecord;
    fn deref(&self) -> &ClientRecord {
        &self.0
    }
}

impl AuthenticatedClient {
    /// The operator's console acts for a client without its secret.
    pub fn for_operator(record: Arc<ClientRecord>) -> AuthenticatedClient {
        AuthenticatedClient(record)
    }
}

/// Authenticates the client: one lookup (from the store's client cache when it holds the row),
/// then either a cache hit (this very secret was verified against this very row before, see
/// [`super::secret_cache`]) or one argon2id verification. An unknown id fails without one. After
/// repeated failures for the id, uncached secrets are refused without argon2id for a short
/// backoff. A disabled client fails.
#[tracing::instrument(skip_all, fields(client_id = %credentials.client_id))]
pub async fn authenticate(
    store: &Store,
    hasher: &Hasher,
    turns: &Arc<Turns>,
    credentials: &ClientCredentials,
) -> Result<AuthenticatedClient, OAuthError> {
    let client = store.find_client(&credentials.client_id).await?;
    let Some(secret) = credentials.secret.as_ref().map(ExposeSecret::expose_secret) else {
        return match client {
            Some(client) if client.public && client.disabled_at.is_none() => Ok(AuthenticatedClient(client)),
            Some(client) if client.public => Err(failed(credentials)),
            _ => Err(OAuthError::invalid_client("client authentication is required").with_basic_challenge(true)),
        };
    };
    if client.as_ref().is_some_and(|c| c.public) {
        tracing::info!("client authentication failed: a secret was presented for a public client");
        return Err(failed(credentials));
    }
    let cache = hasher.secret_cache();
    let client = match client {
        Some(client) if client.disabled_at.is_none() && cache.is_verified(&client, secret) => {
            return Ok(AuthenticatedClient(client))
        }
        other => other,
    };
    // Client ids are not secret (they travel in redirects and front-end code): an unknown one is
    // refused without argon2id, so a flood of made-up ids costs no hashing at all.
    let Some(client) = client else {
        tracing::info!("client authentication failed: unknown client id");
        return Err(failed(credentials));
    };
    // Secrets presented together for one client id are verified one after another, each seeing
    // the failures before it, as sign-ins are (throttle/turns.rs): a burst of wrong secrets gets
    // the backoff threshold's worth of argon2id, not one each. A right secret verified meanwhile
    // answers the others from the cache.
    let _turn = turns.take(vec![format!("client:{}", credentials.client_id)]).await;
    if client.disabled_at.is_none() && cache.is_verified(&client, secret) {
        return Ok(AuthenticatedClient(client));
    }
    if cache.is_backing_off(&credentials.client_id) {
        tracing::info!("client authentication refused: too many recent failures for this id");
        return Err(failed(credentials));
    }
    let matched = hasher.verify(secret, &client.secret_hash).await?;
    if matched && client.disabled_at.is_none() {
        cache.remember(&client, secret);
        Ok(AuthenticatedClient(client))
    } else {
        cache.record_failure(&credentials.client_id);
        tracing::info!("client authentication failed");
        Err(failed(credentials))
    }
}

impl super::Authority {
    /// [`authenticate`] with the failure counted in the metrics and answered after
    /// [`super::Authority::delay_failure`] (src/oauth/throttle.rs).
    pub async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<AuthenticatedClient, OAuthError> {
        let result = authenticate(&self.store, &self.hasher, &self.turns, credentials).await;
        if result.as_ref().is_err_and(|e| e.code == super::ErrorCode::InvalidClient) {
            self.metrics.client_auth_failures.inc();
            self.delay_failure().await;
        }
        result
    }
}

fn failed(credentials: &ClientCredentials) -> OAuthError {
    OAuthError::invalid_client("client authentication failed").with_basic_challenge(credentials.via_basic)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

    use super::super::error::ErrorCode;
    use super::*;

    fn basic_of(pair: &str) -> String {
        format!("Basic {}", STANDARD.encode(pair))
    }

    fn parsed(header: &str) -> Result<(String, String), ErrorCode> {
        parse_basic(header.as_bytes()).map(|(id, secret)| (id, secret.expose_secret().to_owned())).map_err(|e| e.code)
    }

    #[test]
    fn basic_credentials_decode_with_or_without_padding() {
        let want = Ok(("client".to_owned(), "s3cret".to_owned()));
        assert_eq!(parsed(&basic_of("client:s3cret")), want);
        assert_eq!(parsed(&format!("Basic {}", STANDARD_NO_PAD.encode("client:s3cret"))), want);
        assert_eq!(parsed(&format!("basic   {}", STANDARD.encode("client:s3cret"))), want, "scheme case, spaces");
        assert_eq!(parsed(&format!("Basic {}  ", STANDARD.encode("client:s3cret"))), want, "trailing spaces");
    }

    #[test]
    fn the_seeds_header_with_a_content_type_after_a_comma_is_read_up_to_the_comma() {
        let header = "Basic SVpzSWk2SERiQjVlOFZLZFpBblVpX2ZaM2Y4YTpHbTBiSjZvV1Y4ZkM1T1FMTGxDNmpzbEFDVzhh, Content-Type: application/x-www-form-urlencoded";
        assert_eq!(
            parsed(header),
            Ok(("IZsIi6HDbB5e8VKdZAnUi_fZ3f8a".to_owned(), "Gm0bJ6oWV8fC5OQLLlC6jslACW8a".to_owned()))
        );
    }

    #[test]
    fn id_and_secret_are_form_decoded_after_base64() {
        // RFC 6749 §2.3.1: both are application/x-www-form-urlencoded before being joined.
        assert_eq!(parsed(&basic_of("my%20app:p%3Ass+word")), Ok(("my app".to_owned(), "p:ss word".to_owned())));
        assert_eq!(parsed(&basic_of("caf%C3%A9:x")), Ok(("café".to_owned(), "x".to_owned())), "non-ASCII id");
        assert_eq!(parsed(&basic_of("a:b:c")), Ok(("a".to_owned(), "b:c".to_owned())), "the first colon splits");
        assert_eq!(parsed(&basic_of("a:")), Ok(("a".to_owned(), String::new())), "an empty secret still parses");
        assert_eq!(parsed(&basic_of("a%ZZ:x")), Ok(("a%ZZ".to_owned(), "x".to_owned())), "a bad escape is kept");
    }

    #[test]
    fn malformed_basic_credentials_are_invalid_client() {
        for header in [
            "Basic",
            "Basic ",
            "Basic !!!!",
            &basic_of("no-colon"),
            &basic_of(":secret"),
            &format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'x'])),
            &basic_of("id:%FF"),
            "Bearer abc",
            "Digest username=x",
            &format!("{} junk", basic_of("c:s")),
            &format!("{} {}", basic_of("c:s"), STANDARD.encode("d:t")),
            &format!("{}, junk", basic_of("c:s")),
            &format!("{},", basic_of("c:s")),
            &format!("{}, : x", basic_of("c:s")),
        ] {
            assert_eq!(parsed(header), Err(ErrorCode::InvalidClient), "{header:?}");
        }
        assert_eq!(parse_basic(&[0xff, 0xfe]).map(|_| ()).map_err(|e| e.code), Err(ErrorCode::InvalidClient));
    }

    #[test]
    fn credentials_come_from_basic_or_the_body_never_both() {
        let params = |body: &str| Params::parse(body.as_bytes()).unwrap();
        let header = basic_of("c:s");
        let via_basic = ClientCredentials::from_request(Some(header.as_bytes()), &params("grant_type=x")).unwrap();
        assert!(via_basic.via_basic && via_basic.client_id == "c");
        let via_post = ClientCredentials::from_request(None, &params("client_id=c&client_secret=s")).unwrap();
        assert!(!via_post.via_basic && via_post.secret.as_ref().unwrap().expose_secret() == "s");
        let id_alone = ClientCredentials::from_request(None, &params("client_id=c")).unwrap();
        assert!(id_alone.client_id == "c" && id_alone.secret.is_none(), "a public client names itself");
        let same_id = ClientCredentials::from_request(Some(header.as_bytes()), &params("client_id=c"));
        assert!(same_id.is_ok(), "a matching body client_id is tolerated");

        let code = |auth: Option<&str>, body: &str| {
            ClientCredentials::from_request(auth.map(str::as_bytes), &params(body)).map(|_| ()).map_err(|e| e.code)
        };
        assert_eq!(code(Some(&header), "client_secret=s"), Err(ErrorCode::InvalidRequest), "two methods");
        assert_eq!(code(Some(&header), "client_id=other"), Err(ErrorCode::InvalidRequest), "ids differ");
        assert_eq!(code(None, "client_secret=s"), Err(ErrorCode::InvalidRequest), "a secret without an id");
        assert_eq!(code(None, ""), Err(ErrorCode::InvalidClient));
    }

    #[test]
    fn the_debug_of_credentials_never_shows_the_secret() {
        let credentials = ClientCredentials {
            client_id: "c".into(),
            secret: Some(SecretString::from("hunter2".to_owned())),
            via_basic: true,
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("\"c\"") && !shown.contains("hunter2"), "{shown}");
    }
}
