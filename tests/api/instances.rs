//! Several instances, one database: three servers behind one load balancer (three
//! `Application`s on one PostgreSQL database, or on one SQLite file), raced on one refresh token
//! and on one revocation. One winner or one identical replay, never a fork (at most one live
//! chain), never a 5xx.

use std::collections::HashSet;

use oauthd::config::Settings;
use serde_json::Value;

use crate::helpers::{sample, TestApp, TestClient};

on_both_backends!(
    refreshes_of_one_token_spread_over_three_instances_rotate_once_and_all_get_one_pair,
    refreshes_of_one_token_spread_over_three_instances_with_a_strict_window_rotate_once with no_replay_window,
    revocations_of_one_family_from_three_instances_all_succeed_and_revoke_it_once,
);

// The authorization-code race — one code redeemed at two instances at the same moment: exactly one
// 200, every other answer invalid_grant, and the winner's tokens revoked because the code was
// presented twice (RFC 6749 §4.1.2) — is
// authorization_code::of_concurrent_exchanges_on_two_instances_exactly_one_succeeds.

/// Requests raced in each test, spread round-robin over the instances.
const RACERS: usize = 30;

fn no_replay_window(s: &mut Settings) {
    s.tokens.replay_window_secs = 0;
}

/// The app and two more instances on its database. The two are dropped before the app, which
/// removes the database.
async fn two_more(app: &TestApp) -> [TestApp; 2] {
    [app.another_instance().await, app.another_instance().await]
}

/// The value of a metric summed over the instances (read in-process).
fn total(instances: &[&TestApp], prefix: &str) -> f64 {
    instances.iter().map(|i| sample(&i.auth.metrics.render(i.auth.store.pool_usage()), prefix)).sum()
}

/// A fresh refresh token of `client`, and the answers to `RACERS` refreshes of it sent at once,
/// the i-th to instance `i % 3`.
async fn race_refreshes(instances: &[&TestApp], client: &TestClient) -> (String, Vec<(u16, Value)>) {
    let (_, token) = instances[0].token_pair(client).await;
    let requests = (0..RACERS).map(|i| {
        let (instance, token) = (instances[i % instances.len()], &token);
        async move {
            let r = instance.refresh(client, token, None).await;
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    });
    let answers = futures::future::join_all(requests).await;
    (token, answers)
}

async fn refreshes_of_one_token_spread_over_three_instances_rotate_once_and_all_get_one_pair(app: TestApp) {
    let others = two_more(&app).await;
    let instances = [&app, &others[0], &others[1]];
    let client = app.standard_client().await;
    let (_, answers) = race_refreshes(&instances, &client).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "every racer gets the rotation or its replay: {answers:?}"
    );
    let pairs: HashSet<(String, String)> = answers
        .iter()
        .map(|(_, b)| (b["access_token"].as_str().unwrap().into(), b["refresh_token"].as_str().unwrap().into()))
        .collect();
    assert_eq!(pairs.len(), 1, "no fork: one pair for all");
    assert_eq!(total(&instances, "oauthd_refreshes_total{outcome=\"rotated\"}"), 1.0, "exactly one rotation");
    assert_eq!(total(&instances, "oauthd_refreshes_total{outcome=\"replayed\"}"), (RACERS - 1) as f64);

    // The one chain lives on, at any instance.
    let (access, next) = pairs.into_iter().next().unwrap();
    assert!(app.is_active(&access).await);
    let (_, last, _) = others[1].refresh_ok(&client, &next).await;
    assert!(others[0].is_active(&last).await);
}

async fn refreshes_of_one_token_spread_over_three_instances_with_a_strict_window_rotate_once(app: TestApp) {
    let others = two_more(&app).await;
    let instances = [&app, &others[0], &others[1]];
    let client = app.standard_client().await;
    let (refresh, answers) = race_refreshes(&instances, &client).await;
    let won: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 200).map(|(_, b)| b).collect();
    let refused = answers.iter().filter(|(status, b)| *status == 400 && b["error"] == "invalid_grant").count();
    assert_eq!((won.len(), refused), (1, RACERS - 1), "one winner, every other racer refused: {answers:?}");
    assert_eq!(total(&instances, "oauthd_refreshes_total{outcome=\"rotated\"}"), 1.0, "exactly one rotation");
    // Without a replay window the duplicates are reuse: the family is revoked, the winner's pair
    // with it. No chain lives on, let alone two.
    let pair = [won[0]["access_token"].as_str().unwrap(), won[0]["refresh_token"].as_str().unwrap()];
    for (instance, token) in instances.iter().zip(pair.iter().chain([&refresh.as_str()])) {
        assert!(!instance.is_active(token).await);
    }
}

async fn revocations_of_one_family_from_three_instances_all_succeed_and_revoke_it_once(app: TestApp) {
    let others = two_more(&app).await;
    let instances = [&app, &others[0], &others[1]];
    let client = app.standard_client().await;
    let (_, first) = app.token_pair(&client).await;
    let (access, refresh, _) = app.refresh_ok(&client, &first).await;
    let (other_access, other_refresh) = app.token_pair(&client).await;
    let revoked_at = app.clock.now();

    // Each racer revokes the refresh token (the family) or its access token, at once.
    let requests = (0..RACERS).map(|i| {
        let instance = instances[i % instances.len()];
        let token = if i % 2 == 0 { &refresh } else { &access };
        let client = &client;
        async move { instance.revoke(client, token, None).await.status().as_u16() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(total(&instances, "oauthd_revocations_total{kind=\"refresh_token\"}"), (RACERS / 2) as f64);

    for token in [&first, &access, &refresh] {
        let (_, record) = app.auth.find_token(token).await.unwrap().expect("still stored");
        assert_eq!(record.family_revoked_at, Some(revoked_at), "the family was revoked at the race");
        assert!(!others[0].is_active(token).await);
    }
    // Revoking again later changes nothing: the family was revoked once.
    app.clock.advance(5);
    for instance in instances {
        assert_eq!(instance.revoke(&client, &refresh, None).await.status(), 200);
    }
    let (_, record) = app.auth.find_token(&refresh).await.unwrap().expect("still stored");
    assert_eq!(record.family_revoked_at, Some(revoked_at));
    // Another family of the same client is untouched.
    assert!(others[1].is_active(&other_access).await && others[1].is_active(&other_refresh).await);
    others[0].refresh_ok(&client, &other_refresh).await;
}
