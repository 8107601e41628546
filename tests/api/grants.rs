//! The password and client_credentials grants (RFC 6749 §4.3, §4.4, §5.1, §5.2).

use oauthd::admin::clients::ClientSpec;
use oauthd::config::Settings;
use serde_json::Value;

use crate::helpers::{assert_error, TestApp};

on_both_backends!(
    client_credentials_grant_answers_a_bearer_token_and_a_refresh_token,
    token_answers_are_never_cached,
    a_request_without_scope_gets_the_client_default_scopes,
    a_client_without_the_refresh_grant_gets_no_refresh_token,
    password_grant_issues_tokens_for_a_valid_user,
    password_grant_refuses_a_wrong_password_and_an_unknown_user_alike,
    password_grant_requires_username_and_password,
    a_scope_outside_the_client_allowance_is_invalid_scope,
    a_malformed_scope_is_invalid_scope,
    a_grant_the_client_may_not_use_is_unauthorized_client,
    an_unknown_grant_type_is_unsupported_grant_type,
    a_missing_grant_type_is_invalid_request,
    access_token_lifetime_comes_from_config with access_tokens_live_120_seconds,
    each_grant_issues_distinct_well_formed_tokens,
);

async fn client_credentials_grant_answers_a_bearer_token_and_a_refresh_token(app: TestApp) {
    let client = app.standard_client().await;
    let body = app.client_credentials(&client, "PRODUCTION").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "PRODUCTION");
    assert!(body["access_token"].as_str().is_some_and(|t| t.starts_with("oat_")));
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.starts_with("ort_")));
}

async fn token_answers_are_never_cached(app: TestApp) {
    let client = app.standard_client().await;
    let ok = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
    let bad = app.post_token_basic(&client, &[("grant_type", "password")]).await;
    for r in [ok, bad] {
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.headers()["pragma"], "no-cache");
    }
}

async fn a_request_without_scope_gets_the_client_default_scopes(app: TestApp) {
    let all = app.standard_client().await;
    let narrow = app
        .create_client(ClientSpec {
            name: "narrow".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["PRODUCTION".into(), "SANDBOX".into()],
            default_scopes: Some(vec!["SANDBOX".into()]),
            ..ClientSpec::default()
        })
        .await;
    // An empty value counts as omitted (RFC 6749 §3.1).
    let r: Value =
        app.post_token_basic(&all, &[("grant_type", "client_credentials"), ("scope", "")]).await.json().await.unwrap();
    assert_eq!(r["scope"], "PRODUCTION SANDBOX");
    let r: Value = app.post_token_basic(&narrow, &[("grant_type", "client_credentials")]).await.json().await.unwrap();
    assert_eq!(r["scope"], "SANDBOX");
}

async fn a_client_without_the_refresh_grant_gets_no_refresh_token(app: TestApp) {
    let client = app.machine_client().await;
    let body = app.client_credentials(&client, "PRODUCTION").await;
    assert!(body["access_token"].is_string());
    assert!(body.get("refresh_token").is_none(), "no refresh token in {body}");
}

async fn password_grant_issues_tokens_for_a_valid_user(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "correct horse & battery+staple").await;
    let r = app
        .post_token_basic(
            &client,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "correct horse & battery+staple"),
                ("scope", "SANDBOX"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scope"], "SANDBOX");
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.starts_with("ort_")));
}

async fn password_grant_refuses_a_wrong_password_and_an_unknown_user_alike(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "right").await;
    let wrong = app.password_grant(&client, "alice", "wrong").await;
    let wrong = assert_error(wrong, 400, "invalid_grant").await;
    let unknown = app.password_grant(&client, "bob", "right").await;
    let unknown = assert_error(unknown, 400, "invalid_grant").await;
    assert_eq!(wrong, unknown, "the answers must not tell an unknown user from a wrong password");
}

async fn password_grant_requires_username_and_password(app: TestApp) {
    let client = app.standard_client().await;
    let r = app.post_token_basic(&client, &[("grant_type", "password"), ("password", "x")]).await;
    let body = assert_error(r, 400, "invalid_request").await;
    assert!(body["error_description"].as_str().unwrap().contains("username"));
    let r = app.post_token_basic(&client, &[("grant_type", "password"), ("username", "alice")]).await;
    assert_error(r, 400, "invalid_request").await;
}

async fn a_scope_outside_the_client_allowance_is_invalid_scope(app: TestApp) {
    let client = app.standard_client().await;
    let r = app.post_token_basic(&client, &[("grant_type", "client_credentials"), ("scope", "PRODUCTION admin")]).await;
    assert_error(r, 400, "invalid_scope").await;
}

async fn a_malformed_scope_is_invalid_scope(app: TestApp) {
    let client = app.standard_client().await;
    let r = app
        .post_token_basic(&client, &[("grant_type", "client_credentials"), ("scope", "PRODUCTION \"quoted\"")])
        .await;
    assert_error(r, 400, "invalid_scope").await;
}

async fn a_grant_the_client_may_not_use_is_unauthorized_client(app: TestApp) {
    let client = app.machine_client().await;
    app.create_user("alice", "pw").await;
    let r = app.password_grant(&client, "alice", "pw").await;
    assert_error(r, 400, "unauthorized_client").await;
}

async fn an_unknown_grant_type_is_unsupported_grant_type(app: TestApp) {
    let client = app.standard_client().await;
    for grant in ["implicit", "urn:ietf:params:oauth:grant-type:device_code"] {
        let r = app.post_token_basic(&client, &[("grant_type", grant)]).await;
        assert_error(r, 400, "unsupported_grant_type").await;
    }
}

async fn a_missing_grant_type_is_invalid_request(app: TestApp) {
    let client = app.standard_client().await;
    let r = app.post_token_basic(&client, &[("scope", "PRODUCTION")]).await;
    assert_error(r, 400, "invalid_request").await;
}

fn access_tokens_live_120_seconds(s: &mut Settings) {
    s.tokens.access_lifetime_secs = 120;
}

async fn access_token_lifetime_comes_from_config(app: TestApp) {
    let client = app.standard_client().await;
    let body = app.client_credentials(&client, "PRODUCTION").await;
    assert_eq!(body["expires_in"], 120);
}

async fn each_grant_issues_distinct_well_formed_tokens(app: TestApp) {
    let client = app.standard_client().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..5 {
        let body = app.client_credentials(&client, "PRODUCTION").await;
        for key in ["access_token", "refresh_token"] {
            let t = body[key].as_str().unwrap().to_owned();
            assert_eq!(t.len(), 53, "prefix + 256 bits + checksum");
            assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "URL-safe: {t}");
            assert!(seen.insert(t), "tokens must be unique");
        }
    }
}
