//! Malformed requests get RFC 6749 §5.2 JSON, never a 500 or axum's plain text.

use oauthd::config::Settings;
use sqlx::Connection;

use crate::helpers::{assert_error, basic, run_on, sample, Backend, TestApp};

on_both_backends!(
    a_wrong_content_type_is_invalid_request,
    a_repeated_parameter_is_invalid_request,
    an_oversized_body_is_invalid_request with a_4_kib_body_limit,
    get_on_token_is_refused_and_unknown_paths_are_404,
    every_answer_carries_a_request_id,
    a_flood_of_bad_credentials_is_bounded_and_never_a_500 with slow_hashes_one_at_a_time,
    many_more_concurrent_requests_than_database_connections_all_succeed with two_connections_on_postgres,
);

async fn a_wrong_content_type_is_invalid_request(app: TestApp) {
    let client = app.standard_client().await;
    let r = app
        .http
        .post(app.url("/token"))
        .header("authorization", basic(&client.id, &client.secret))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_request").await;
    let r = app.http.post(app.url("/token")).body("grant_type=client_credentials").send().await.unwrap();
    assert_error(r, 400, "invalid_request").await;
}

async fn a_repeated_parameter_is_invalid_request(app: TestApp) {
    let client = app.standard_client().await;
    let body = "grant_type=client_credentials&scope=PRODUCTION&scope=SANDBOX".to_owned();
    let r = app.post_raw("/token", Some(&basic(&client.id, &client.secret)), body).await;
    let body = assert_error(r, 400, "invalid_request").await;
    assert!(body["error_description"].as_str().unwrap().contains("scope"));
}

fn a_4_kib_body_limit(s: &mut Settings) {
    s.server.body_limit_bytes = 4096;
}

async fn an_oversized_body_is_invalid_request(app: TestApp) {
    let client = app.standard_client().await;
    let body = format!("grant_type=client_credentials&pad={}", "a".repeat(10_000));
    let r = app.post_raw("/token", Some(&basic(&client.id, &client.secret)), body).await;
    assert_error(r, 400, "invalid_request").await;
}

async fn get_on_token_is_refused_and_unknown_paths_are_404(app: TestApp) {
    let r = app.http.get(app.url("/token")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = app.http.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn every_answer_carries_a_request_id(app: TestApp) {
    let r = app.post_raw("/token", None, "grant_type=client_credentials".into()).await;
    assert!(r.headers().get("x-request-id").is_some_and(|v| !v.is_empty()));
}

/// Slow hashes (10 iterations, ~10x the default) and room for one running and one queued
/// verification: 24 simultaneous bad requests over 4 client ids cannot all be admitted (the
/// checks of one id take turns, so the 4 ids ask for 4 verifications at once).
fn slow_hashes_one_at_a_time(s: &mut Settings) {
    s.security.argon2_iterations = 10;
    s.security.max_concurrent_hashes = 1;
    s.security.max_queued_hashes = 1;
}

async fn a_flood_of_bad_credentials_is_bounded_and_never_a_500(app: TestApp) {
    let client = app.standard_client().await;
    app.client_credentials(&client, "PRODUCTION").await; // its right secret is remembered
    let mut ids = vec![client.id.clone()];
    for _ in 0..3 {
        ids.push(app.machine_client().await.id);
    }
    let flood = (0..24).map(|i| {
        let header = basic(&ids[i % ids.len()], &format!("wrong-secret-{i}"));
        let app = &app;
        async move { app.post_raw("/token", Some(&header), "grant_type=client_credentials".into()).await }
    });
    let answers = futures::future::join_all(flood).await;
    let mut busy = 0;
    for r in answers {
        match r.status().as_u16() {
            401 => assert_error(r, 401, "invalid_client").await,
            503 => {
                busy += 1;
                assert!(r.headers().get("retry-after").is_some());
                assert_error(r, 503, "temporarily_unavailable").await
            }
            other => panic!("unexpected status {other}"),
        };
    }
    assert!(busy > 0, "excess verifications are refused, not queued without bound");
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.client_credentials(&client, "PRODUCTION").await;
}

/// 2 PostgreSQL connections (SQLite keeps its one) and a short acquire timeout.
fn two_connections_on_postgres(s: &mut Settings) {
    if s.database.url.is_postgres() {
        s.database.max_connections = 2;
    }
    s.database.acquire_timeout_secs = 3;
}

/// 24 workers at once on every hot path against 2 PostgreSQL connections (SQLite: its one):
/// each waits its turn for a connection, none waits out the (short) acquire timeout — which a
/// call waiting on the sqlx pool while the connections stay parked with the store would
/// (src/store/checkout.rs) — and no more connections are opened than allowed.
async fn many_more_concurrent_requests_than_database_connections_all_succeed(app: TestApp) {
    let client = app.standard_client().await;
    let pairs = futures::future::join_all((0..24).map(|_| app.token_pair(&client))).await;
    let requests = pairs.iter().enumerate().map(|(i, (access, refresh))| {
        let app = &app;
        let client = &client;
        async move {
            let cc = app.post_token_basic(client, &[("grant_type", "client_credentials")]).await.status();
            let introspected = app.introspect(client, access).await["active"] == true;
            let refreshed = app.refresh(client, refresh, None).await.status();
            let revoked = app.revoke(client, access, None).await.status();
            (i, cc.as_u16(), refreshed.as_u16(), introspected, revoked.as_u16())
        }
    });
    for (i, cc, refreshed, introspected, revoked) in futures::future::join_all(requests).await {
        assert_eq!((cc, refreshed, introspected, revoked), (200, 200, true, 200), "worker {i}");
    }
    let m = app.metrics().await;
    let open = sample(&m, "oauthd_db_pool_connections{state=\"idle\"}")
        + sample(&m, "oauthd_db_pool_connections{state=\"in_use\"}");
    assert!(open <= 2.0, "at most the allowed connections were opened: {m}");
}

/// PostgreSQL only: SQLite has no server that could end the connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_database_connections_are_a_503_and_are_replaced() {
    run_on(Backend::Postgres, |_| {}, dropped_connections_fail_one_request_each).await
}

/// PostgreSQL ends every connection of the app (a restart, a failover, a firewall cutting idle
/// connections). The pool does not ping before use (`database.test_before_acquire = false`), so
/// each dead connection fails one request: that is a 503 `temporarily_unavailable` with
/// Retry-After, never a 500, and the pool replaces the connection.
async fn dropped_connections_fail_one_request_each(app: TestApp) {
    let client = app.standard_client().await;
    let warm = (0..8).map(|_| app.client_credentials(&client, "PRODUCTION"));
    futures::future::join_all(warm).await;
    let mut admin = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = current_database() and pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!ended.is_empty(), "the app's pooled connections were ended");
    let (mut ok, mut lost) = (0, 0);
    for _ in 0..40 {
        let r = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
        match r.status().as_u16() {
            200 => ok += 1,
            503 => {
                lost += 1;
                assert!(r.headers().get("retry-after").is_some());
                assert_error(r, 503, "temporarily_unavailable").await;
            }
            other => panic!("unexpected status {other}: {}", r.text().await.unwrap()),
        }
    }
    assert!(lost > 0, "requests met the dead connections (no ping before use) and were answered 503");
    assert!(lost <= ended.len(), "each dead connection fails at most one request ({lost} for {})", ended.len());
    assert!(ok >= 40 - ended.len(), "then the pool serves from fresh connections");
    app.client_credentials(&client, "PRODUCTION").await;
}
