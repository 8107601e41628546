//! Requests from a client whose row and secret a server holds in its caches (the store's client
//! cache and the verified-secret cache) authenticate without reading the database. These tests warm
//! those caches on every endpoint, change the client behind them — on this instance, or on another
//! one sharing the database — and check that each endpoint answers from the current row, and that
//! nothing was changed by a request that should have been refused.

use oauthd::admin::clients::{self, ClientChanges, ClientSpec};
use oauthd::admin::{tokens, Origin};
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{assert_error, basic, form, sample, TestApp, TestClient};

on_both_backends!(
    every_endpoint_refuses_a_cached_secret_once_it_was_rotated,
    every_endpoint_refuses_a_cached_client_once_it_was_disabled,
    a_policy_change_applies_at_once_to_a_client_whose_secret_is_cached,
    a_client_created_again_under_the_same_id_is_refused_the_old_secret_on_every_endpoint,
    bad_requests_from_a_cached_client_get_the_usual_answers_counted_once,
    a_client_changed_through_another_instance_is_refused_on_every_endpoint_within_the_bound,
);

/// Uses every endpoint once with `client`, so its secret is cached; returns a live token pair.
async fn warm(app: &TestApp, client: &TestClient) -> (String, String) {
    let (_, refresh) = app.token_pair(client).await;
    let (access, refresh, _) = app.refresh_ok(client, &refresh).await;
    assert_eq!(app.introspect(client, &access).await["active"], true);
    let (spare, _) = app.token_pair(client).await;
    assert_eq!(app.revoke(client, &spare, None).await.status(), 200);
    (access, refresh)
}

async fn introspect_raw(app: &TestApp, caller: &TestClient, token: &str) -> reqwest::Response {
    app.post_raw("/introspect", Some(&basic(&caller.id, &caller.secret)), form(&[("token", token)])).await
}

/// Every endpoint answers `invalid_client` to `client`. Those are 5 failures for the id, so the
/// caller moves the clock past the failure backoff before the right secret is tried again.
async fn assert_refused_everywhere(app: &TestApp, client: &TestClient, access: &str, refresh: &str) {
    let r = app.post_token_basic(client, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
    assert_error(app.refresh(client, refresh, None).await, 401, "invalid_client").await;
    assert_error(introspect_raw(app, client, access).await, 401, "invalid_client").await;
    assert_error(app.revoke(client, access, None).await, 401, "invalid_client").await;
    assert_error(app.revoke(client, refresh, None).await, 401, "invalid_client").await;
}

async fn every_endpoint_refuses_a_cached_secret_once_it_was_rotated(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = warm(&app, &client).await;
    let new_secret = clients::rotate_secret(&app.auth, &Origin::cli(), &client.id, false).await.unwrap();

    assert_refused_everywhere(&app, &client, &access, &refresh).await;
    assert!(app.is_active(&access).await && app.is_active(&refresh).await, "refused requests changed nothing");

    app.clock.advance(61);
    let rotated = TestClient { id: client.id.clone(), secret: new_secret.expose_secret().to_owned() };
    assert_eq!(app.introspect(&rotated, &access).await["active"], true);
    app.refresh_ok(&rotated, &refresh).await;
    assert_refused_everywhere(&app, &client, &access, &refresh).await;
}

async fn every_endpoint_refuses_a_cached_client_once_it_was_disabled(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = warm(&app, &client).await;
    clients::set_disabled(&app.auth, &Origin::cli(), &client.id, true).await.unwrap();
    assert_refused_everywhere(&app, &client, &access, &refresh).await;

    clients::set_disabled(&app.auth, &Origin::cli(), &client.id, false).await.unwrap();
    app.clock.advance(61);
    assert_eq!(app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await.status(), 200);
    assert_eq!(app.introspect(&client, &access).await["active"], false, "disabling revoked its tokens");
}

async fn a_policy_change_applies_at_once_to_a_client_whose_secret_is_cached(app: TestApp) {
    let client = app.standard_client().await;
    warm(&app, &client).await;

    let changes = ClientChanges { access_lifetime_secs: Some(Some(120)), ..ClientChanges::default() };
    clients::update(&app.auth, &client.id, changes).await.unwrap();
    assert_eq!(app.client_credentials(&client, "PRODUCTION").await["expires_in"], 120);

    let changes = ClientChanges { scopes: Some(vec!["PRODUCTION".into()]), ..ClientChanges::default() };
    clients::update(&app.auth, &client.id, changes).await.unwrap();
    let r = app.post_token_basic(&client, &[("grant_type", "client_credentials"), ("scope", "SANDBOX")]).await;
    assert_error(r, 400, "invalid_scope").await;

    let changes = ClientChanges { grant_types: Some(vec!["refresh_token".into()]), ..ClientChanges::default() };
    clients::update(&app.auth, &client.id, changes).await.unwrap();
    let r = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 400, "unauthorized_client").await;
}

async fn a_client_created_again_under_the_same_id_is_refused_the_old_secret_on_every_endpoint(app: TestApp) {
    let spec = |secret: &str| ClientSpec {
        client_id: Some("reborn".into()),
        name: "reborn".into(),
        grant_types: vec!["client_credentials".into(), "refresh_token".into()],
        scopes: vec!["PRODUCTION".into(), "SANDBOX".into()],
        secret: Some(SecretString::from(secret.to_owned())),
        ..ClientSpec::default()
    };
    let old = app.create_client(spec("the-first-secret-value")).await;
    warm(&app, &old).await;
    clients::delete(&app.auth, &Origin::cli(), &old.id).await.unwrap();
    // Same id, secret version back at 1: only the new hash tells the rows apart. The new
    // client's tokens come from the operator, so the old secret's cache entry is still there.
    let new = app.create_client(spec("the-second-secret-value")).await;
    let issued = tokens::issue(&app.auth, &Origin::cli(), &new.id, None, &[]).await.unwrap();
    let access = issued.access_token.expose_secret().to_owned();
    let refresh = issued.refresh_token.expect("a refresh token").expose_secret().to_owned();

    // An unknown token is no shortcut: the old secret is refused, not answered.
    let unknown = "oat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_error(introspect_raw(&app, &old, unknown).await, 401, "invalid_client").await;
    assert_error(app.revoke(&old, unknown, None).await, 401, "invalid_client").await;
    assert_refused_everywhere(&app, &old, &access, &refresh).await;
    assert!(app.is_active(&access).await && app.is_active(&refresh).await, "the new client's tokens are untouched");
    app.clock.advance(61);
    app.refresh_ok(&new, &refresh).await;
}

async fn bad_requests_from_a_cached_client_get_the_usual_answers_counted_once(app: TestApp) {
    let client = app.standard_client().await;
    let (access, _) = warm(&app, &client).await;
    let damaged = format!("{}x", &access[..access.len() - 1]);

    assert_eq!(app.introspect(&client, &damaged).await, serde_json::json!({"active": false}));
    assert_eq!(app.revoke(&client, &damaged, None).await.status(), 200);
    assert_error(app.refresh(&client, &damaged, None).await, 400, "invalid_grant").await;
    let r = app.post_token_basic(&client, &[("grant_type", "urn:example:unknown")]).await;
    assert_error(r, 400, "unsupported_grant_type").await;
    let r = app.post_raw("/revoke", Some(&basic(&client.id, &client.secret)), form(&[])).await;
    assert_error(r, 400, "invalid_request").await;
    let r = app.post_raw("/introspect", Some(&basic(&client.id, &client.secret)), form(&[])).await;
    assert_error(r, 400, "invalid_request").await;
    assert!(app.is_active(&access).await, "none of that touched the live token");

    let m = app.metrics().await;
    assert_eq!(sample(&m, "oauthd_revocations_total{kind=\"unknown\"}"), 1.0, "{m}");
    assert_eq!(sample(&m, "oauthd_revocations_total{kind=\"access_token\"}"), 1.0, "{m}");
    assert_eq!(sample(&m, "oauthd_introspections_total{active=\"false\"}"), 1.0, "{m}");
    assert_eq!(sample(&m, "oauthd_introspections_total{active=\"true\"}"), 1.0, "{m}");
    assert_eq!(sample(&m, "oauthd_client_auth_failures_total"), 0.0, "{m}");
}

/// Two instances on one database: a client warmed on the second, its secret rotated through the
/// first. The second hears of it (NOTIFY on PostgreSQL, the change counter on SQLite) and refuses
/// the old secret on every endpoint within the documented bound (1 s; polled up to 5 s here).
async fn a_client_changed_through_another_instance_is_refused_on_every_endpoint_within_the_bound(app: TestApp) {
    let second = app.another_instance().await;
    let client = app.standard_client().await;
    let (access, refresh) = warm(&second, &client).await;
    let start = std::time::Instant::now();
    while !second.auth.store.client_cache_is_on() || second.auth.store.cached_client(&client.id).is_none() {
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "the second instance never cached the client");
        warm(&second, &client).await;
    }
    let new_secret = clients::rotate_secret(&app.auth, &Origin::cli(), &client.id, false).await.unwrap();

    let start = std::time::Instant::now();
    loop {
        let r = second.post_token_basic(&client, &[("grant_type", "introspection_probe")]).await;
        if r.status() == 401 {
            break;
        }
        assert_eq!(r.status(), 400, "the old row answers unsupported_grant_type, changing nothing");
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "the change did not reach the second instance");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    eprintln!("{:?}: a rotated secret was refused by the other instance after {:?}", app.backend, start.elapsed());
    second.clock.advance(61);
    assert_refused_everywhere(&second, &client, &access, &refresh).await;
    second.clock.advance(61);
    let rotated = client.with_secret(new_secret.expose_secret());
    assert_eq!(second.introspect(&rotated, &access).await["active"], true, "the new secret works there");
    second.refresh_ok(&rotated, &refresh).await;
}
