//! The authorization code flow in a real browser, driven by a real OAuth client library (the
//! `oauth2` crate, with PKCE): Chromium does what a person does — signs in, reads the consent page,
//! allows or denies — and the client's loopback redirect URI (RFC 8252 §7.3) is a listener this
//! test runs. On SQLite; consent.rs holds every rule over HTTP on both backends. Screenshots go to
//! target/screenshots/.

use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use oauthd::admin::clients::ClientSpec;
use tokio::sync::mpsc;

use crate::helpers::{run_on, Backend, Browser, TestApp, TestClient};

const PASSWORD: &str = "correct horse battery staple";

/// The native app's side: a loopback listener whose `/callback` hands each query it receives to
/// the test and shows "you can close this window".
struct Loopback {
    redirect_uri: String,
    queries: mpsc::UnboundedReceiver<String>,
}

impl Loopback {
    async fn start() -> Loopback {
        let (sender, queries) = mpsc::unbounded_channel();
        let router = axum::Router::new()
            .route(
                "/callback",
                get(|State(sender): State<mpsc::UnboundedSender<String>>, RawQuery(query): RawQuery| async move {
                    let _ = sender.send(query.unwrap_or_default());
                    Html("<!doctype html><title>Done</title><p>You can close this window.</p>")
                }),
            )
            .with_state(sender);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Loopback { redirect_uri: format!("http://127.0.0.1:{port}/callback"), queries }
    }

    /// The next query received, as pairs.
    async fn answer(&mut self) -> Vec<(String, String)> {
        let query = tokio::time::timeout(std::time::Duration::from_secs(10), self.queries.recv())
            .await
            .expect("the browser was redirected to the client")
            .unwrap();
        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
    }
}

fn param<'a>(answer: &'a [(String, String)], name: &str) -> Option<&'a str> {
    answer.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A public native app registered with a loopback redirect URI (any port), and alice.
async fn set_up(app: &TestApp) -> TestClient {
    app.create_user("alice", PASSWORD).await;
    app.create_client(ClientSpec {
        name: "Photo Printer".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["PRODUCTION".into(), "SANDBOX".into()],
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        public: true,
        ..ClientSpec::default()
    })
    .await
}

/// HTTPS (a self-signed certificate the browser and `app.http` accept: the `oauth2` crate refuses
/// a revocation endpoint over plain http), and descriptions of the scopes.
fn https_and_described_scopes(s: &mut oauthd::config::Settings) {
    s.tls.self_signed = true;
    s.ui.scope_descriptions.insert("PRODUCTION".into(), "Read and change your production data".into());
    s.ui.scope_descriptions.insert("SANDBOX".into(), "Try things out in the sandbox".into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_and_consents_and_the_oauth2_client_exchanges_refreshes_and_revokes() {
    run_on(Backend::Sqlite, https_and_described_scopes, |app: TestApp| async move {
        let Some(browser) = Browser::start("authorize").await else { return };
        assert!(app.address.starts_with("https://"));
        let registered = set_up(&app).await;
        let mut loopback = Loopback::start().await;
        let client = BasicClient::new(ClientId::new(registered.id.clone()))
            .set_auth_uri(AuthUrl::new(app.url("/authorize")).unwrap())
            .set_token_uri(TokenUrl::new(app.url("/token")).unwrap())
            .set_revocation_url(RevocationUrl::new(app.url("/revoke")).unwrap())
            .set_redirect_uri(RedirectUrl::new(loopback.redirect_uri.clone()).unwrap());
        // Trusts the app's certificate, follows no redirect.
        let http = app.http.clone();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (authorize_url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("PRODUCTION".into()))
            .add_scope(Scope::new("SANDBOX".into()))
            .set_pkce_challenge(challenge)
            .url();

        // Not signed in: the sign-in page. A wrong password shows the error and goes nowhere.
        browser.goto(authorize_url.as_str()).await;
        browser.wait_for_url("the sign-in page", |u| u.path() == "/login").await;
        browser.screenshot("login").await;
        browser.fill("#username", "alice").await;
        browser.fill("#password", "not my password").await;
        browser.click("button[type=submit]").await;
        assert_eq!(browser.text("#password-error").await, "The username or password is incorrect.");
        assert_eq!(browser.url().await.path(), "/login");
        assert!(loopback.queries.try_recv().is_err(), "no redirect to the client");
        browser.screenshot("login-error").await;

        // Signed in: back to the request, which asks for consent.
        browser.fill("#password", PASSWORD).await;
        browser.click("button[type=submit]").await;
        browser.wait_for_url("the consent page", |u| u.path() == "/authorize").await;
        assert_eq!(browser.text("h1").await, "Photo Printer wants access to your account");
        let scopes = browser.text("ul.scopes").await;
        assert!(scopes.contains("Read and change your production data") && scopes.contains("SANDBOX"), "{scopes}");
        browser.screenshot("consent").await;
        browser.resize(390, 844).await;
        browser.screenshot("consent-phone").await;
        browser.resize(1280, 900).await;

        // Allow: the browser lands on the client's loopback listener with code, state and iss.
        browser.click("button[value=allow]").await;
        let answer = loopback.answer().await;
        browser.wait_for_url("the client's callback", |u| u.path() == "/callback").await;
        browser.screenshot("callback").await;
        assert_eq!(param(&answer, "state"), Some(state.secret().as_str()));
        assert_eq!(param(&answer, "iss"), Some(app.auth.issuer().as_str()), "RFC 9207");
        let code = param(&answer, "code").expect("a code").to_owned();

        // The library exchanges the code with its PKCE verifier, refreshes, and revokes.
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("the code is exchanged");
        let access = tokens.access_token().secret().clone();
        assert!(app.is_active(&access).await);
        let refresh = tokens.refresh_token().expect("a refresh token").clone();
        let refreshed = client.exchange_refresh_token(&refresh).request_async(&http).await.expect("refreshed");
        let rotated = refreshed.refresh_token().expect("a public client's token rotates").clone();
        assert_ne!(rotated.secret(), refresh.secret());
        client
            .revoke_token(StandardRevocableToken::RefreshToken(rotated.clone()))
            .unwrap()
            .request_async(&http)
            .await
            .expect("revoked");
        assert!(!app.is_active(rotated.secret()).await, "the refresh token is revoked");
        assert!(!app.is_active(refreshed.access_token().secret()).await, "and its grant with it");

        // The consent is remembered: the same request goes straight back to the client.
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let (again, _) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("PRODUCTION".into()))
            .set_pkce_challenge(challenge)
            .url();
        browser.goto(again.as_str()).await;
        assert!(param(&loopback.answer().await, "code").is_some(), "no question the second time");

        // Signing out ends the session: the next request asks to sign in again.
        browser.goto(&app.url("/logout")).await;
        browser.screenshot("logout").await;
        browser.click("form button[type=submit]").await;
        assert_eq!(browser.text("h1").await, "You are signed out");
        browser.goto(again.as_str()).await;
        browser.wait_for_url("the sign-in page after signing out", |u| u.path() == "/login").await;
        browser.close().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_gives_the_client_access_denied_and_a_bad_request_shows_an_error_page() {
    run_on(
        Backend::Sqlite,
        |_| {},
        |app: TestApp| async move {
            let Some(browser) = Browser::start("deny").await else { return };
            let registered = set_up(&app).await;
            let mut loopback = Loopback::start().await;
            let client = BasicClient::new(ClientId::new(registered.id.clone()))
                .set_auth_uri(AuthUrl::new(app.url("/authorize")).unwrap())
                .set_redirect_uri(RedirectUrl::new(loopback.redirect_uri.clone()).unwrap());
            let (challenge, _) = PkceCodeChallenge::new_random_sha256();
            let (authorize_url, state) = client
                .authorize_url(CsrfToken::new_random)
                .add_scope(Scope::new("PRODUCTION".into()))
                .set_pkce_challenge(challenge)
                .url();
            browser.goto(authorize_url.as_str()).await;
            browser.fill("#username", "alice").await;
            browser.fill("#password", PASSWORD).await;
            browser.click("button[type=submit]").await;
            browser.wait_for_url("the consent page", |u| u.path() == "/authorize").await;
            browser.click("button[value=deny]").await;
            let answer = loopback.answer().await;
            assert_eq!(param(&answer, "error"), Some("access_denied"));
            assert_eq!(param(&answer, "state"), Some(state.secret().as_str()));
            assert_eq!(param(&answer, "iss"), Some(app.auth.issuer().as_str()));
            assert_eq!(param(&answer, "code"), None);

            // A redirect URI the client never registered: an error page, and the browser stays here.
            let mut bad = authorize_url.clone();
            let pairs: Vec<(String, String)> =
                bad.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            let pairs =
                pairs
                    .into_iter()
                    .map(|(k, v)| if k == "redirect_uri" { (k, "https://evil.example/cb".into()) } else { (k, v) });
            bad.query_pairs_mut().clear().extend_pairs(pairs);
            browser.goto(bad.as_str()).await;
            assert_eq!(browser.text("h1").await, "This request cannot be answered");
            assert_eq!(browser.url().await.host_str(), Some("127.0.0.1"));
            browser.screenshot("error").await;
            browser.close().await;
        },
    )
    .await
}
