//! Property tests of everything that reads untrusted input: the form body, the Basic header,
//! token strings and scopes never panic, and give back what was encoded where a round trip
//! applies; random requests at /token, /revoke and /introspect never get a 5xx. Bounded (a few
//! hundred cases each) so the suite stays fast; a failure prints the input (and proptest keeps
//! no regression files: the cases that matter are copied into the unit tests of the module).

use oauthd::oauth::client_auth::ClientCredentials;
use oauthd::oauth::params::Params;
use oauthd::oauth::scope::Scope;
use oauthd::oauth::{token_format, ErrorCode};
use oauthd::store::TokenKind;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use secrecy::ExposeSecret;

use crate::helpers::{basic, form, TestApp, TestClient};

/// Cases per pure property.
const CASES: u32 = 256;

/// Requests per backend in the HTTP property.
const REQUESTS: usize = 150;

/// Any text, newlines and NUL included.
const ANY_TEXT: &str = "(?s).{0,40}";

fn kind(refresh: bool) -> TokenKind {
    if refresh {
        TokenKind::Refresh
    } else {
        TokenKind::Access
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_body_parses_or_is_invalid_request(body in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Err(e) = Params::parse(&body) {
            prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
        }
    }

    #[test]
    fn a_form_like_body_parses_or_is_invalid_request(body in "[a-z_=&%+0-9A-F\u{0}\u{e9} ]{0,80}") {
        if let Err(e) = Params::parse(body.as_bytes()) {
            prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
        }
    }

    #[test]
    fn form_encoded_pairs_parse_back_to_the_same_pairs(
        pairs in prop::collection::btree_map(ANY_TEXT, ANY_TEXT, 0..8),
    ) {
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        let params = Params::parse(body.as_bytes()).unwrap();
        for (name, value) in &pairs {
            // An empty value counts as absent (RFC 6749 §3.1).
            prop_assert_eq!(params.get(name), Some(value.as_str()).filter(|v| !v.is_empty()));
        }
    }

    #[test]
    fn any_authorization_header_is_read_or_refused(
        header in prop::collection::vec(any::<u8>(), 0..120),
        body in prop::collection::btree_map("client_(id|secret)", ANY_TEXT, 0..3),
    ) {
        let params = Params::parse(serde_urlencoded::to_string(&body).unwrap().as_bytes()).unwrap();
        if let Err(e) = ClientCredentials::from_request(Some(&header), &params) {
            prop_assert!(matches!(e.code, ErrorCode::InvalidClient | ErrorCode::InvalidRequest), "{:?}", e.code);
        }
    }

    #[test]
    fn a_basic_like_header_is_read_or_refused(header in "(?i:basic)[ ,]{0,2}[A-Za-z0-9+/=,:% -]{0,80}") {
        if let Err(e) = ClientCredentials::from_request(Some(header.as_bytes()), &Params::default()) {
            prop_assert!(matches!(e.code, ErrorCode::InvalidClient | ErrorCode::InvalidRequest), "{:?}", e.code);
        }
    }

    #[test]
    fn basic_credentials_give_back_the_id_and_secret_encoded(id in "(?s).{1,32}", secret in ANY_TEXT) {
        // RFC 6749 §2.3.1; and the seed's header, with its Content-Type after a comma.
        let header = basic(&id, &secret);
        let seed_style = format!("{header}, Content-Type: application/x-www-form-urlencoded");
        for header in [header, seed_style] {
            let read = ClientCredentials::from_request(Some(header.as_bytes()), &Params::default()).unwrap();
            prop_assert_eq!(&read.client_id, &id);
            prop_assert_eq!(read.secret.as_ref().map(|s| s.expose_secret()), Some(secret.as_str()));
            prop_assert!(read.via_basic);
        }
    }

    #[test]
    fn body_credentials_give_back_the_id_and_secret_encoded(id in "(?s).{1,32}", secret in "(?s).{1,32}") {
        let body = form(&[("client_id", &id), ("client_secret", &secret)]);
        let read = ClientCredentials::from_request(None, &Params::parse(body.as_bytes()).unwrap()).unwrap();
        prop_assert_eq!(&read.client_id, &id);
        prop_assert_eq!(read.secret.as_ref().map(|s| s.expose_secret()), Some(secret.as_str()));
        prop_assert!(!read.via_basic);
    }

    #[test]
    fn any_text_is_a_token_or_nothing(text in "(?s).{0,80}") {
        if let Some((_, digest)) = token_format::parse(&text) {
            prop_assert_eq!(digest, token_format::digest(&text));
        }
    }

    #[test]
    fn token_like_text_is_a_token_only_with_its_checksum(text in "o[ar]t_[A-Za-z0-9_-]{49}") {
        // 2^-32 of such texts carry a valid checksum by chance: practically none.
        prop_assert_eq!(token_format::parse(&text), None);
    }

    #[test]
    fn a_minted_token_parses_back_to_its_kind_and_digest(refresh in any::<bool>()) {
        let minted = token_format::mint(kind(refresh));
        prop_assert_eq!(token_format::parse(token_format::reveal(&minted)), Some((kind(refresh), minted.digest)));
    }

    #[test]
    fn a_minted_token_with_one_character_changed_is_nothing(
        refresh in any::<bool>(),
        at in 0usize..53,
        replacement in "[A-Za-z0-9_-]",
    ) {
        let minted = token_format::mint(kind(refresh));
        let token = token_format::reveal(&minted);
        prop_assume!(token[at..at + 1] != replacement);
        let changed = format!("{}{replacement}{}", &token[..at], &token[at + 1..]);
        prop_assert_eq!(token_format::parse(&changed), None);
    }

    #[test]
    fn any_text_is_a_scope_exactly_when_its_tokens_are_rfc_scope_tokens(text in "(?s)[ -~\t\n\u{0}\u{e9}]{0,40}") {
        let rfc = text.split(' ').all(|token| token.bytes().all(is_scope_char));
        match Scope::parse(&text) {
            Ok(_) => prop_assert!(rfc),
            Err(e) => {
                prop_assert!(!rfc);
                prop_assert_eq!(e.code, ErrorCode::InvalidScope);
            }
        }
    }

    #[test]
    fn a_scope_displays_as_its_sorted_tokens_and_parses_back(
        tokens in prop::collection::vec("[!#-\\[\\]-~]{1,8}", 0..6),
        separator in " {1,3}",
    ) {
        let scope = Scope::parse(&tokens.join(&separator)).unwrap();
        let shown = scope.to_string();
        let canonical: std::collections::BTreeSet<&str> = tokens.iter().map(String::as_str).collect();
        prop_assert_eq!(&shown, &canonical.into_iter().collect::<Vec<_>>().join(" "));
        prop_assert_eq!(Scope::parse(&shown).unwrap(), scope);
    }
}

on_both_backends!(random_requests_at_the_token_revocation_and_introspection_endpoints_never_get_a_5xx);

/// One random request.
#[derive(Clone)]
struct Request {
    path: &'static str,
    content_type: Option<String>,
    authorization: Option<Vec<u8>>,
    body: Vec<u8>,
}

/// Shown as text (bytes that are not UTF-8 as U+FFFD), so that a failure is readable.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        f.debug_struct("Request")
            .field("path", &self.path)
            .field("content_type", &self.content_type)
            .field("authorization", &self.authorization.as_deref().map(text))
            .field("body", &text(&self.body))
            .finish()
    }
}

/// Requests mixing the app's real values (a client's credentials, its tokens, a user) with random
/// text, so that they reach past authentication into every grant, revocation and introspection,
/// as well as random bytes.
fn requests(client: &TestClient, known: Vec<String>) -> impl Strategy<Value = Request> {
    let names = prop::sample::select(vec![
        "grant_type",
        "client_id",
        "client_secret",
        "username",
        "password",
        "scope",
        "refresh_token",
        "token",
        "token_type_hint",
    ])
    .prop_map(str::to_owned);
    let name = prop_oneof![4 => names, 1 => ANY_TEXT];
    let value = prop_oneof![3 => prop::sample::select(known), 2 => ANY_TEXT];
    let form_body = prop::collection::vec((name, value), 0..6).prop_map(|pairs| {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        form(&pairs).into_bytes()
    });
    let body = prop_oneof![5 => form_body, 1 => prop::collection::vec(any::<u8>(), 0..200)];
    // Bytes a header value may hold: visible ASCII, space, tab and obs-text.
    let header_byte = prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, Just(b'\t')];
    let authorization = prop_oneof![
        2 => Just(None),
        3 => Just(Some(basic(&client.id, &client.secret).into_bytes())),
        2 => ("(?s).{0,20}", ANY_TEXT).prop_map(|(id, secret)| Some(basic(&id, &secret).into_bytes())),
        1 => Just(Some(basic(&format!("{}\0", client.id), &client.secret).into_bytes())),
        1 => prop::collection::vec(header_byte, 0..80).prop_map(Some),
    ];
    let content_type = prop_oneof![
        8 => Just(Some("application/x-www-form-urlencoded".to_owned())),
        1 => Just(None),
        1 => "[ -~]{0,40}".prop_map(Some),
    ];
    let path = prop::sample::select(vec!["/token", "/revoke", "/introspect"]);
    (path, content_type, authorization, body).prop_map(|(path, content_type, authorization, body)| Request {
        path,
        content_type,
        authorization,
        body,
    })
}

async fn random_requests_at_the_token_revocation_and_introspection_endpoints_never_get_a_5xx(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "correct horse").await;
    let (access, refresh) = app.token_pair(&client).await;
    // Random text rarely holds a NUL byte, which PostgreSQL cannot store: some values carry one.
    let with_nul = [format!("{}\0", client.id), "alice\0".to_owned(), format!("{access}\0")];
    let known = [
        client.id.as_str(),
        &with_nul[0],
        &with_nul[1],
        &with_nul[2],
        "\0",
        client.secret.as_str(),
        &access,
        &refresh,
        "client_credentials",
        "password",
        "refresh_token",
        "alice",
        "correct horse",
        "PRODUCTION",
        "PRODUCTION SANDBOX",
        "access_token",
    ];
    let strategy = requests(&client, known.iter().map(|s| (*s).to_owned()).collect());
    let mut runner = TestRunner::default();
    let mut failures = Vec::new();
    for _ in 0..REQUESTS {
        let request = strategy.new_tree(&mut runner).unwrap().current();
        let mut builder = app.http.post(app.url(request.path)).body(request.body.clone());
        if let Some(content_type) = &request.content_type {
            builder = builder.header("content-type", content_type.as_str());
        }
        if let Some(authorization) = &request.authorization {
            builder = builder.header("authorization", authorization.as_slice());
        }
        let r = builder.send().await.unwrap();
        let status = r.status().as_u16();
        let json = r.headers().get("content-type").is_some_and(|v| v == "application/json");
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        let rfc_error = body["error"].as_str().is_some_and(|e| !e.is_empty());
        if status >= 500 || (status >= 400 && !(json && rfc_error)) {
            failures.push(format!("{status} {body} for {request:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {REQUESTS} requests failed:\n{}", failures.len(), failures.join("\n"));
    // And the server still serves.
    app.client_credentials(&client, "PRODUCTION").await;
}
