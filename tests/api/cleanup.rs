//! The janitor: what one pass deletes and, above all, what it keeps (live tokens, and rotated
//! refresh tokens while their family can still be attacked). Families are built over HTTP, the
//! manual clock is moved, and a pass is run by hand (the background loop is off in these tests).

use std::time::{Duration, Instant};

use futures::StreamExt;
use oauthd::config::Settings;
use oauthd::janitor::{run_once, CleanupReport};

use crate::helpers::{assert_error, sample, Run, TestApp};

on_both_backends!(
    expired_access_tokens_go_after_the_retention_and_live_tokens_stay with janitor_by_hand,
    a_rotated_refresh_token_of_a_live_family_is_kept_and_its_reuse_still_revokes_the_family with janitor_by_hand,
    a_revoked_family_goes_whole_after_the_retention_and_not_before with janitor_by_hand,
    an_exhausted_family_goes_whole_with_its_rotated_tokens_after_the_retention with janitor_by_hand,
    a_family_past_its_absolute_end_goes_with_its_rotated_tokens with families_end_after_300_seconds,
    a_grant_without_a_refresh_token_leaves_no_empty_family_behind with janitor_by_hand,
    a_pass_with_batch_size_two_deletes_everything_in_several_batches with no_retention_and_batches_of_two,
    oauthd_cleanup_runs_one_pass_and_prints_its_report with janitor_by_hand,
    passes_at_the_same_moment_on_three_instances_delete_each_dead_row_once_and_nothing_live with many_small_batches,
    the_background_janitor_deletes_dead_rows_every_interval with a_janitor_every_second,
);

/// Access tokens live 60 s, refresh tokens 1000 s, dead rows are kept 100 s; strict rotation;
/// no background janitor.
fn janitor_by_hand(s: &mut Settings) {
    s.tokens.access_lifetime_secs = 60;
    s.tokens.refresh_lifetime_secs = 1000;
    s.tokens.replay_window_secs = 0;
    s.janitor.enabled = false;
    s.janitor.retention_secs = 100;
}

/// [`janitor_by_hand`], and a family ends 300 s after its first grant.
fn families_end_after_300_seconds(s: &mut Settings) {
    janitor_by_hand(s);
    s.tokens.family_lifetime_secs = 300;
}

/// [`janitor_by_hand`], but dead rows go at once, two to a statement.
fn no_retention_and_batches_of_two(s: &mut Settings) {
    janitor_by_hand(s);
    s.janitor.retention_secs = 0;
    s.janitor.batch_size = 2;
}

async fn pass(app: &TestApp) -> CleanupReport {
    run_once(&app.auth).await.expect("janitor pass")
}

/// Whether the database still holds the token (active or not).
async fn is_stored(app: &TestApp, token: &str) -> bool {
    app.auth.find_token(token).await.expect("lookup").is_some()
}

fn counts(report: &CleanupReport) -> (u64, u64, u64) {
    (report.access_tokens, report.refresh_tokens, report.families)
}

async fn expired_access_tokens_go_after_the_retention_and_live_tokens_stay(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    app.clock.advance(61);
    assert_eq!(counts(&pass(&app).await), (0, 0, 0), "within the retention");
    assert!(is_stored(&app, &access).await);
    app.clock.advance(100);
    let (young_access, _) = app.token_pair(&client).await;
    let report = pass(&app).await;
    assert_eq!(counts(&report), (1, 0, 0));
    assert!(!is_stored(&app, &access).await, "expired access token deleted");
    assert!(app.is_active(&young_access).await, "a live access token stays");
    assert!(app.is_active(&refresh).await, "a live refresh token stays");
    app.refresh_ok(&client, &refresh).await;
}

async fn a_rotated_refresh_token_of_a_live_family_is_kept_and_its_reuse_still_revokes_the_family(app: TestApp) {
    let client = app.standard_client().await;
    let (_, first) = app.token_pair(&client).await;
    app.clock.advance(500);
    let (_, second, _) = app.refresh_ok(&client, &first).await;
    app.clock.advance(700);
    let (head_access, head, _) = app.refresh_ok(&client, &second).await;
    // `first` expired 250 s ago, longer than the retention, but its family lives on.
    app.clock.advance(50);
    let report = pass(&app).await;
    assert_eq!(counts(&report), (2, 0, 0), "the two expired access tokens go; rotated refresh tokens stay");
    assert!(is_stored(&app, &first).await, "rotated past its own expiry, still kept");
    assert!(is_stored(&app, &second).await);
    assert!(app.is_active(&head).await && app.is_active(&head_access).await);

    // Reuse detection still works on the kept token: the whole family is revoked.
    assert_error(app.refresh(&client, &first, None).await, 400, "invalid_grant").await;
    assert!(!app.is_active(&head).await, "reuse revoked the family");
    assert_error(app.refresh(&client, &head, None).await, 400, "invalid_grant").await;

    // The revoked family goes after the retention: its three refresh tokens, the live-until-then
    // access token, and the family row.
    app.clock.advance(101);
    let report = pass(&app).await;
    assert_eq!(counts(&report), (1, 3, 1));
    for token in [&first, &second, &head, &head_access] {
        assert!(!is_stored(&app, token).await);
    }
}

async fn a_revoked_family_goes_whole_after_the_retention_and_not_before(app: TestApp) {
    let client = app.standard_client().await;
    let (_, first) = app.token_pair(&client).await;
    let (access, second, _) = app.refresh_ok(&client, &first).await;
    let (other_access, other_refresh) = app.token_pair(&client).await;
    assert_eq!(app.revoke(&client, &second, None).await.status(), 200);
    app.clock.advance(99);
    // 99 s after revocation: kept (the first access token expired 39 s ago: kept too).
    assert_eq!(counts(&pass(&app).await), (0, 0, 0));
    assert!(is_stored(&app, &first).await && is_stored(&app, &second).await);
    app.clock.advance(1);
    let report = pass(&app).await;
    assert_eq!(counts(&report), (2, 2, 1));
    assert!(!is_stored(&app, &first).await);
    assert!(!is_stored(&app, &second).await);
    assert!(!is_stored(&app, &access).await);
    // Another family of the same client is untouched.
    assert!(is_stored(&app, &other_access).await);
    assert!(app.is_active(&other_refresh).await);
}

async fn an_exhausted_family_goes_whole_with_its_rotated_tokens_after_the_retention(app: TestApp) {
    let client = app.standard_client().await;
    let (_, first) = app.token_pair(&client).await;
    app.clock.advance(10);
    let (_, head, _) = app.refresh_ok(&client, &first).await;
    // The head expires 1010 s after the start; 50 s later it is dead but within the retention.
    app.clock.advance(1050);
    assert!(!app.is_active(&head).await);
    let report = pass(&app).await;
    assert_eq!(counts(&report), (2, 0, 0), "only the expired access tokens go");
    assert!(is_stored(&app, &first).await && is_stored(&app, &head).await);
    app.clock.advance(50);
    let report = pass(&app).await;
    assert_eq!(counts(&report), (0, 2, 1), "the family is dead: everything goes");
    assert!(!is_stored(&app, &first).await && !is_stored(&app, &head).await);
    assert_eq!(counts(&pass(&app).await), (0, 0, 0), "nothing left");
}

async fn a_family_past_its_absolute_end_goes_with_its_rotated_tokens(app: TestApp) {
    let client = app.standard_client().await;
    let (_, first) = app.token_pair(&client).await;
    app.clock.advance(250);
    let (_, second, _) = app.refresh_ok(&client, &first).await;
    let (_, head, _) = app.refresh_ok(&client, &second).await;
    app.clock.advance(149);
    assert_eq!(counts(&pass(&app).await), (1, 0, 0), "the first access token");
    assert!(is_stored(&app, &first).await, "family ended 99 s ago: kept");
    app.clock.advance(1);
    let report = pass(&app).await;
    assert_eq!(counts(&report), (2, 3, 1));
    for token in [&first, &second, &head] {
        assert!(!is_stored(&app, token).await);
    }
}

async fn a_grant_without_a_refresh_token_leaves_no_empty_family_behind(app: TestApp) {
    let client = app.machine_client().await;
    let body = app.client_credentials(&client, "PRODUCTION").await;
    assert!(body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap().to_owned();
    app.clock.advance(160);
    let report = pass(&app).await;
    assert_eq!(counts(&report), (1, 0, 1), "the token and its now empty family");
    assert!(!is_stored(&app, &access).await);
}

async fn a_pass_with_batch_size_two_deletes_everything_in_several_batches(app: TestApp) {
    let client = app.standard_client().await;
    let mut all = Vec::new();
    for _ in 0..3 {
        let (access, refresh) = app.token_pair(&client).await;
        let (next_access, next, _) = app.refresh_ok(&client, &refresh).await;
        let (last_access, last, _) = app.refresh_ok(&client, &next).await;
        all.extend([access, refresh, next_access, next, last_access, last]);
    }
    let (live_access, live_refresh) = {
        app.clock.advance(1000);
        app.token_pair(&client).await
    };
    app.clock.advance(1);
    let report = pass(&app).await;
    assert_eq!(counts(&report), (9, 9, 3));
    assert!(report.backlog >= 9 + 3, "9 access tokens and 3 heads were waiting");
    assert!(report.batches >= 9, "18 tokens in batches of 2 take at least 9 statements: {report:?}");
    for token in &all {
        assert!(!is_stored(&app, token).await);
    }
    assert!(app.is_active(&live_access).await && app.is_active(&live_refresh).await);
    assert_eq!(counts(&pass(&app).await), (0, 0, 0));
}

async fn oauthd_cleanup_runs_one_pass_and_prints_its_report(app: TestApp) {
    let client = app.standard_client().await;
    // The binary reads the system clock: issue a grant a day in the past.
    app.clock.advance(-86_400);
    let (access, refresh) = app.token_pair(&client).await;
    app.clock.advance(86_400);
    let (live, _) = app.token_pair(&client).await;

    let report = app.oauthd(&["cleanup", "--json"]).env("OAUTHD_JANITOR__RETENTION_SECS", "0").run_ok().json();
    assert_eq!(report["access_tokens"], 1, "{report}");
    assert_eq!(report["refresh_tokens"], 1, "{report}");
    assert_eq!(report["families"], 1, "{report}");
    assert!(report["batches"].as_u64().unwrap() >= 3, "{report}");
    assert!(!is_stored(&app, &access).await && !is_stored(&app, &refresh).await);
    assert!(app.is_active(&live).await);

    let text = app.oauthd(&["cleanup"]).run_ok().stdout;
    assert!(text.contains("access tokens deleted:"), "{text}");
}

/// [`janitor_by_hand`], but dead rows go at once, a hundred to a statement, and rotations leave
/// sealed replay responses (a 10 s window) for the passes to drop.
fn many_small_batches(s: &mut Settings) {
    janitor_by_hand(s);
    s.janitor.retention_secs = 0;
    s.janitor.batch_size = 100;
    s.tokens.replay_window_secs = 10;
}

/// Instances started together run their passes at the same moment over the same oldest rows. On
/// one PostgreSQL database such passes deadlocked each other (`deadlock detected`); now at most
/// one runs at a time and the others find the work taken. Either way no pass may fail, each dead
/// row is deleted by exactly one of them, and nothing live is touched.
async fn passes_at_the_same_moment_on_three_instances_delete_each_dead_row_once_and_nothing_live(app: TestApp) {
    const FAMILIES: u64 = 600;
    let client = app.standard_client().await;
    // Each family: two access tokens, a rotated refresh token with its sealed replay, and the
    // chain's head. 1001 s later all of it is dead (the head expired, the family is exhausted).
    futures::stream::iter(0..FAMILIES)
        .map(|_| async {
            let (_, refresh) = app.token_pair(&client).await;
            app.refresh_ok(&client, &refresh).await;
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    app.clock.advance(1001);
    let (live_access, live_refresh) = app.token_pair(&client).await;
    let (_, rotated) = app.token_pair(&client).await;
    let (rotated_access, head, _) = app.refresh_ok(&client, &rotated).await;

    let others = [app.another_instance().await, app.another_instance().await];
    let (a, b, c) = tokio::join!(run_once(&app.auth), run_once(&others[0].auth), run_once(&others[1].auth));
    let mut total = CleanupReport::default();
    for report in [a, b, c] {
        let report = report.expect("no pass fails");
        total.access_tokens += report.access_tokens;
        total.refresh_tokens += report.refresh_tokens;
        total.families += report.families;
        total.replays_dropped += report.replays_dropped;
    }
    assert_eq!(counts(&total), (2 * FAMILIES, 2 * FAMILIES, FAMILIES), "each dead row deleted once");
    assert_eq!(total.replays_dropped, FAMILIES, "each expired replay dropped once");

    assert!(app.is_active(&live_access).await && app.is_active(&live_refresh).await, "live tokens stay");
    assert!(app.is_active(&rotated_access).await && app.is_active(&head).await);
    assert!(is_stored(&app, &rotated).await, "a rotated token of a live family stays");
    let report = pass(&others[1]).await;
    assert_eq!((counts(&report), report.replays_dropped), ((0, 0, 0), 0), "nothing dead left");
    app.refresh_ok(&client, &live_refresh).await;
    app.refresh_ok(&client, &head).await;
}

/// The background loop on, a pass every second, dead rows deleted at once.
fn a_janitor_every_second(s: &mut Settings) {
    janitor_by_hand(s);
    s.janitor.enabled = true;
    s.janitor.interval_secs = 1;
    s.janitor.retention_secs = 0;
}

async fn the_background_janitor_deletes_dead_rows_every_interval(app: TestApp) {
    let client = app.standard_client().await;
    let (expired, refresh) = app.token_pair(&client).await;
    app.clock.advance(61);
    let (live, _) = app.token_pair(&client).await;
    let start = Instant::now();
    while is_stored(&app, &expired).await {
        assert!(start.elapsed() < Duration::from_secs(10), "no background pass deleted the expired access token");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.is_active(&live).await && app.is_active(&refresh).await, "live tokens stay");
    let m = app.metrics().await;
    assert_eq!(sample(&m, "oauthd_janitor_rows_deleted_total{kind=\"access_token\"}"), 1.0, "{m}");
    // It keeps running: a second dead row goes too.
    app.clock.advance(61);
    let start = Instant::now();
    while is_stored(&app, &live).await {
        assert!(start.elapsed() < Duration::from_secs(10), "the loop stopped after its first pass");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.is_active(&refresh).await);
}
