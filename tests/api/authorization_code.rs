//! The authorization_code grant with PKCE (RFC 6749 §4.1, RFC 7636, RFC 9700, RFC 9207, RFC 8252).
//!
//! Authorization requests and codes are made through the functions `/authorize` calls
//! (`app.auth.authorization_request`, `app.auth.issue_code`: seeding through the library; the
//! pages themselves are tested in consent.rs and sessions.rs, and the README walkthrough here);
//! the exchange, refresh, revocation and introspection go over HTTP.

use std::collections::HashMap;

use oauthd::admin::clients::ClientSpec;
use oauthd::config::Settings;
use oauthd::janitor::run_once;
use oauthd::oauth::authorize::{AuthorizationRequest, AuthorizeError};
use oauthd::oauth::params::Params;
use oauthd::oauth::pkce::challenge_of;
use oauthd::oauth::scope::Scope;
use oauthd::oauth::{ErrorCode, OAuthError};
use serde_json::Value;

use crate::helpers::{assert_error, curl, form, Run, TestApp, TestClient};

on_both_backends!(
    an_unknown_disabled_or_unnamed_client_gets_an_error_page_never_a_redirect,
    a_missing_or_unregistered_redirect_uri_gets_an_error_page_never_a_redirect,
    a_client_with_one_redirect_uri_may_omit_it_at_both_endpoints,
    a_loopback_redirect_uri_matches_on_any_port_and_nothing_else,
    errors_after_the_redirect_uri_is_trusted_redirect_with_error_state_and_iss,
    a_confidential_client_whose_policy_relaxes_pkce_may_go_without_it_but_never_half,
    the_code_redirect_carries_code_state_and_iss_and_keeps_the_registered_query,
    a_denial_redirects_with_access_denied_state_and_iss,
    granting_more_than_was_requested_redirects_with_invalid_scope,
    a_confidential_client_exchanges_a_code_and_refreshes_introspects_and_revokes_the_result,
    a_public_client_exchanges_refreshes_and_revokes_with_its_client_id_alone,
    a_public_client_presenting_a_secret_is_invalid_client_and_cannot_introspect,
    a_confidential_client_without_its_secret_is_invalid_client,
    a_wrong_missing_or_malformed_code_verifier_is_refused_and_the_code_stays_usable,
    the_redirect_uri_must_be_repeated_identically_when_the_request_carried_it,
    a_code_of_another_client_is_invalid_grant_and_stays_usable_by_its_own,
    a_malformed_or_unknown_code_is_invalid_grant,
    a_code_expires_after_60_seconds,
    a_code_lives_as_long_as_the_config_says with codes_live_10_seconds,
    a_second_use_of_a_code_fails_and_revokes_every_token_issued_from_it,
    of_twenty_concurrent_exchanges_of_one_code_exactly_one_succeeds,
    of_concurrent_exchanges_on_two_instances_exactly_one_succeeds,
    a_client_not_allowed_the_grant_is_unauthorized_client_at_both_endpoints,
    a_public_client_always_rotates_even_when_its_policy_turns_rotation_off,
    a_public_client_replays_within_two_seconds_and_is_reuse_after,
    the_janitor_deletes_codes_after_their_expiry_and_the_retention with janitor_by_hand,
    a_code_is_stored_as_its_digest_with_its_challenge,
    the_readme_walkthrough_registers_exchanges_refreshes_and_revokes_with_curl,
    a_code_for_a_user_deleted_meanwhile_redirects_with_temporarily_unavailable,
);

/// A web app's callback, with a query of its own.
const WEB: &str = "https://app.example.com/cb?tenant=7";
/// A native app's loopback callback, registered without a port.
const NATIVE: &str = "http://127.0.0.1/native";
/// 43 unreserved characters: the shortest verifier RFC 7636 allows.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const USER: &str = "alice";

fn codes_live_10_seconds(s: &mut Settings) {
    s.tokens.code_lifetime_secs = 10;
}

fn janitor_by_hand(s: &mut Settings) {
    s.janitor.enabled = false;
    s.janitor.retention_secs = 100;
}

/// A client allowed authorization_code and refresh_token, with scopes PRODUCTION and SANDBOX,
/// both redirect URIs above, and the rest of `spec`.
fn code_spec(spec: ClientSpec) -> ClientSpec {
    ClientSpec {
        name: "web app".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["PRODUCTION".into(), "SANDBOX".into()],
        redirect_uris: vec![WEB.into(), NATIVE.into()],
        ..spec
    }
}

/// Sets up a user and a client made from [`code_spec`]`(spec)`.
async fn set_up(app: &TestApp, spec: ClientSpec) -> TestClient {
    app.create_user(USER, "correct horse battery staple").await;
    app.create_client(code_spec(spec)).await
}

async fn confidential(app: &TestApp) -> TestClient {
    set_up(app, ClientSpec::default()).await
}

async fn public(app: &TestApp) -> TestClient {
    set_up(app, ClientSpec { public: true, ..ClientSpec::default() }).await
}

/// The parameters of a good request to `redirect_uri` with a challenge of [`VERIFIER`], state
/// `xyz` and scope PRODUCTION, then `extra` (a pair with an empty value removes the parameter).
fn request_params(client: &TestClient, redirect_uri: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let challenge = challenge_of(VERIFIER);
    let mut pairs: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", redirect_uri),
        ("scope", "PRODUCTION"),
        ("state", "xyz"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (name, value) in extra {
        pairs.retain(|(k, _)| k != name);
        if !value.is_empty() {
            pairs.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    pairs
}

async fn authorize(app: &TestApp, pairs: &[(String, String)]) -> Result<AuthorizationRequest, AuthorizeError> {
    let body = serde_urlencoded::to_string(pairs).unwrap();
    app.auth.authorization_request(&Params::parse(body.as_bytes()).unwrap()).await
}

async fn authorize_ok(app: &TestApp, pairs: &[(String, String)]) -> AuthorizationRequest {
    match authorize(app, pairs).await {
        Ok(request) => request,
        Err(e) => panic!("authorization request refused: {e:?}"),
    }
}

/// The error of a request refused before its redirect URI is trusted.
async fn untrusted(app: &TestApp, pairs: &[(String, String)]) -> OAuthError {
    match authorize(app, pairs).await {
        Err(AuthorizeError::Untrusted(error)) => error,
        other => panic!("expected an error page, got {other:?}"),
    }
}

/// The redirect of a request refused after its redirect URI is trusted.
async fn redirected(app: &TestApp, pairs: &[(String, String)]) -> String {
    match authorize(app, pairs).await {
        Err(AuthorizeError::Redirect { location }) => location,
        other => panic!("expected a redirect, got {other:?}"),
    }
}

/// The query parameters of a Location, and the Location without them.
fn answer(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

/// Checks a Location goes to `redirect_uri` with `error`, state `xyz`, a description and `iss`.
fn assert_error_redirect(app: &TestApp, location: &str, redirect_uri: &str, error: &str) {
    assert!(location.starts_with(redirect_uri), "{location} goes to {redirect_uri}");
    let q = answer(location);
    assert_eq!(q.get("error").map(String::as_str), Some(error), "{location}");
    assert!(q.get("error_description").is_some_and(|d| !d.is_empty()), "{location}");
    assert_eq!(q.get("state").map(String::as_str), Some("xyz"), "{location}");
    assert_eq!(q.get("iss"), Some(&app.address), "{location}");
    assert!(!q.contains_key("code"), "{location}");
}

/// A code for `client`, as `/authorize` gets one: a request to `redirect_uri` with `extra`, the user
/// signed in, consent given to all that was asked. Returns the code and the request.
async fn code_with(
    app: &TestApp,
    client: &TestClient,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> (String, AuthorizationRequest) {
    let request = authorize_ok(app, &request_params(client, redirect_uri, extra)).await;
    let now = app.clock.now();
    let location = app.auth.issue_code(&request, USER, &request.scope, now).await.expect("a code");
    let code = answer(&location).remove("code").expect("a code in the redirect");
    (code, request)
}

/// A code for `client` to [`WEB`], with a challenge of [`VERIFIER`].
async fn code(app: &TestApp, client: &TestClient) -> String {
    code_with(app, client, WEB, &[]).await.0
}

/// POSTs a token request for `client` (Basic for a confidential client, `client_id` alone for a
/// public one).
async fn token(app: &TestApp, client: &TestClient, pairs: &[(&str, &str)]) -> reqwest::Response {
    if client.secret.is_empty() {
        let mut all = vec![("client_id", client.id.as_str())];
        all.extend_from_slice(pairs);
        app.post_raw("/token", None, form(&all)).await
    } else {
        app.post_token_basic(client, pairs).await
    }
}

/// Exchanges `code` with [`VERIFIER`] and the [`WEB`] redirect URI.
async fn exchange(app: &TestApp, client: &TestClient, code: &str) -> reqwest::Response {
    token(
        app,
        client,
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", WEB), ("code_verifier", VERIFIER)],
    )
    .await
}

async fn exchange_ok(app: &TestApp, client: &TestClient, code: &str) -> Value {
    let r = exchange(app, client, code).await;
    assert_eq!(r.status(), 200, "exchange failed: {}", r.text().await.unwrap());
    r.json().await.unwrap()
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}")).to_owned()
}

async fn an_unknown_disabled_or_unnamed_client_gets_an_error_page_never_a_redirect(app: TestApp) {
    let client = confidential(&app).await;
    let unknown = TestClient { id: "no-such-client".into(), secret: String::new() };
    let error = untrusted(&app, &request_params(&unknown, WEB, &[])).await;
    assert_eq!(error.code, ErrorCode::InvalidRequest);
    let error = untrusted(&app, &request_params(&client, WEB, &[("client_id", "")])).await;
    assert!(error.description.contains("client_id"), "{}", error.description);
    // Even a request that is wrong in every other way: no redirect before the client is known.
    untrusted(&app, &request_params(&unknown, WEB, &[("response_type", "token"), ("code_challenge", "")])).await;
    oauthd::admin::clients::set_disabled(&app.auth, &oauthd::admin::Origin::cli(), &client.id, true).await.unwrap();
    untrusted(&app, &request_params(&client, WEB, &[])).await;
}

async fn a_missing_or_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(app: TestApp) {
    let client = confidential(&app).await;
    // Two are registered, so the request must name one.
    let error = untrusted(&app, &request_params(&client, "", &[])).await;
    assert!(error.description.contains("redirect_uri"), "{}", error.description);
    for unregistered in [
        "https://app.example.com/cb",
        "https://app.example.com/cb?tenant=7&x=1",
        "https://app.example.com/cb?tenant=7#frag",
        "https://app.example.com/cb?tenant=8",
        "https://APP.example.com/cb?tenant=7",
        "https://evil.example/cb?tenant=7",
        "http://app.example.com/cb?tenant=7",
        "http://localhost:5000/native",
        "http://127.0.0.1:5000/native/",
        "http://[::1]:5000/native",
        "not a uri",
    ] {
        // Whatever else is wrong, an untrusted redirect URI wins: an error page.
        let pairs = request_params(&client, unregistered, &[("response_type", "token")]);
        let error = untrusted(&app, &pairs).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{unregistered}");
    }
}

async fn a_client_with_one_redirect_uri_may_omit_it_at_both_endpoints(app: TestApp) {
    app.create_user(USER, "correct horse battery staple").await;
    let client =
        app.create_client(ClientSpec { redirect_uris: vec![WEB.into()], ..code_spec(ClientSpec::default()) }).await;
    let (code, request) = code_with(&app, &client, "", &[]).await;
    assert_eq!(request.redirect_uri, WEB);
    assert!(!request.redirect_uri_sent);
    let pairs = [("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", VERIFIER)];
    let r = token(&app, &client, &pairs).await;
    assert_eq!(r.status(), 200, "the redirect_uri may be left out when the request left it out");

    // Sent anyway, it must be the one the response went to.
    let (code, _) = code_with(&app, &client, "", &[]).await;
    let other =
        [("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", NATIVE)];
    assert_error(token(&app, &client, &other).await, 400, "invalid_grant").await;
    assert_eq!(exchange(&app, &client, &code).await.status(), 200);
}

async fn a_loopback_redirect_uri_matches_on_any_port_and_nothing_else(app: TestApp) {
    let client = public(&app).await;
    let at_port = "http://127.0.0.1:51004/native";
    let (code, request) = code_with(&app, &client, at_port, &[]).await;
    assert_eq!(request.redirect_uri, at_port, "the response goes to the port the app listens on");
    let pairs =
        [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", at_port), ("code_verifier", VERIFIER)];
    let r = token(&app, &client, &pairs).await;
    assert_eq!(r.status(), 200);
    for other in ["http://127.0.0.1:51004/native2", "http://127.0.0.1:51004/Native", "http://[::1]:51004/native"] {
        untrusted(&app, &request_params(&client, other, &[])).await;
    }
    // The token request repeats the very URI, port included.
    let (code, _) = code_with(&app, &client, "http://127.0.0.1:4000/native", &[]).await;
    let pairs =
        [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", at_port), ("code_verifier", VERIFIER)];
    assert_error(token(&app, &client, &pairs).await, 400, "invalid_grant").await;
}

async fn errors_after_the_redirect_uri_is_trusted_redirect_with_error_state_and_iss(app: TestApp) {
    let client = confidential(&app).await;
    let challenge = challenge_of(VERIFIER);
    for (extra, error) in [
        (vec![("response_type", "")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("response_type", "code token")], "unsupported_response_type"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge", ""), ("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("code_challenge", VERIFIER), ("code_challenge_method", "plain")], "invalid_request"),
        (vec![("scope", "PRODUCTION ADMIN")], "invalid_scope"),
        (vec![("scope", "bad\\scope")], "invalid_scope"),
    ] {
        let location = redirected(&app, &request_params(&client, WEB, &extra)).await;
        assert_error_redirect(&app, &location, WEB, error);
        assert!(location.starts_with("https://app.example.com/cb?tenant=7&"), "the URI's query is kept: {location}");
    }
    // Unrecognised parameters are ignored.
    let request = authorize_ok(&app, &request_params(&client, WEB, &[("nonce", "n"), ("prompt", "login")])).await;
    assert_eq!(request.code_challenge.as_deref(), Some(challenge.as_str()));
    assert_eq!(request.scope, Scope::parse("PRODUCTION").unwrap());
    assert_eq!(request.state.as_deref(), Some("xyz"));
    // Without a scope: the client's default scopes.
    let request = authorize_ok(&app, &request_params(&client, NATIVE, &[("scope", "")])).await;
    assert_eq!(request.scope, Scope::parse("PRODUCTION SANDBOX").unwrap());
    // Without a state, none comes back.
    let location = redirected(&app, &request_params(&client, WEB, &[("state", ""), ("response_type", "token")])).await;
    assert!(!answer(&location).contains_key("state"), "{location}");
}

async fn a_confidential_client_whose_policy_relaxes_pkce_may_go_without_it_but_never_half(app: TestApp) {
    let client = set_up(&app, ClientSpec { pkce_optional: true, ..ClientSpec::default() }).await;
    let without = [("code_challenge", ""), ("code_challenge_method", "")];
    let (code, request) = code_with(&app, &client, WEB, &without).await;
    assert_eq!(request.code_challenge, None);
    // A verifier for a code issued without a challenge is a downgrade (RFC 9700 §4.8.2).
    assert_error(exchange(&app, &client, &code).await, 400, "invalid_grant").await;
    let pairs = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB)];
    assert_eq!(token(&app, &client, &pairs).await.status(), 200);
    // With a challenge, the rules are the same as for everyone.
    let (code, _) = code_with(&app, &client, WEB, &[]).await;
    let pairs = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB)];
    assert_error(token(&app, &client, &pairs).await, 400, "invalid_grant").await;
    assert_eq!(exchange(&app, &client, &code).await.status(), 200);
    let location = redirected(&app, &request_params(&client, WEB, &[("code_challenge_method", "plain")])).await;
    assert_error_redirect(&app, &location, WEB, "invalid_request");
}

async fn the_code_redirect_carries_code_state_and_iss_and_keeps_the_registered_query(app: TestApp) {
    let client = confidential(&app).await;
    let request = authorize_ok(&app, &request_params(&client, WEB, &[("state", "a b&c=d/é")])).await;
    let location = app.auth.issue_code(&request, USER, &request.scope, app.clock.now()).await.unwrap();
    assert!(location.starts_with("https://app.example.com/cb?tenant=7&code=oac_"), "{location}");
    let q = answer(&location);
    assert_eq!(q["tenant"], "7");
    assert_eq!(q["state"], "a b&c=d/é", "state comes back untouched");
    assert_eq!(q["iss"], app.address, "RFC 9207: the issuer identifier");
    assert_eq!(q["code"].len(), 53);
    assert!(!q.contains_key("error"));
}

async fn a_denial_redirects_with_access_denied_state_and_iss(app: TestApp) {
    let client = confidential(&app).await;
    let request = authorize_ok(&app, &request_params(&client, WEB, &[])).await;
    let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
    let location = app.auth.authorization_error(&request, denied);
    assert_error_redirect(&app, &location, WEB, "access_denied");
    assert_eq!(answer(&location)["error_description"], "the user denied the request");
}

async fn granting_more_than_was_requested_redirects_with_invalid_scope(app: TestApp) {
    let client = confidential(&app).await;
    let request = authorize_ok(&app, &request_params(&client, WEB, &[])).await;
    let more = Scope::parse("PRODUCTION SANDBOX").unwrap();
    match app.auth.issue_code(&request, USER, &more, app.clock.now()).await {
        Err(AuthorizeError::Redirect { location }) => assert_error_redirect(&app, &location, WEB, "invalid_scope"),
        other => panic!("expected a redirect, got {other:?}"),
    }
    // Less than was asked is fine: the tokens carry what was granted.
    let request = authorize_ok(&app, &request_params(&client, WEB, &[("scope", "PRODUCTION SANDBOX")])).await;
    let less = Scope::parse("SANDBOX").unwrap();
    let location = app.auth.issue_code(&request, USER, &less, app.clock.now()).await.unwrap();
    let body = exchange_ok(&app, &client, &answer(&location)["code"]).await;
    assert_eq!(body["scope"], "SANDBOX");
}

async fn a_confidential_client_exchanges_a_code_and_refreshes_introspects_and_revokes_the_result(app: TestApp) {
    let client = confidential(&app).await;
    let code = code(&app, &client).await;
    let r = exchange(&app, &client, &code).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "PRODUCTION");
    let access = text(&body, "access_token");
    let refresh = text(&body, "refresh_token");
    assert!(access.starts_with("oat_") && refresh.starts_with("ort_"));

    let seen = app.introspect(&client, &access).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["username"], USER);
    assert_eq!(seen["sub"], USER);
    assert_eq!(seen["client_id"], client.id.as_str());
    assert_eq!(seen["scope"], "PRODUCTION");

    let (new_access, new_refresh, _) = app.refresh_ok(&client, &refresh).await;
    assert!(!app.is_active(&refresh).await, "rotated");
    assert!(app.is_active(&new_access).await);
    assert_eq!(app.revoke(&client, &new_refresh, None).await.status(), 200);
    assert!(!app.is_active(&new_access).await, "the whole family is revoked");
    assert!(app.metrics().await.contains("oauthd_tokens_issued_total{grant_type=\"authorization_code\"} 1"));
}

async fn a_public_client_exchanges_refreshes_and_revokes_with_its_client_id_alone(app: TestApp) {
    let client = public(&app).await;
    assert!(client.secret.is_empty(), "a public client gets no secret");
    let code = code(&app, &client).await;
    let body = exchange_ok(&app, &client, &code).await;
    let refresh = text(&body, "refresh_token");
    let r = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let (access, refresh) = (text(&body, "access_token"), text(&body, "refresh_token"));
    // RFC 7009 §2.1: a public client revokes with its client_id.
    let r = app.post_raw("/revoke", None, form(&[("client_id", &client.id), ("token", &access)])).await;
    assert_eq!(r.status(), 200);
    assert!(!app.is_active(&access).await);
    let r = app.post_raw("/revoke", None, form(&[("client_id", &client.id), ("token", &refresh)])).await;
    assert_eq!(r.status(), 200);
    assert!(!app.is_active(&refresh).await);
}

async fn a_public_client_presenting_a_secret_is_invalid_client_and_cannot_introspect(app: TestApp) {
    let client = public(&app).await;
    let code = code(&app, &client).await;
    let pairs =
        [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB), ("code_verifier", VERIFIER)];
    let with_secret = client.with_secret("anything-at-all-here");
    assert_error(app.post_token_basic(&with_secret, &pairs).await, 401, "invalid_client").await;
    assert_error(app.post_token_post(&with_secret, &pairs).await, 401, "invalid_client").await;
    assert_error(app.post_token_basic(&client, &pairs).await, 401, "invalid_client").await;
    let body = exchange_ok(&app, &client, &code).await;
    let access = text(&body, "access_token");
    let r = app.post_raw("/introspect", None, form(&[("client_id", &client.id), ("token", &access)])).await;
    assert_error(r, 401, "invalid_client").await;
    // Disabled, it cannot use its client_id either.
    oauthd::admin::clients::set_disabled(&app.auth, &oauthd::admin::Origin::cli(), &client.id, true).await.unwrap();
    let r = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", &text(&body, "refresh_token"))])
        .await;
    assert_error(r, 401, "invalid_client").await;
}

async fn a_confidential_client_without_its_secret_is_invalid_client(app: TestApp) {
    let client = confidential(&app).await;
    let code = code(&app, &client).await;
    let pairs = [
        ("client_id", client.id.as_str()),
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", WEB),
        ("code_verifier", VERIFIER),
    ];
    let r = app.post_raw("/token", None, form(&pairs)).await;
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"oauthd\", charset=\"UTF-8\"");
    assert_error(r, 401, "invalid_client").await;
    let r = app.post_raw("/revoke", None, form(&[("client_id", &client.id), ("token", "oat_x")])).await;
    assert_error(r, 401, "invalid_client").await;
    exchange_ok(&app, &client, &code).await;
}

async fn a_wrong_missing_or_malformed_code_verifier_is_refused_and_the_code_stays_usable(app: TestApp) {
    let client = public(&app).await;
    let code = code(&app, &client).await;
    let with = |verifier: Option<&'static str>| {
        let mut pairs = vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", WEB)];
        pairs.extend(verifier.map(|v| ("code_verifier", v)));
        pairs
    };
    let other = "0123456789012345678901234567890123456789012";
    assert_error(token(&app, &client, &with(Some(other))).await, 400, "invalid_grant").await;
    assert_error(token(&app, &client, &with(None)).await, 400, "invalid_grant").await;
    for malformed in
        ["short", "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk", "dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk"]
    {
        assert_error(token(&app, &client, &with(Some(malformed))).await, 400, "invalid_request").await;
    }
    // Plain PKCE is not accepted: the challenge itself as the verifier.
    let challenge: &'static str = Box::leak(challenge_of(VERIFIER).into_boxed_str());
    assert_error(token(&app, &client, &with(Some(challenge))).await, 400, "invalid_grant").await;
    exchange_ok(&app, &client, &code).await;
}

async fn the_redirect_uri_must_be_repeated_identically_when_the_request_carried_it(app: TestApp) {
    let client = confidential(&app).await;
    let code = code(&app, &client).await;
    for redirect_uri in
        [None, Some(NATIVE), Some("https://app.example.com/cb"), Some("https://app.example.com/cb?tenant=7 ")]
    {
        let mut pairs =
            vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", VERIFIER)];
        pairs.extend(redirect_uri.map(|uri| ("redirect_uri", uri)));
        assert_error(app.post_token_basic(&client, &pairs).await, 400, "invalid_grant").await;
    }
    exchange_ok(&app, &client, &code).await;
}

async fn a_code_of_another_client_is_invalid_grant_and_stays_usable_by_its_own(app: TestApp) {
    let client = confidential(&app).await;
    let other = app.create_client(code_spec(ClientSpec { name: "other".into(), ..ClientSpec::default() })).await;
    let code = code(&app, &client).await;
    assert_error(exchange(&app, &other, &code).await, 400, "invalid_grant").await;
    let body = exchange_ok(&app, &client, &code).await;
    // Nor does another client presenting a used code revoke what it gave.
    assert_error(exchange(&app, &other, &code).await, 400, "invalid_grant").await;
    assert!(app.is_active(&text(&body, "access_token")).await);
}

async fn a_malformed_or_unknown_code_is_invalid_grant(app: TestApp) {
    let client = confidential(&app).await;
    let real = code(&app, &client).await;
    let typo = format!("{}{}", &real[..20], if &real[20..21] == "A" { "B" } else { "A" }) + &real[21..];
    let minted = oauthd::oauth::token_format::mint_code();
    let unknown = oauthd::oauth::token_format::reveal(&minted).to_owned();
    for code in ["", "oac_", "nonsense", &typo, &real.replacen("oac_", "oat_", 1)] {
        let pairs =
            [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", WEB), ("code_verifier", VERIFIER)];
        let r = app.post_token_basic(&client, &pairs).await;
        let expected = if code.is_empty() { "invalid_request" } else { "invalid_grant" };
        assert_error(r, 400, expected).await;
    }
    assert_error(exchange(&app, &client, &unknown).await, 400, "invalid_grant").await;
    exchange_ok(&app, &client, &real).await;
}

async fn a_code_expires_after_60_seconds(app: TestApp) {
    let client = confidential(&app).await;
    let (young, old) = (code(&app, &client).await, code(&app, &client).await);
    app.clock.advance(59);
    exchange_ok(&app, &client, &young).await;
    app.clock.advance(1);
    let r = exchange(&app, &client, &old).await;
    let body = assert_error(r, 400, "invalid_grant").await;
    assert!(body["error_description"].as_str().unwrap().contains("expired"), "{body}");
}

async fn a_code_lives_as_long_as_the_config_says(app: TestApp) {
    let client = confidential(&app).await;
    let (young, old) = (code(&app, &client).await, code(&app, &client).await);
    app.clock.advance(9);
    exchange_ok(&app, &client, &young).await;
    app.clock.advance(1);
    assert_error(exchange(&app, &client, &old).await, 400, "invalid_grant").await;
}

async fn a_second_use_of_a_code_fails_and_revokes_every_token_issued_from_it(app: TestApp) {
    let client = confidential(&app).await;
    let code = code(&app, &client).await;
    let first = exchange_ok(&app, &client, &code).await;
    let (access, refresh) = (text(&first, "access_token"), text(&first, "refresh_token"));
    let (new_access, new_refresh, _) = app.refresh_ok(&client, &refresh).await;
    let body = assert_error(exchange(&app, &client, &code).await, 400, "invalid_grant").await;
    assert!(body["error_description"].as_str().unwrap().contains("already been used"), "{body}");
    for token in [&access, &refresh, &new_access, &new_refresh] {
        assert!(!app.is_active(token).await, "every token of the code's family is revoked");
    }
    assert_eq!(app.introspect(&client, &new_access).await, serde_json::json!({"active": false}));
    assert_error(app.refresh(&client, &new_refresh, None).await, 400, "invalid_grant").await;
    // Another grant of the same user and client is untouched.
    let other = exchange_ok(&app, &client, &self::code(&app, &client).await).await;
    assert!(app.is_active(&text(&other, "access_token")).await);
}

/// Exchanges one code 20 times at once through `apps` in turn: the statuses, and the winner's body.
async fn race(apps: &[&TestApp], client: &TestClient, code: &str) -> (Vec<u16>, Vec<Value>) {
    let requests = (0..20).map(|i| exchange(apps[i % apps.len()], client, code));
    let responses = futures::future::join_all(requests).await;
    let mut statuses = Vec::new();
    let mut bodies = Vec::new();
    for r in responses {
        statuses.push(r.status().as_u16());
        bodies.push(r.json::<Value>().await.unwrap());
    }
    (statuses, bodies)
}

fn assert_one_winner(statuses: &[u16], bodies: &[Value]) {
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    for (status, body) in statuses.iter().zip(bodies) {
        if *status != 200 {
            assert_eq!((*status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
        }
    }
}

async fn of_twenty_concurrent_exchanges_of_one_code_exactly_one_succeeds(app: TestApp) {
    let client = public(&app).await;
    let code = code(&app, &client).await;
    let (statuses, bodies) = race(&[&app], &client, &code).await;
    assert_one_winner(&statuses, &bodies);
    // The losers were second uses: the winner's tokens are revoked with them (RFC 6749 §10.5).
    let winner = bodies.iter().find(|b| b["access_token"].is_string()).unwrap();
    assert!(!app.is_active(&text(winner, "access_token")).await);
}

async fn of_concurrent_exchanges_on_two_instances_exactly_one_succeeds(app: TestApp) {
    let client = public(&app).await;
    let other = app.another_instance().await;
    let code = code(&app, &client).await;
    let (statuses, bodies) = race(&[&app, &other], &client, &code).await;
    assert_one_winner(&statuses, &bodies);
}

async fn a_client_not_allowed_the_grant_is_unauthorized_client_at_both_endpoints(app: TestApp) {
    app.create_user(USER, "correct horse battery staple").await;
    let spec = ClientSpec { grant_types: vec!["refresh_token".into()], ..code_spec(ClientSpec::default()) };
    let client = app.create_client(spec).await;
    let location = redirected(&app, &request_params(&client, WEB, &[])).await;
    assert_error_redirect(&app, &location, WEB, "unauthorized_client");
    let pairs = [("grant_type", "authorization_code"), ("code", "oac_x"), ("code_verifier", VERIFIER)];
    assert_error(app.post_token_basic(&client, &pairs).await, 400, "unauthorized_client").await;
}

async fn a_public_client_always_rotates_even_when_its_policy_turns_rotation_off(app: TestApp) {
    let client = public(&app).await;
    let changes =
        oauthd::admin::clients::ClientChanges { rotate_refresh_tokens: Some(Some(false)), ..Default::default() };
    oauthd::admin::clients::update(&app.auth, &client.id, changes).await.unwrap();
    let body = exchange_ok(&app, &client, &code(&app, &client).await).await;
    let refresh = text(&body, "refresh_token");
    let r = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    let next: Value = r.json().await.unwrap();
    assert_ne!(text(&next, "refresh_token"), refresh, "rotated");
    assert!(!app.is_active(&refresh).await);
}

async fn a_public_client_replays_within_two_seconds_and_is_reuse_after(app: TestApp) {
    let client = public(&app).await;
    let refresh_with = |token_text: String| {
        let app = &app;
        let client = &client;
        async move {
            let r = token(app, client, &[("grant_type", "refresh_token"), ("refresh_token", &token_text)]).await;
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let first = exchange_ok(&app, &client, &code(&app, &client).await).await;
    let refresh = text(&first, "refresh_token");
    let (status, rotated) = refresh_with(refresh.clone()).await;
    assert_eq!(status, 200);
    app.clock.advance(1);
    let (status, replayed) = refresh_with(refresh.clone()).await;
    assert_eq!(status, 200, "within the public window: {replayed}");
    assert_eq!(replayed["refresh_token"], rotated["refresh_token"], "the very same answer");

    let second = exchange_ok(&app, &client, &code(&app, &client).await).await;
    let refresh = text(&second, "refresh_token");
    let (_, rotated) = refresh_with(refresh.clone()).await;
    app.clock.advance(2);
    let (status, body) = refresh_with(refresh).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "past 2 s it is reuse");
    assert!(!app.is_active(&text(&rotated, "refresh_token")).await, "the family is revoked");
}

async fn the_janitor_deletes_codes_after_their_expiry_and_the_retention(app: TestApp) {
    let client = confidential(&app).await;
    let used = code(&app, &client).await;
    let body = exchange_ok(&app, &client, &used).await;
    let _unused = code(&app, &client).await;
    app.clock.advance(60 + 99);
    let report = run_once(&app.auth).await.unwrap();
    assert_eq!(report.codes, 0, "kept within the retention");
    // Within the retention a used code still revokes its family when presented again.
    assert_error(exchange(&app, &client, &used).await, 400, "invalid_grant").await;
    assert!(!app.is_active(&text(&body, "refresh_token")).await);
    app.clock.advance(1);
    let report = run_once(&app.auth).await.unwrap();
    assert_eq!(report.codes, 2, "used and unused codes go");
    assert_eq!(run_once(&app.auth).await.unwrap().codes, 0);
    assert!(app.metrics().await.contains("oauthd_janitor_rows_deleted_total{kind=\"authorization_code\"} 2"));
}

#[test]
fn the_code_lifetime_and_the_public_replay_window_are_bounded() {
    let check = |f: fn(&mut Settings)| {
        let mut s = Settings::default();
        f(&mut s);
        s.validate().map_err(|e| e.to_string())
    };
    assert!(check(|_| {}).is_ok());
    assert!(check(|s| s.tokens.code_lifetime_secs = 600).is_ok());
    assert!(check(|s| s.tokens.code_lifetime_secs = 0).unwrap_err().contains("tokens.code_lifetime_secs"));
    assert!(check(|s| s.tokens.code_lifetime_secs = 601).unwrap_err().contains("tokens.code_lifetime_secs"));
    assert!(check(|s| s.tokens.public_replay_window_secs = 60).is_ok());
    let too_long = check(|s| s.tokens.public_replay_window_secs = 61).unwrap_err();
    assert!(too_long.contains("tokens.public_replay_window_secs"), "{too_long}");
    assert!(check(|s| s.tokens.public_replay_window_secs = -1).is_err());
    assert_eq!(Settings::default().tokens.code_lifetime_secs, 60);
    assert_eq!(Settings::default().tokens.public_replay_window_secs, 2);
}

/// The code travels in a URL, so only its digest is stored, with the challenge it is bound to.
async fn a_code_is_stored_as_its_digest_with_its_challenge(app: TestApp) {
    let client = confidential(&app).await;
    let code = code(&app, &client).await;
    let digest = oauthd::oauth::token_format::parse_code(&code).unwrap();
    let stored = app.auth.store.find_code(&digest).await.unwrap().unwrap();
    assert_eq!(stored.code_digest, digest);
    assert!(!format!("{stored:?}").contains(&code));
    assert!(stored.code_challenge.is_some_and(|c| c == challenge_of(VERIFIER)));
    assert_eq!(
        (stored.username.as_str(), stored.scope.as_str(), stored.redirect_uri.as_str()),
        (USER, "PRODUCTION", WEB)
    );
    assert_eq!(stored.expires_at, stored.issued_at + 60);
}

/// README, "Authorization code with PKCE": its registration command, its openssl verifier and
/// challenge, and its curl commands (the code is issued as /authorize issues it).
async fn the_readme_walkthrough_registers_exchanges_refreshes_and_revokes_with_curl(app: TestApp) {
    app.create_user(USER, "correct horse battery staple").await;
    let created = app
        .oauthd(&["client", "create", "--name", "my-cli", "--public", "--grant-type", "authorization_code"])
        .args(["--grant-type", "refresh_token", "--scope", "PRODUCTION", "--redirect-uri", "http://127.0.0.1/callback"])
        .arg("--json")
        .run_ok()
        .json();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let pkce = std::process::Command::new("sh")
        .args(["-c", concat!(
            "VERIFIER=$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\\n')\n",
            "CHALLENGE=$(printf '%s' \"$VERIFIER\" | openssl dgst -sha256 -binary | openssl base64 | tr '+/' '-_' | tr -d '=\\n')\n",
            "echo \"$VERIFIER $CHALLENGE\"",
        )])
        .run_ok()
        .stdout;
    let (verifier, challenge) = pkce.trim().split_once(' ').unwrap();
    assert_eq!(challenge, challenge_of(verifier), "the README's openssl pipeline computes S256");
    let redirect_uri = "http://127.0.0.1:8400/callback";
    // The README's URL, opened by a person: the sign-in page, then the consent page, then Allow.
    let query = format!(
        "response_type=code&client_id={id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback&scope=PRODUCTION\
         &state=af0ifjsldkj&code_challenge={challenge}&code_challenge_method=S256"
    );
    let mut browser = app.visitor();
    let to_login = browser.get(&format!("/authorize?{query}")).await;
    let login = browser.follow(&to_login).await;
    let return_to = login.hidden("return_to");
    let credentials = [("username", USER), ("password", "correct horse battery staple"), ("return_to", &return_to)];
    let signed_in = browser.submit(&login, "/login", &credentials).await;
    let consent = browser.follow(&signed_in).await;
    assert!(consent.body.contains("my-cli</span> wants access"), "{}", consent.body);
    let request = consent.hidden("request");
    let allowed =
        browser.submit(&consent, "/authorize/decision", &[("request", &request), ("decision", "allow")]).await;
    let location = allowed.redirected().to_owned();
    assert!(location.starts_with(&format!("{redirect_uri}?code=oac_")), "{location}");
    let mut params = answer(&location);
    assert_eq!((params["state"].as_str(), params["iss"].clone()), ("af0ifjsldkj", app.auth.issuer()));
    let code = params.remove("code").unwrap();

    let token_url = app.url("/token");
    let exchange = format!("grant_type=authorization_code&code={code}&client_id={id}&code_verifier={verifier}");
    let answer = curl(&["-d", &exchange, "--data-urlencode", &format!("redirect_uri={redirect_uri}"), &token_url]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let refresh = text(&answer.json(), "refresh_token");
    let answer = curl(&["-d", &format!("grant_type=refresh_token&refresh_token={refresh}&client_id={id}"), &token_url]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let refresh = text(&answer.json(), "refresh_token");
    let answer = curl(&["-d", &format!("token={refresh}&client_id={id}"), &app.url("/revoke")]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(!app.is_active(&refresh).await);
}

/// A store refusal while issuing the code (here: the user went away) is an error redirect too.
async fn a_code_for_a_user_deleted_meanwhile_redirects_with_temporarily_unavailable(app: TestApp) {
    let client = confidential(&app).await;
    let request = authorize_ok(&app, &request_params(&client, WEB, &[])).await;
    oauthd::admin::users::delete(&app.auth, &oauthd::admin::Origin::cli(), USER).await.unwrap();
    match app.auth.issue_code(&request, USER, &request.scope, app.clock.now()).await {
        Err(AuthorizeError::Redirect { location }) => {
            assert_error_redirect(&app, &location, WEB, "temporarily_unavailable")
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
}
