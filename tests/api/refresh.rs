//! The refresh_token grant: rotation, reuse detection, idempotent replay (RFC 6749 §6, RFC 9700 §4.14).

use std::collections::HashSet;

use oauthd::config::Settings;
use serde_json::Value;

use crate::helpers::{assert_error, TestApp, TestClient};

on_both_backends!(
    a_refresh_returns_a_new_pair_with_a_new_expiry_and_retires_the_old_token with refresh_tokens_live_1000_seconds,
    a_chain_of_100_rotations_leaves_every_old_token_unusable,
    the_previous_access_token_is_revoked_on_rotation,
    the_previous_access_token_can_be_kept_by_config with access_tokens_kept_on_refresh,
    reuse_outside_the_window_revokes_the_whole_family,
    twenty_concurrent_refreshes_with_a_strict_window_rotate_exactly_once with no_replay_window,
    twenty_concurrent_refreshes_within_the_window_all_get_one_identical_pair,
    twelve_chains_refreshed_three_times_each_at_once_advance_once_each,
    a_replay_inside_the_window_returns_the_same_response_counting_down,
    a_replay_after_the_window_is_reuse,
    a_replay_with_a_different_scope_is_reuse,
    a_replay_after_the_successor_was_rotated_is_reuse,
    an_expired_refresh_token_is_invalid_grant,
    the_family_lifetime_caps_every_refresh_token with families_live_1000_seconds,
    scope_can_be_narrowed_but_the_refresh_token_keeps_the_original_scope,
    a_refresh_token_of_another_client_is_invalid_grant_and_left_intact,
    a_client_without_the_refresh_grant_is_unauthorized_client,
    missing_damaged_or_wrong_kind_tokens_are_refused,
);

fn refresh_tokens_live_1000_seconds(s: &mut Settings) {
    s.tokens.refresh_lifetime_secs = 1000;
}

async fn a_refresh_returns_a_new_pair_with_a_new_expiry_and_retires_the_old_token(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    app.clock.advance(900);
    let (new_access, new_refresh, body) = app.refresh_ok(&client, &refresh).await;
    assert_ne!(new_access, access);
    assert_ne!(new_refresh, refresh);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "PRODUCTION SANDBOX");
    // The new refresh token has a new expiry: still valid past the old one's end (1000 s).
    app.clock.advance(500);
    let (_, _, _) = app.refresh_ok(&client, &new_refresh).await;
    // The old token is inactive (outside the replay window).
    assert_error(app.refresh(&client, &refresh, None).await, 400, "invalid_grant").await;
}

async fn a_chain_of_100_rotations_leaves_every_old_token_unusable(app: TestApp) {
    let client = app.standard_client().await;
    let (_, mut refresh) = app.token_pair(&client).await;
    let mut old = Vec::new();
    for _ in 0..100 {
        let (_, next, _) = app.refresh_ok(&client, &refresh).await;
        old.push(std::mem::replace(&mut refresh, next));
    }
    assert!(app.is_active(&refresh).await, "the newest token is live");
    app.clock.advance(11);
    for token in &old {
        assert!(!app.is_active(token).await);
        assert_error(app.refresh(&client, token, None).await, 400, "invalid_grant").await;
    }
    assert!(!app.is_active(&refresh).await, "reuse of an old token revoked the chain");
}

async fn the_previous_access_token_is_revoked_on_rotation(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    assert!(app.is_active(&access).await);
    let (new_access, _, _) = app.refresh_ok(&client, &refresh).await;
    assert!(!app.is_active(&access).await);
    assert!(app.is_active(&new_access).await);
}

fn access_tokens_kept_on_refresh(s: &mut Settings) {
    s.tokens.revoke_access_on_refresh = false;
}

async fn the_previous_access_token_can_be_kept_by_config(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    app.refresh_ok(&client, &refresh).await;
    assert!(app.is_active(&access).await);
}

async fn reuse_outside_the_window_revokes_the_whole_family(app: TestApp) {
    let client = app.standard_client().await;
    let (_, first) = app.token_pair(&client).await;
    let (_, second, _) = app.refresh_ok(&client, &first).await;
    let (newest_access, newest_refresh, _) = app.refresh_ok(&client, &second).await;
    let (other_access, other_refresh) = app.token_pair(&client).await;
    app.clock.advance(11);
    let body = assert_error(app.refresh(&client, &first, None).await, 400, "invalid_grant").await;
    assert!(!body.to_string().contains(&first), "the answer never echoes the token");
    assert!(!app.is_active(&newest_access).await, "the newest access token of the chain is revoked");
    assert!(!app.is_active(&newest_refresh).await, "the newest refresh token of the chain is revoked");
    assert_error(app.refresh(&client, &newest_refresh, None).await, 400, "invalid_grant").await;
    assert!(app.is_active(&other_access).await && app.is_active(&other_refresh).await, "other grants are untouched");
}

async fn concurrent_refreshes(app: &TestApp, client: &TestClient, token: &str) -> Vec<(u16, Value)> {
    let requests = (0..20).map(|_| {
        let (client, token) = (client.clone(), token.to_owned());
        async move {
            let r = app.refresh(&client, &token, None).await;
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    });
    futures::future::join_all(requests).await
}

fn no_replay_window(s: &mut Settings) {
    s.tokens.replay_window_secs = 0;
}

async fn twenty_concurrent_refreshes_with_a_strict_window_rotate_exactly_once(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    let answers = concurrent_refreshes(&app, &client, &refresh).await;
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let refused = answers.iter().filter(|(s, b)| *s == 400 && b["error"] == "invalid_grant").count();
    assert_eq!((ok, refused), (1, 19), "{answers:?}");
}

/// Many rotations at once, distinct and duplicated, as PostgreSQL batches them into one statement
/// (src/store/batch.rs): each chain advances exactly once, its duplicates get its very answer,
/// and no two chains share anything.
async fn twelve_chains_refreshed_three_times_each_at_once_advance_once_each(app: TestApp) {
    let client = app.standard_client().await;
    let mut chains = Vec::new();
    for _ in 0..12 {
        chains.push(app.token_pair(&client).await.1);
    }
    let app = &app;
    let requests = chains.iter().flat_map(|token| std::iter::repeat_n(token, 3)).map(|token| {
        let client = client.clone();
        async move {
            let r = app.refresh(&client, token, None).await;
            (token.clone(), r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    });
    let answers = futures::future::join_all(requests).await;
    let mut pairs = HashSet::new();
    for token in &chains {
        let mine: HashSet<String> = answers
            .iter()
            .filter(|(t, _, _)| t == token)
            .map(|(_, status, body)| {
                assert_eq!(*status, 200, "{body}");
                format!("{} {}", body["access_token"].as_str().unwrap(), body["refresh_token"].as_str().unwrap())
            })
            .collect();
        assert_eq!(mine.len(), 1, "one pair per chain, however many asked: {mine:?}");
        pairs.extend(mine);
    }
    assert_eq!(pairs.len(), 12, "no two chains share a pair");
    for pair in pairs {
        let (access, next) = pair.split_once(' ').unwrap();
        assert!(app.is_active(access).await);
        app.refresh_ok(&client, next).await;
    }
    for token in &chains {
        assert!(!app.is_active(token).await, "every old refresh token is retired");
    }
}

async fn twenty_concurrent_refreshes_within_the_window_all_get_one_identical_pair(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    let answers = concurrent_refreshes(&app, &client, &refresh).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let pairs: HashSet<(String, String)> = answers
        .iter()
        .map(|(_, b)| (b["access_token"].as_str().unwrap().into(), b["refresh_token"].as_str().unwrap().into()))
        .collect();
    assert_eq!(pairs.len(), 1, "no fork: one pair for all");
    let (access, next) = pairs.into_iter().next().unwrap();
    assert!(app.is_active(&access).await);
    app.refresh_ok(&client, &next).await;
}

async fn a_replay_inside_the_window_returns_the_same_response_counting_down(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    let first: Value = app.refresh(&client, &refresh, Some("PRODUCTION")).await.json().await.unwrap();
    app.clock.advance(3);
    let again = app.refresh(&client, &refresh, Some("PRODUCTION")).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["access_token"], first["access_token"]);
    assert_eq!(again["refresh_token"], first["refresh_token"]);
    assert_eq!(again["scope"], "PRODUCTION");
    assert_eq!(again["expires_in"], 3597);
    assert!(app.is_active(again["refresh_token"].as_str().unwrap()).await, "the family lives on");
}

async fn a_replay_after_the_window_is_reuse(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    let (access, next, _) = app.refresh_ok(&client, &refresh).await;
    app.clock.advance(10);
    assert_error(app.refresh(&client, &refresh, None).await, 400, "invalid_grant").await;
    assert!(!app.is_active(&access).await && !app.is_active(&next).await);
}

async fn a_replay_with_a_different_scope_is_reuse(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    let r = app.refresh(&client, &refresh, Some("PRODUCTION")).await;
    let next: Value = r.json().await.unwrap();
    assert_error(app.refresh(&client, &refresh, Some("SANDBOX")).await, 400, "invalid_grant").await;
    assert!(!app.is_active(next["refresh_token"].as_str().unwrap()).await);
}

async fn a_replay_after_the_successor_was_rotated_is_reuse(app: TestApp) {
    let client = app.standard_client().await;
    let (_, a) = app.token_pair(&client).await;
    let (_, b, _) = app.refresh_ok(&client, &a).await;
    let (_, c, _) = app.refresh_ok(&client, &b).await;
    assert_error(app.refresh(&client, &a, None).await, 400, "invalid_grant").await;
    assert!(!app.is_active(&c).await);
}

async fn an_expired_refresh_token_is_invalid_grant(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    app.clock.advance(14 * 24 * 3600);
    let body = assert_error(app.refresh(&client, &refresh, None).await, 400, "invalid_grant").await;
    assert!(body["error_description"].as_str().unwrap().contains("expired"));
}

fn families_live_1000_seconds(s: &mut Settings) {
    s.tokens.family_lifetime_secs = 1000;
}

async fn the_family_lifetime_caps_every_refresh_token(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    app.clock.advance(700);
    let (_, next, body) = app.refresh_ok(&client, &refresh).await;
    assert_eq!(body["expires_in"], 300, "the access token ends with the family too");
    app.clock.advance(299);
    let (_, last, _) = app.refresh_ok(&client, &next).await;
    app.clock.advance(1);
    let body = assert_error(app.refresh(&client, &last, None).await, 400, "invalid_grant").await;
    assert!(body["error_description"].as_str().unwrap().contains("expired"));
}

async fn scope_can_be_narrowed_but_the_refresh_token_keeps_the_original_scope(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    let narrowed: Value = app.refresh(&client, &refresh, Some("PRODUCTION")).await.json().await.unwrap();
    assert_eq!(narrowed["scope"], "PRODUCTION");
    let next = narrowed["refresh_token"].as_str().unwrap();
    let (_, next, full) = app.refresh_ok(&client, next).await;
    assert_eq!(full["scope"], "PRODUCTION SANDBOX", "the refresh token kept the original scope");
    assert_error(app.refresh(&client, &next, Some("PRODUCTION admin")).await, 400, "invalid_scope").await;
    app.refresh_ok(&client, &next).await;
}

async fn a_refresh_token_of_another_client_is_invalid_grant_and_left_intact(app: TestApp) {
    let owner = app.standard_client().await;
    let thief = app.standard_client().await;
    let (_, refresh) = app.token_pair(&owner).await;
    assert_error(app.refresh(&thief, &refresh, None).await, 400, "invalid_grant").await;
    app.refresh_ok(&owner, &refresh).await;
}

async fn a_client_without_the_refresh_grant_is_unauthorized_client(app: TestApp) {
    let owner = app.standard_client().await;
    let (_, refresh) = app.token_pair(&owner).await;
    let machine = app.machine_client().await;
    assert_error(app.refresh(&machine, &refresh, None).await, 400, "unauthorized_client").await;
}

async fn missing_damaged_or_wrong_kind_tokens_are_refused(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    let r = app.post_token_basic(&client, &[("grant_type", "refresh_token")]).await;
    assert_error(r, 400, "invalid_request").await;
    let truncated = &refresh[..refresh.len() - 1];
    let mut typo = refresh.clone().into_bytes();
    typo[8] = if typo[8] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    for bad in [truncated, typo.as_str(), access.as_str(), "not-a-token"] {
        assert_error(app.refresh(&client, bad, None).await, 400, "invalid_grant").await;
    }
    app.refresh_ok(&client, &refresh).await;
}
