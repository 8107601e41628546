//! The argon2id bounds: a cancelled request's hash still holds its slot, unknown client ids cost
//! no hash, passwords queue apart from client secrets, and a stored hash cannot ask for unbounded
//! work.

use std::time::Duration;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use oauthd::config::Settings;

use crate::helpers::{assert_error, basic, form, ok, sample, TestApp};

on_both_backends!(
    a_cancelled_request_keeps_its_hash_slot_until_the_hash_ends with slow_hashes_one_at_a_time,
    a_flood_of_unknown_client_ids_does_not_refuse_password_grants with one_hash_at_a_time,
    a_stored_hash_asking_for_too_much_work_is_refused_like_a_wrong_password,
    wrong_secrets_sent_together_for_one_client_are_verified_one_at_a_time with four_hashes_at_a_time,
);

fn four_hashes_at_a_time(s: &mut Settings) {
    s.security.max_concurrent_hashes = 4;
    s.security.client_failure_threshold = 3;
}

/// A burst of wrong secrets for one client id: the checks take turns, so no two hash at once and
/// the failure backoff counts each before the next; the right secret keeps working.
async fn wrong_secrets_sent_together_for_one_client_are_verified_one_at_a_time(app: TestApp) {
    let client = app.standard_client().await;
    app.client_credentials(&client, "PRODUCTION").await; // the right secret is remembered
    let wrong = basic(&client.id, "not-the-secret");
    let burst = futures::future::join_all(
        (0..12).map(|_| app.post_raw("/token", Some(&wrong), "grant_type=client_credentials".into())),
    )
    .await;
    assert!(burst.iter().all(|r| r.status() == 401), "{:?}", burst.iter().map(|r| r.status()).collect::<Vec<_>>());
    let m = app.metrics().await;
    let peak = sample(&m, "oauthd_hashes_running_peak{queue=\"client_secret\"}");
    assert_eq!(peak, 1.0, "one verification at a time for one client id: {m}");
    app.client_credentials(&client, "PRODUCTION").await;
    assert_eq!(app.auth.turns.len(), 0, "no turn outlives its check");
}

/// One verification per queue at a time, none waiting, each 5x the default's work.
fn slow_hashes_one_at_a_time(s: &mut Settings) {
    s.security.argon2_iterations = 10;
    s.security.max_concurrent_hashes = 1;
    s.security.max_queued_hashes = 0;
}

fn one_hash_at_a_time(s: &mut Settings) {
    s.security.max_concurrent_hashes = 1;
    s.security.max_queued_hashes = 0;
}

async fn a_cancelled_request_keeps_its_hash_slot_until_the_hash_ends(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "alice-password").await;
    app.client_credentials(&client, "PRODUCTION").await; // the client's secret is now cached
    let quick = reqwest::Client::builder().timeout(Duration::from_millis(50)).build().unwrap();
    let body = form(&[("grant_type", "password"), ("username", "alice"), ("password", "wrong")]);
    for _ in 0..8 {
        // Each request is given up before its hash can end (or answered 503 at once while an
        // abandoned hash still runs).
        let _ = quick
            .post(app.url("/token"))
            .header("authorization", basic(&client.id, &client.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let running = "oauthd_hashes_running{queue=\"password\"}";
    let mut m = app.metrics().await;
    for _ in 0..500 {
        if sample(&m, running) == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        m = app.metrics().await;
    }
    assert_eq!(sample(&m, running), 0.0, "{m}");
    let peak = sample(&m, "oauthd_hashes_running_peak{queue=\"password\"}");
    assert_eq!(peak, 1.0, "never more than max_concurrent_hashes hashing at once: {m}");
}

async fn a_flood_of_unknown_client_ids_does_not_refuse_password_grants(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "alice-password").await;
    app.client_credentials(&client, "PRODUCTION").await;
    let flood = futures::future::join_all((0..64).map(|i| {
        let app = &app;
        async move {
            let header = basic(&format!("made-up-{i}"), "secret");
            app.post_raw("/token", Some(&header), "grant_type=client_credentials".into()).await.status().as_u16()
        }
    }));
    let grants = async {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(app.password_grant(&client, "alice", "alice-password").await.status().as_u16());
        }
        statuses
    };
    let (flood, grants) = futures::future::join(flood, grants).await;
    assert!(flood.iter().all(|&s| s == 401), "unknown ids are refused without waiting for a hash: {flood:?}");
    assert_eq!(grants, [200; 5]);
}

/// A PHC string of `password` with these argon2id parameters (as a hostile database row would
/// hold), cheap to make: memory is what makes a hash expensive, and these ask for little.
fn hash_with(password: &str, memory_kib: u32, iterations: u32, lanes: u32) -> String {
    let params = Params::new(memory_kib, iterations, lanes, None).unwrap();
    let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

async fn a_stored_hash_asking_for_too_much_work_is_refused_like_a_wrong_password(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "alice-password").await;
    let store = &app.auth.store;
    let now = app.clock.now();
    // Within the bounds (10 iterations, 8 lanes) the stored hash verifies, however it was made.
    store.set_user_password("alice", &hash_with("alice-password", 64, 10, 8), now).await.unwrap();
    ok(app.password_grant(&client, "alice", "alice-password").await, 200).await;
    for (iterations, lanes) in [(11, 1), (1, 9)] {
        let hostile = hash_with("alice-password", 72, iterations, lanes);
        store.set_user_password("alice", &hostile, now).await.unwrap();
        let r = app.password_grant(&client, "alice", "alice-password").await;
        assert_error(r, 400, "invalid_grant").await;
    }
}
