//! The verified-secret cache and the per-client failure backoff (src/oauth/secret_cache.rs):
//! behaviour only — what is accepted and what is refused — never timing.

use oauthd::admin::clients::{self, ClientSpec};
use oauthd::admin::Origin;
use oauthd::config::Settings;
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{assert_error, machine_spec, TestApp, TestClient};

on_both_backends!(
    repeated_authentication_with_the_same_secret_keeps_working,
    a_rotated_secret_fails_at_once_whether_or_not_it_was_cached,
    a_wrong_secret_never_matches_a_cached_one,
    deleting_a_client_makes_its_cached_credentials_fail,
    a_client_created_again_under_the_same_id_does_not_accept_the_old_cached_secret,
    repeated_failures_refuse_even_the_right_secret_for_a_while with backoff_after_3_failures_up_to_60_seconds,
    a_secret_already_verified_is_accepted_while_an_attacker_is_backed_off with backoff_after_3_failures,
    with_the_cache_disabled_authentication_and_rotation_still_work with no_secret_cache,
);

async fn client_credentials_status(app: &TestApp, client: &TestClient) -> u16 {
    app.post_token_basic(client, &[("grant_type", "client_credentials")]).await.status().as_u16()
}

/// Rotates `client`'s secret: at once the old secret is refused and the new one works, twice
/// (so it is cached), and the old one is still refused after that. Returns the rotated client.
async fn rotate_and_check(app: &TestApp, client: &TestClient) -> TestClient {
    let new_secret = clients::rotate_secret(&app.auth, &Origin::cli(), &client.id, false).await.unwrap();
    let r = app.post_token_basic(client, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
    let rotated = client.with_secret(new_secret.expose_secret());
    assert_eq!(client_credentials_status(app, &rotated).await, 200);
    assert_eq!(client_credentials_status(app, &rotated).await, 200);
    let r = app.post_token_basic(client, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
    rotated
}

async fn repeated_authentication_with_the_same_secret_keeps_working(app: TestApp) {
    let client = app.standard_client().await;
    // client_secret_post on its own, before anything is cached.
    let r = app.post_token_post(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status(), 200);
    for _ in 0..5 {
        assert_eq!(client_credentials_status(&app, &client).await, 200);
    }
    // client_secret_post finds the same cached secret.
    let r = app.post_token_post(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status(), 200);
}

async fn a_rotated_secret_fails_at_once_whether_or_not_it_was_cached(app: TestApp) {
    let client = app.standard_client().await;
    // Never used: nothing cached.
    let rotated = rotate_and_check(&app, &client).await;
    // Used twice by rotate_and_check: cached.
    rotate_and_check(&app, &rotated).await;
}

async fn a_wrong_secret_never_matches_a_cached_one(app: TestApp) {
    let client = app.standard_client().await;
    assert_eq!(client_credentials_status(&app, &client).await, 200);
    let mut truncated = client.secret.clone();
    truncated.pop();
    for wrong in [format!("{}x", client.secret), truncated, client.secret.to_uppercase(), String::new()] {
        let r = app.post_token_basic(&client.with_secret(&wrong), &[("grant_type", "client_credentials")]).await;
        assert_error(r, 401, "invalid_client").await;
    }
    assert_eq!(client_credentials_status(&app, &client).await, 200, "failures do not evict the verified secret");
}

async fn deleting_a_client_makes_its_cached_credentials_fail(app: TestApp) {
    let client = app.standard_client().await;
    assert_eq!(client_credentials_status(&app, &client).await, 200);
    clients::delete(&app.auth, &Origin::cli(), &client.id).await.unwrap();
    let r = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
}

async fn a_client_created_again_under_the_same_id_does_not_accept_the_old_cached_secret(app: TestApp) {
    let spec = |secret: &str| ClientSpec {
        client_id: Some("reborn".into()),
        secret: Some(SecretString::from(secret.to_owned())),
        ..machine_spec()
    };
    let old = app.create_client(spec("the-first-secret-value")).await;
    assert_eq!(client_credentials_status(&app, &old).await, 200);
    clients::delete(&app.auth, &Origin::cli(), &old.id).await.unwrap();
    // Same id, secret version back at 1: only the new hash tells the rows apart.
    let new = app.create_client(spec("the-second-secret-value")).await;
    let r = app.post_token_basic(&old, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
    assert_eq!(client_credentials_status(&app, &new).await, 200);
}

fn backoff_after_3_failures(s: &mut Settings) {
    s.security.client_failure_threshold = 3;
}

fn backoff_after_3_failures_up_to_60_seconds(s: &mut Settings) {
    backoff_after_3_failures(s);
    s.security.client_failure_backoff_max_secs = 60;
}

async fn repeated_failures_refuse_even_the_right_secret_for_a_while(app: TestApp) {
    let client = app.standard_client().await;
    let wrong = client.with_secret("not-the-secret-at-all");
    for _ in 0..3 {
        let r = app.post_token_basic(&wrong, &[("grant_type", "client_credentials")]).await;
        assert_error(r, 401, "invalid_client").await;
    }
    let r = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
    // Unknown ids back off alike, so the backoff does not tell which ids exist.
    let ghost = TestClient { id: "ghost".into(), secret: "whatever-secret-value".into() };
    for _ in 0..4 {
        let r = app.post_token_basic(&ghost, &[("grant_type", "client_credentials")]).await;
        assert_error(r, 401, "invalid_client").await;
    }
    // The manual clock moves past the backoff: the right secret works again.
    app.clock.advance(61);
    assert_eq!(client_credentials_status(&app, &client).await, 200);
}

async fn a_secret_already_verified_is_accepted_while_an_attacker_is_backed_off(app: TestApp) {
    let client = app.standard_client().await;
    assert_eq!(client_credentials_status(&app, &client).await, 200);
    let wrong = client.with_secret("not-the-secret-at-all");
    for _ in 0..5 {
        let r = app.post_token_basic(&wrong, &[("grant_type", "client_credentials")]).await;
        assert_error(r, 401, "invalid_client").await;
    }
    assert_eq!(client_credentials_status(&app, &client).await, 200);
}

fn no_secret_cache(s: &mut Settings) {
    s.security.secret_cache_capacity = 0;
}

async fn with_the_cache_disabled_authentication_and_rotation_still_work(app: TestApp) {
    let client = app.standard_client().await;
    assert_eq!(client_credentials_status(&app, &client).await, 200);
    assert_eq!(client_credentials_status(&app, &client).await, 200);
    rotate_and_check(&app, &client).await;
}
