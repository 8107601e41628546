//! /authorize in a browser's shoes, over HTTP on both backends: sign-in first and back, the
//! consent page, allow and deny, consent remembered and asked again for more scopes, first-party
//! clients, the CSRF token of the consent form, error pages for untrusted requests, throttled
//! sign-in, and `iss` in every answer. The rules of the request itself (redirect URI matching,
//! PKCE, each error) are held by authorization_code.rs through the same `oauth` functions.

use std::collections::HashMap;

use oauthd::admin::clients::ClientSpec;
use oauthd::admin::consents;
use oauthd::config::Settings;
use oauthd::oauth::pkce::challenge_of;
use serde_json::Value;

use crate::helpers::{form, Page, TestApp, TestClient, Visitor};

on_both_backends!(
    a_visitor_signs_in_first_and_comes_back_to_the_consent_page,
    allowing_redirects_with_a_code_state_and_iss_and_the_code_gets_tokens,
    a_consent_is_remembered_and_asked_again_for_more_scopes,
    a_forgotten_consent_is_asked_again,
    denying_redirects_with_access_denied_state_and_iss_and_remembers_nothing,
    a_first_party_client_is_not_asked,
    the_consent_form_needs_its_sessions_csrf_token_and_a_valid_request,
    an_untrusted_request_shows_an_error_page_and_never_redirects,
    an_error_after_the_redirect_uri_is_trusted_redirects_with_iss_before_any_sign_in,
    a_post_to_authorize_is_the_same_request_as_a_get,
    the_consent_page_describes_the_scopes_from_the_config with scope_descriptions,
    failed_sign_ins_lock_the_account_and_the_page_says_when_to_try_again with three_failures_lock,
);

const CALLBACK: &str = "https://photos.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PASSWORD: &str = "correct horse battery staple";

fn scope_descriptions(s: &mut Settings) {
    s.ui.scope_descriptions.insert("PRODUCTION".into(), "Read and change your production data".into());
}

fn three_failures_lock(s: &mut Settings) {
    s.login.account_failure_threshold = 3;
}

/// A public client "Photo Printer" allowed the authorization_code grant, PRODUCTION and SANDBOX,
/// redirecting to [`CALLBACK`]; and alice.
async fn set_up(app: &TestApp, first_party: bool) -> TestClient {
    app.create_user("alice", PASSWORD).await;
    app.create_client(ClientSpec {
        name: "Photo Printer".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["PRODUCTION".into(), "SANDBOX".into()],
        redirect_uris: vec![CALLBACK.into()],
        public: true,
        first_party,
        ..ClientSpec::default()
    })
    .await
}

/// The query of an authorization request for `scope` with state `xyz` and a challenge of
/// [`VERIFIER`].
fn request(client: &TestClient, scope: &str) -> String {
    let challenge = challenge_of(VERIFIER);
    form(&[
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", CALLBACK),
        ("scope", scope),
        ("state", "xyz"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
}

/// The parameters of a redirect to [`CALLBACK`], asserting it goes there.
fn callback(page: &Page) -> HashMap<String, String> {
    let location = page.redirected();
    let query =
        location.strip_prefix(&format!("{CALLBACK}?")).unwrap_or_else(|| panic!("not to the client: {location}"));
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// Asserts `page` is the consent page.
fn assert_consent_page(page: &Page) {
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("Photo Printer</span> wants access to your account"), "{}", page.body);
}

/// alice signed in, on the consent page of `query`.
async fn consent_page<'a>(visitor: &mut Visitor<'a>, query: &str) -> Page {
    let page = visitor.get(&format!("/authorize?{query}")).await;
    assert_consent_page(&page);
    page
}

async fn decide(visitor: &mut Visitor<'_>, page: &Page, decision: &str) -> Page {
    let request = page.hidden("request");
    visitor.submit(page, "/authorize/decision", &[("request", &request), ("decision", decision)]).await
}

async fn a_visitor_signs_in_first_and_comes_back_to_the_consent_page(app: TestApp) {
    let client = set_up(&app, false).await;
    let query = request(&client, "PRODUCTION");
    let mut visitor = app.visitor();
    let first = visitor.get(&format!("/authorize?{query}")).await;
    let to_login = first.redirected().to_owned();
    assert!(to_login.starts_with("/login?return_to=%2Fauthorize%3F"), "{to_login}");
    let login = visitor.follow(&first).await;
    assert_eq!(login.status, 200);
    let return_to = login.hidden("return_to");
    assert_eq!(return_to, format!("/authorize?{query}"));
    let signed = visitor
        .submit(&login, "/login", &[("username", "alice"), ("password", PASSWORD), ("return_to", &return_to)])
        .await;
    assert_eq!(signed.redirected(), return_to);
    let consent = visitor.follow(&signed).await;
    assert_consent_page(&consent);
    assert!(consent.body.contains("Signed in as <strong>alice</strong>"));
    assert!(consent.body.contains("<code class=\"scope\">PRODUCTION</code>"));
    assert!(!consent.body.contains("SANDBOX"), "only the scope asked for");
    assert_eq!(consent.hidden("request"), query);
}

async fn allowing_redirects_with_a_code_state_and_iss_and_the_code_gets_tokens(app: TestApp) {
    let client = set_up(&app, false).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let page = consent_page(&mut visitor, &request(&client, "PRODUCTION")).await;
    let answer = callback(&decide(&mut visitor, &page, "allow").await);
    assert_eq!(answer["state"], "xyz");
    assert_eq!(answer["iss"], app.auth.issuer());
    let code = &answer["code"];
    let r = app
        .post_raw(
            "/token",
            None,
            form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("client_id", &client.id),
                ("code_verifier", VERIFIER),
            ]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["scope"], "PRODUCTION");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(app.is_active(access).await);
}

async fn a_consent_is_remembered_and_asked_again_for_more_scopes(app: TestApp) {
    let client = set_up(&app, false).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let page = consent_page(&mut visitor, &request(&client, "PRODUCTION")).await;
    assert!(callback(&decide(&mut visitor, &page, "allow").await).contains_key("code"));

    // The same scope again: a code at once, with state and iss.
    let again = visitor.get(&format!("/authorize?{}", request(&client, "PRODUCTION"))).await;
    let answer = callback(&again);
    assert!(answer.contains_key("code"));
    assert_eq!((answer["state"].as_str(), answer["iss"].clone()), ("xyz", app.auth.issuer()));

    // More: asked again, and the page shows what is asked.
    let more = consent_page(&mut visitor, &request(&client, "PRODUCTION SANDBOX")).await;
    assert!(more.body.contains("SANDBOX"));
    assert!(callback(&decide(&mut visitor, &more, "allow").await).contains_key("code"));
    // Now either scope alone, or both, needs no question.
    for scope in ["SANDBOX", "PRODUCTION", "SANDBOX PRODUCTION"] {
        let page = visitor.get(&format!("/authorize?{}", request(&client, scope))).await;
        assert!(callback(&page).contains_key("code"), "{scope}");
    }
    let remembered = consents::of_user(&app.auth, "alice").await.unwrap();
    assert_eq!(remembered.len(), 1);
    assert_eq!(
        (remembered[0].client_name.as_str(), remembered[0].scope.as_str()),
        ("Photo Printer", "PRODUCTION SANDBOX")
    );

    // Another user is asked for their own consent.
    app.create_user("bob", PASSWORD).await;
    let mut bob = app.signed_in("bob", PASSWORD).await;
    consent_page(&mut bob, &request(&client, "PRODUCTION")).await;
}

async fn a_forgotten_consent_is_asked_again(app: TestApp) {
    let client = set_up(&app, false).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let page = consent_page(&mut visitor, &request(&client, "PRODUCTION")).await;
    decide(&mut visitor, &page, "allow").await;
    consents::forget(&app.auth, "alice", &client.id).await.unwrap();
    assert!(consents::of_user(&app.auth, "alice").await.unwrap().is_empty());
    consent_page(&mut visitor, &request(&client, "PRODUCTION")).await;
    assert!(consents::forget(&app.auth, "alice", &client.id).await.is_err(), "nothing left to forget");
}

async fn denying_redirects_with_access_denied_state_and_iss_and_remembers_nothing(app: TestApp) {
    let client = set_up(&app, false).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let page = consent_page(&mut visitor, &request(&client, "PRODUCTION")).await;
    let answer = callback(&decide(&mut visitor, &page, "deny").await);
    assert_eq!(answer["error"], "access_denied");
    assert_eq!(answer["state"], "xyz");
    assert_eq!(answer["iss"], app.auth.issuer());
    assert!(!answer.contains_key("code"));
    consent_page(&mut visitor, &request(&client, "PRODUCTION")).await;
    assert!(consents::of_user(&app.auth, "alice").await.unwrap().is_empty());
}

async fn a_first_party_client_is_not_asked(app: TestApp) {
    let client = set_up(&app, true).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let page = visitor.get(&format!("/authorize?{}", request(&client, "PRODUCTION SANDBOX"))).await;
    let answer = callback(&page);
    assert!(answer.contains_key("code"));
    assert_eq!(answer["iss"], app.auth.issuer());
    assert!(consents::of_user(&app.auth, "alice").await.unwrap().is_empty(), "implicit: nothing stored");
}

async fn the_consent_form_needs_its_sessions_csrf_token_and_a_valid_request(app: TestApp) {
    let client = set_up(&app, false).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let page = consent_page(&mut visitor, &request(&client, "PRODUCTION")).await;
    let query = page.hidden("request");
    let forged = [("request", query.as_str()), ("decision", "allow")];
    assert_eq!(visitor.post("/authorize/decision", &forged).await.status, 403, "no token");
    let mut with_wrong = forged.to_vec();
    with_wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(visitor.post("/authorize/decision", &with_wrong).await.status, 403, "a wrong token");
    // Another signed-in user's page cannot answer for alice, nor alice's token for them.
    app.create_user("mallory", PASSWORD).await;
    let mut mallory = app.signed_in("mallory", PASSWORD).await;
    let refused = mallory.submit(&page, "/authorize/decision", &forged).await;
    assert_eq!(refused.status, 403);
    assert!(refused.header("location").is_none());
    assert!(consents::of_user(&app.auth, "alice").await.unwrap().is_empty(), "nothing allowed");

    // The request is validated again: a tampered one is refused as /authorize would refuse it.
    let tampered = request(&client, "PRODUCTION").replace(&client.id, "nobody");
    let page_error = decide_with(&mut visitor, &page, &tampered, "allow").await;
    assert_eq!(page_error.status, 400);
    assert!(page_error.header("location").is_none());
    let too_much = request(&client, "PRODUCTION ADMIN");
    let answer = callback(&decide_with(&mut visitor, &page, &too_much, "allow").await);
    assert_eq!(answer["error"], "invalid_scope");
    assert_eq!(decide_with(&mut visitor, &page, &query, "maybe").await.status, 400);
}

async fn decide_with(visitor: &mut Visitor<'_>, page: &Page, query: &str, decision: &str) -> Page {
    visitor.submit(page, "/authorize/decision", &[("request", query), ("decision", decision)]).await
}

async fn an_untrusted_request_shows_an_error_page_and_never_redirects(app: TestApp) {
    let client = set_up(&app, false).await;
    let good = request(&client, "PRODUCTION");
    let cases = [
        good.replace(&client.id, "nobody"),
        good.replace("photos.example.com", "evil.example"),
        format!("{good}&client_id=again"),
        "response_type=code".to_owned(),
    ];
    let mut anonymous = app.visitor();
    let mut signed_in = app.signed_in("alice", PASSWORD).await;
    for query in &cases {
        for visitor in [&mut anonymous, &mut signed_in] {
            let page = visitor.get(&format!("/authorize?{query}")).await;
            assert_eq!(page.status, 400, "{query}");
            assert!(page.header("location").is_none(), "never a redirect: {query}");
            assert!(page.header("content-type").unwrap().starts_with("text/html"));
            assert!(page.body.contains("This request cannot be answered"), "{}", page.body);
            assert!(!page.body.contains("evil.example"), "the page does not link the bad URI");
        }
    }
}

async fn an_error_after_the_redirect_uri_is_trusted_redirects_with_iss_before_any_sign_in(app: TestApp) {
    let client = set_up(&app, false).await;
    let without_pkce =
        form(&[("response_type", "code"), ("client_id", &client.id), ("redirect_uri", CALLBACK), ("state", "s1")]);
    let answer = callback(&app.visitor().get(&format!("/authorize?{without_pkce}")).await);
    assert_eq!(answer["error"], "invalid_request");
    assert_eq!(answer["state"], "s1");
    assert_eq!(answer["iss"], app.auth.issuer());
    let wrong_type = request(&client, "PRODUCTION").replace("response_type=code", "response_type=token");
    let answer = callback(&app.visitor().get(&format!("/authorize?{wrong_type}")).await);
    assert_eq!(answer["error"], "unsupported_response_type");
    assert_eq!(answer["iss"], app.auth.issuer());
}

async fn a_post_to_authorize_is_the_same_request_as_a_get(app: TestApp) {
    let client = set_up(&app, false).await;
    let query = request(&client, "PRODUCTION");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut anonymous = app.visitor();
    let to_login = anonymous.post("/authorize", &pairs).await;
    let login = anonymous.follow(&to_login).await;
    assert_eq!(login.hidden("return_to"), format!("/authorize?{query}"), "back to the same request, as a GET");
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let page = visitor.post("/authorize", &pairs).await;
    assert_consent_page(&page);
    assert!(callback(&decide(&mut visitor, &page, "allow").await).contains_key("code"));
}

async fn the_consent_page_describes_the_scopes_from_the_config(app: TestApp) {
    let client = set_up(&app, false).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let page = consent_page(&mut visitor, &request(&client, "PRODUCTION SANDBOX")).await;
    assert!(page.body.contains("Read and change your production data"));
    assert!(page.body.contains("<code class=\"scope\">SANDBOX</code>"), "a scope without a description by its name");
    for (field, value) in [("decision", "allow"), ("decision", "deny")] {
        assert!(page.body.contains(&format!("name=\"{field}\" value=\"{value}\"")));
    }
}

async fn failed_sign_ins_lock_the_account_and_the_page_says_when_to_try_again(app: TestApp) {
    let client = set_up(&app, false).await;
    let return_to = format!("/authorize?{}", request(&client, "PRODUCTION"));
    let mut visitor = app.visitor();
    for _ in 0..3 {
        assert_eq!(visitor.sign_in("alice", "wrong", &return_to).await.status, 401);
    }
    let locked = visitor.sign_in("alice", PASSWORD, &return_to).await;
    assert_eq!(locked.status, 429, "the right password waits too");
    assert_eq!(locked.header("retry-after"), Some("1"));
    assert!(locked.body.contains("Too many failed sign-ins. Try again in 1 s."), "{}", locked.body);
    assert!(locked.header("location").is_none());
    let m = app.metrics().await;
    assert!(crate::helpers::sample(&m, "oauthd_login_failures_total") >= 3.0, "{m}");
    app.clock.advance(1);
    let signed = visitor.sign_in("alice", PASSWORD, &return_to).await;
    assert_eq!(signed.redirected(), return_to);
}
