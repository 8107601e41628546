//! The login throttle of the password grant (RFC 6749 §4.3.2: "MUST protect the endpoint against
//! brute force attacks"), and the password policy of every way a password is set.

use std::time::{Duration, Instant};

use oauthd::config::Settings;
use oauthd::janitor::run_once;
use serde_json::{json, Value};

use crate::helpers::{assert_error, basic, form, ok, sample, Run, TestApp, TestClient};

on_both_backends!(
    failed_sign_ins_lock_the_account_with_growing_delays_and_the_right_password_waits_too,
    an_unknown_username_is_locked_exactly_like_an_existing_one,
    failures_across_usernames_lock_the_address with a_small_address_threshold,
    the_lock_holds_on_every_instance_sharing_the_database,
    a_success_clears_the_accounts_failures,
    passwords_shorter_than_the_minimum_are_refused_by_the_cli_and_the_admin_api with the_default_password_policy,
    a_disabled_user_is_refused_as_a_wrong_password_is,
    the_janitor_deletes_counts_once_they_are_forgotten,
    attempts_sent_together_after_a_lock_get_one_try_between_them,
    attempts_sent_together_before_a_lock_are_checked_one_after_another,
    refused_credentials_are_answered_after_the_failure_delay_and_good_ones_at_once with a_long_failure_delay,
);

const RIGHT: &str = "the right password";

/// Answers `attempts` wrong passwords for `username`, each refused as invalid credentials.
async fn fail(app: &TestApp, client: &TestClient, username: &str, attempts: usize) {
    for _ in 0..attempts {
        let body = assert_error(app.password_grant(client, username, "wrong").await, 400, "invalid_grant").await;
        assert!(body["error_description"].as_str().unwrap().contains("credentials are invalid"), "{body}");
    }
}

/// Asserts the attempt was refused by the throttle: `invalid_grant`, saying to try later.
async fn assert_throttled(r: reqwest::Response) -> Value {
    let body = assert_error(r, 400, "invalid_grant").await;
    assert!(body["error_description"].as_str().unwrap().contains("try again later"), "{body}");
    body
}

async fn failed_sign_ins_lock_the_account_with_growing_delays_and_the_right_password_waits_too(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", RIGHT).await;
    fail(&app, &client, "alice", 5).await;
    // The fifth failure locked the account for 1 s: even the right password is refused.
    assert_throttled(app.password_grant(&client, "alice", RIGHT).await).await;
    app.clock.advance(1);
    // A sixth failure locks it for 2 s.
    fail(&app, &client, "alice", 1).await;
    app.clock.advance(1);
    assert_throttled(app.password_grant(&client, "alice", RIGHT).await).await;
    app.clock.advance(1);
    ok(app.password_grant(&client, "alice", RIGHT).await, 200).await;

    let m = app.metrics().await;
    assert_eq!(sample(&m, "oauthd_login_failures_total"), 6.0, "{m}");
    assert_eq!(sample(&m, "oauthd_login_throttled_total"), 2.0, "{m}");
    let admin = app.admin_api().await;
    let events = admin.events("?kind=login_locked").await;
    assert_eq!(events.len(), 1, "one event when the lock starts: {events:?}");
    assert_eq!(events[0]["username"], "alice");
    assert_eq!(events[0]["peer_address"], "127.0.0.1");
    assert!(!events[0].to_string().contains("wrong") && !events[0].to_string().contains(RIGHT));
}

async fn an_unknown_username_is_locked_exactly_like_an_existing_one(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", RIGHT).await;
    fail(&app, &client, "alice", 5).await;
    fail(&app, &client, "nobody", 5).await;
    let existing = assert_throttled(app.password_grant(&client, "alice", "wrong").await).await;
    let unknown = assert_throttled(app.password_grant(&client, "nobody", "wrong").await).await;
    assert_eq!(existing, unknown, "the answer says nothing about which user exists");
}

fn a_small_address_threshold(s: &mut Settings) {
    s.login.address_failure_threshold = 3;
}

async fn failures_across_usernames_lock_the_address(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("bob", RIGHT).await;
    for name in ["u1", "u2", "u3"] {
        fail(&app, &client, name, 1).await;
    }
    // Bob never failed, but this address did, three times.
    assert_throttled(app.password_grant(&client, "bob", RIGHT).await).await;
    app.clock.advance(1);
    ok(app.password_grant(&client, "bob", RIGHT).await, 200).await;
}

async fn the_lock_holds_on_every_instance_sharing_the_database(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", RIGHT).await;
    let other = app.another_instance().await;
    fail(&app, &client, "alice", 3).await;
    fail(&other, &client, "alice", 2).await;
    assert_throttled(app.password_grant(&client, "alice", RIGHT).await).await;
    assert_throttled(other.password_grant(&client, "alice", RIGHT).await).await;
}

async fn a_success_clears_the_accounts_failures(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", RIGHT).await;
    fail(&app, &client, "alice", 4).await;
    ok(app.password_grant(&client, "alice", RIGHT).await, 200).await;
    // Counting starts again: four more failures do not lock it.
    fail(&app, &client, "alice", 4).await;
    ok(app.password_grant(&client, "alice", RIGHT).await, 200).await;
    // Failures are forgotten an hour (login.forget_after_secs) after the last one.
    fail(&app, &client, "alice", 4).await;
    app.clock.advance(app.auth.settings.login.forget_after_secs + 1);
    fail(&app, &client, "alice", 4).await;
    ok(app.password_grant(&client, "alice", RIGHT).await, 200).await;
}

/// The policy as shipped: at least 12 characters (the test settings lower it for other tests).
fn the_default_password_policy(s: &mut Settings) {
    s.users.min_password_length = Settings::default().users.min_password_length;
}

async fn passwords_shorter_than_the_minimum_are_refused_by_the_cli_and_the_admin_api(app: TestApp) {
    assert_eq!(app.auth.settings.users.min_password_length, 12);
    let client = app.standard_client().await;
    let admin = app.admin_api().await;
    let short = ok(admin.post("/users", json!({"username": "alice", "password": "eleven char"})).await, 422).await;
    assert!(short.to_string().contains("at least 12"), "{short}");
    assert!(!short.to_string().contains("eleven char"), "the password is never quoted: {short}");
    let long = "x".repeat(1025);
    ok(admin.post("/users", json!({"username": "alice", "password": long})).await, 422).await;
    ok(admin.post("/users", json!({"username": "alice", "password": "twelve chars"})).await, 201).await;
    ok(admin.patch("/users/alice", json!({"password": "too short"})).await, 422).await;
    ok(app.password_grant(&client, "alice", "twelve chars").await, 200).await;

    // The CLI (the real binary, with the default policy) runs the same check.
    let refused = app.oauthd(&["user", "create", "--username", "bob", "--password-stdin"]).run_with_stdin("short\n");
    assert!(!refused.success && refused.stderr.contains("at least 12"), "{}", refused.stderr);
    let created = app
        .oauthd(&["user", "create", "--username", "bob", "--password-stdin"])
        .run_with_stdin("a long enough password\n");
    assert!(created.success, "{}", created.stderr);
    let reset = app.oauthd(&["user", "set-password", "bob", "--password-stdin"]).run_with_stdin("short\n");
    assert!(!reset.success);
    ok(app.password_grant(&client, "bob", "a long enough password").await, 200).await;
}

async fn a_disabled_user_is_refused_as_a_wrong_password_is(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", RIGHT).await;
    app.oauthd(&["user", "disable", "alice"]).run_ok();
    let disabled = assert_error(app.password_grant(&client, "alice", RIGHT).await, 400, "invalid_grant").await;
    let wrong = assert_error(app.password_grant(&client, "nobody", "wrong").await, 400, "invalid_grant").await;
    assert_eq!(disabled, wrong);
}

async fn the_janitor_deletes_counts_once_they_are_forgotten(app: TestApp) {
    let client = app.standard_client().await;
    fail(&app, &client, "alice", 5).await;
    assert_eq!(run_once(&app.auth).await.unwrap().login_throttles, 0, "the account is locked and remembered");
    app.clock.advance(app.auth.settings.login.forget_after_secs);
    assert_eq!(run_once(&app.auth).await.unwrap().login_throttles, 2, "the account's and the address's");
    // Forgotten means forgotten: five more failures to lock it again.
    fail(&app, &client, "alice", 4).await;
    let printed = app.oauthd(&["cleanup"]).run_ok().stdout;
    assert!(printed.contains("login throttles deleted:  0"), "{printed}");
}

async fn attempts_sent_together_after_a_lock_get_one_try_between_them(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", RIGHT).await;
    fail(&app, &client, "alice", 5).await;
    app.clock.advance(1);
    let attempts = futures::future::join_all((0..8).map(|_| app.password_grant(&client, "alice", "wrong"))).await;
    let mut descriptions = Vec::new();
    for r in attempts {
        let body = assert_error(r, 400, "invalid_grant").await;
        descriptions.push(body["error_description"].as_str().unwrap().to_owned());
    }
    let verified = descriptions.iter().filter(|d| d.contains("credentials are invalid")).count();
    assert_eq!(verified, 1, "one password was checked, the others waited: {descriptions:?}");
    let m = app.metrics().await;
    assert_eq!(sample(&m, "oauthd_login_failures_total"), 6.0, "{m}");
}

/// A burst of guesses sent before the account is locked: they take turns at the gate, so only the
/// threshold's worth are verified and the rest meet the lock.
async fn attempts_sent_together_before_a_lock_are_checked_one_after_another(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", RIGHT).await;
    let attempts = futures::future::join_all((0..12).map(|_| app.password_grant(&client, "alice", "wrong"))).await;
    let mut descriptions = Vec::new();
    for r in attempts {
        let body = assert_error(r, 400, "invalid_grant").await;
        descriptions.push(body["error_description"].as_str().unwrap().to_owned());
    }
    let verified = descriptions.iter().filter(|d| d.contains("credentials are invalid")).count();
    assert_eq!(verified, 5, "the threshold's worth were checked, the rest met the lock: {descriptions:?}");
    let m = app.metrics().await;
    assert_eq!(sample(&m, "oauthd_login_failures_total"), 5.0, "{m}");
    assert_eq!(sample(&m, "oauthd_login_throttled_total"), 7.0, "{m}");
    assert_eq!(app.auth.turns.len(), 0, "no turn outlives its attempt");
}

const FAILURE_DELAY: Duration = Duration::from_millis(2000);

fn a_long_failure_delay(s: &mut Settings) {
    s.login.failure_delay_ms = FAILURE_DELAY.as_millis() as u64;
    s.login.account_failure_threshold = 1;
}

/// How long `request` took to answer, and its answer.
async fn timed<F: std::future::Future<Output = reqwest::Response>>(request: F) -> (Duration, reqwest::Response) {
    let started = Instant::now();
    let response = request.await;
    (started.elapsed(), response)
}

/// `login.failure_delay_ms`: every refusal of guessed credentials waits — a wrong client secret and
/// an unknown client id at each endpoint, a wrong password, a throttled attempt — so one
/// connection cannot guess faster than one try per delay; right credentials are answered at once.
/// (Lower bounds only: a sleep never ends early. The one upper bound is the delay itself.)
async fn refused_credentials_are_answered_after_the_failure_delay_and_good_ones_at_once(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("carol", RIGHT).await;
    let (access, _) = app.token_pair(&client).await;
    let (took, r) = timed(app.password_grant(&client, "carol", RIGHT)).await;
    ok(r, 200).await;
    assert!(took < FAILURE_DELAY, "a right password is not delayed: {took:?}");

    let wrong = client.with_secret("not-the-secret");
    let unknown = basic("no-such-client", "secret");
    let wrong_basic = basic(&client.id, "wrong");
    let cc = form(&[("grant_type", "client_credentials")]);
    let token_form = form(&[("token", &access)]);
    // Sent together, so the test waits about one delay, not one per request.
    let (wrong_secret, unknown_id, revoke, introspect, wrong_password) = tokio::join!(
        timed(app.post_token_basic(&wrong, &[("grant_type", "client_credentials")])),
        timed(app.post_raw("/token", Some(&unknown), cc.clone())),
        timed(app.post_raw("/revoke", Some(&unknown), token_form.clone())),
        timed(app.post_raw("/introspect", Some(&wrong_basic), token_form)),
        timed(app.password_grant(&client, "carol", "wrong")),
    );
    for (what, (took, r)) in
        [("wrong secret", wrong_secret), ("unknown id", unknown_id), ("revoke", revoke), ("introspect", introspect)]
    {
        assert_error(r, 401, "invalid_client").await;
        assert!(took >= FAILURE_DELAY, "{what} answered after {took:?}");
    }
    let (took, r) = wrong_password;
    assert_error(r, 400, "invalid_grant").await;
    assert!(took >= FAILURE_DELAY, "a wrong password answered after {took:?}");
    // The threshold of 1 locked carol: the refusal waits too.
    let (took, r) = timed(app.password_grant(&client, "carol", RIGHT)).await;
    assert_throttled(r).await;
    assert!(took >= FAILURE_DELAY, "a throttled attempt answered after {took:?}");
    assert!(app.is_active(&access).await, "nothing a refused request carried was acted on");
}
