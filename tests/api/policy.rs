//! Per-client policy overrides (`oauthd client update`) and admin revocation.

use oauthd::admin::clients::{self, ClientChanges};
use oauthd::admin::{users, Origin};
use serde_json::{json, Value};

use crate::helpers::{assert_error, ok, Run, TestApp, TestClient};

on_both_backends!(
    a_client_lifetime_override_wins_over_config_and_default_restores_it,
    a_client_family_lifetime_caps_its_refresh_tokens,
    rotation_off_keeps_the_refresh_token_and_renews_the_access_token,
    a_client_replay_window_of_zero_makes_it_strict,
    refresh_tokens_for_client_credentials_can_be_turned_off,
    client_update_cli_changes_policy_and_show_reports_it,
    client_revoke_tokens_revokes_every_token_of_that_client_only,
    user_revoke_tokens_revokes_every_token_of_that_user_only,
    disabling_a_client_refuses_it_and_revokes_its_tokens,
    rotating_a_secret_keeps_tokens_unless_asked_to_revoke_them,
);

async fn update(app: &TestApp, client: &TestClient, changes: ClientChanges) {
    clients::update(&app.auth, &client.id, changes).await.expect("client updated");
}

async fn a_client_lifetime_override_wins_over_config_and_default_restores_it(app: TestApp) {
    let client = app.standard_client().await;
    update(&app, &client, ClientChanges { access_lifetime_secs: Some(Some(60)), ..ClientChanges::default() }).await;
    assert_eq!(app.client_credentials(&client, "PRODUCTION").await["expires_in"], 60);
    let (_, refresh) = app.token_pair(&client).await;
    let (_, _, body) = app.refresh_ok(&client, &refresh).await;
    assert_eq!(body["expires_in"], 60, "refreshes follow the client's policy too");
    update(&app, &client, ClientChanges { access_lifetime_secs: Some(None), ..ClientChanges::default() }).await;
    assert_eq!(app.client_credentials(&client, "PRODUCTION").await["expires_in"], 3600);
}

async fn a_client_family_lifetime_caps_its_refresh_tokens(app: TestApp) {
    let client = app.standard_client().await;
    update(
        &app,
        &client,
        ClientChanges {
            family_lifetime_secs: Some(Some(100)),
            refresh_lifetime_secs: Some(Some(1000)),
            ..ClientChanges::default()
        },
    )
    .await;
    let (_, refresh) = app.token_pair(&client).await;
    app.clock.advance(50);
    let (_, next, _) = app.refresh_ok(&client, &refresh).await;
    app.clock.advance(50);
    assert_error(app.refresh(&client, &next, None).await, 400, "invalid_grant").await;
}

async fn rotation_off_keeps_the_refresh_token_and_renews_the_access_token(app: TestApp) {
    let client = app.standard_client().await;
    update(&app, &client, ClientChanges { rotate_refresh_tokens: Some(Some(false)), ..ClientChanges::default() }).await;
    let (first_access, refresh) = app.token_pair(&client).await;
    let (second_access, same, _) = app.refresh_ok(&client, &refresh).await;
    assert_eq!(same, refresh, "the same refresh token comes back");
    assert_ne!(second_access, first_access);
    assert!(!app.is_active(&first_access).await, "the previous access token is revoked");
    let (third_access, same_again, _) = app.refresh_ok(&client, &refresh).await;
    assert_eq!(same_again, refresh);
    assert!(!app.is_active(&second_access).await && app.is_active(&third_access).await);
    app.clock.advance(14 * 24 * 3600);
    assert_error(app.refresh(&client, &refresh, None).await, 400, "invalid_grant").await;
}

async fn a_client_replay_window_of_zero_makes_it_strict(app: TestApp) {
    let client = app.standard_client().await;
    update(&app, &client, ClientChanges { replay_window_secs: Some(Some(0)), ..ClientChanges::default() }).await;
    let (_, refresh) = app.token_pair(&client).await;
    let (_, next, _) = app.refresh_ok(&client, &refresh).await;
    assert_error(app.refresh(&client, &refresh, None).await, 400, "invalid_grant").await;
    assert!(!app.is_active(&next).await, "an immediate duplicate is reuse when the window is 0");
}

async fn refresh_tokens_for_client_credentials_can_be_turned_off(app: TestApp) {
    let client = app.standard_client().await;
    update(&app, &client, ClientChanges { client_credentials_refresh: Some(Some(false)), ..ClientChanges::default() })
        .await;
    let body = app.client_credentials(&client, "PRODUCTION").await;
    assert!(body.get("refresh_token").is_none());
    app.create_user("alice", "pw").await;
    let r = app.password_grant(&client, "alice", "pw").await;
    let body: Value = r.json().await.unwrap();
    assert!(body["refresh_token"].is_string(), "other grants still get one");
}

async fn client_update_cli_changes_policy_and_show_reports_it(app: TestApp) {
    let client = app.standard_client().await;
    app.oauthd(&["client", "update", &client.id, "--access-lifetime", "90", "--rotation", "off"])
        .args(["--introspect", "on", "--json"])
        .run_ok();
    app.await_client_change(&client.id).await;
    let shown = app.oauthd(&["client", "show", &client.id, "--json"]).run_ok().json();
    assert_eq!(shown["policy"]["access_lifetime_secs"], 90);
    assert_eq!(shown["policy"]["rotate_refresh_tokens"], false);
    assert_eq!(shown["policy"]["refresh_lifetime_secs"], 14 * 24 * 3600, "defaults shown for the rest");
    assert_eq!(shown["introspect"], true);
    assert_eq!(app.client_credentials(&client, "PRODUCTION").await["expires_in"], 90);
    app.oauthd(&["client", "update", &client.id, "--access-lifetime", "default"]).run_ok();
    app.await_client_change(&client.id).await;
    assert_eq!(app.client_credentials(&client, "PRODUCTION").await["expires_in"], 3600);
    let refused = app.oauthd(&["client", "update", &client.id, "--access-lifetime=-3"]).run();
    assert!(!refused.success && refused.stderr.contains("between 1 and"), "{}", refused.stderr);
    // A replay window, like tokens.replay_window_secs, is at most 60 s (README, security notes).
    let refused = app.oauthd(&["client", "update", &client.id, "--replay-window", "61"]).run();
    assert!(!refused.success && refused.stderr.contains("between 0 and 60"), "{}", refused.stderr);
    app.oauthd(&["client", "update", &client.id, "--replay-window", "60"]).run_ok();
    let admin = app.admin_api().await;
    let path = format!("/clients/{}", client.id);
    let refused = ok(admin.patch(&path, json!({"replay_window_secs": 61})).await, 422).await;
    assert!(refused.to_string().contains("between 0 and 60"), "{refused}");
    ok(admin.patch(&path, json!({"replay_window_secs": 5})).await, 200).await;
}

async fn client_revoke_tokens_revokes_every_token_of_that_client_only(app: TestApp) {
    let leaked = app.standard_client().await;
    let other = app.standard_client().await;
    let (a1, r1) = app.token_pair(&leaked).await;
    let (a2, r2) = app.token_pair(&leaked).await;
    let (a3, r3) = app.token_pair(&other).await;
    let out = app.oauthd(&["client", "revoke-tokens", &leaked.id]).run_ok().stdout;
    assert!(out.contains("2 grants"), "{out}");
    for t in [&a1, &r1, &a2, &r2] {
        assert!(!app.is_active(t).await);
    }
    assert!(app.is_active(&a3).await && app.is_active(&r3).await);
    assert_eq!(app.client_credentials(&leaked, "PRODUCTION").await["token_type"], "Bearer", "the client still works");
}

async fn user_revoke_tokens_revokes_every_token_of_that_user_only(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "pw").await;
    app.create_user("bob", "pw").await;
    let grant = |user: &'static str| {
        let (app, client) = (&app, client.clone());
        async move {
            let r = app.password_grant(&client, user, "pw").await;
            r.json::<Value>().await.unwrap()["refresh_token"].as_str().unwrap().to_owned()
        }
    };
    let alice = grant("alice").await;
    let bob = grant("bob").await;
    assert_eq!(users::revoke_tokens(&app.auth, &Origin::cli(), "alice").await.unwrap(), 1);
    assert!(!app.is_active(&alice).await && app.is_active(&bob).await);
    app.oauthd(&["user", "revoke-tokens", "bob"]).run_ok();
    assert!(!app.is_active(&bob).await);
}

async fn disabling_a_client_refuses_it_and_revokes_its_tokens(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    app.oauthd(&["client", "disable", &client.id]).run_ok();
    app.await_client_change(&client.id).await;
    assert!(!app.is_active(&access).await && !app.is_active(&refresh).await);
    let r = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
    app.oauthd(&["client", "enable", &client.id]).run_ok();
    app.await_client_change(&client.id).await;
    app.client_credentials(&client, "PRODUCTION").await;
    assert!(!app.is_active(&access).await, "revoked tokens stay revoked");
}

async fn rotating_a_secret_keeps_tokens_unless_asked_to_revoke_them(app: TestApp) {
    let client = app.standard_client().await;
    let (kept, _) = app.token_pair(&client).await;
    clients::rotate_secret(&app.auth, &Origin::cli(), &client.id, false).await.unwrap();
    assert!(app.is_active(&kept).await);
    clients::rotate_secret(&app.auth, &Origin::cli(), &client.id, true).await.unwrap();
    assert!(!app.is_active(&kept).await);
}
