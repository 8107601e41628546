//! GET /metrics: counters move when the events happen; a separate metrics listener.

use oauthd::config::Settings;

use crate::helpers::{sample, TestApp};

on_both_backends!(
    counters_move_when_events_happen,
    metrics_can_move_to_a_separate_listener with metrics_on_their_own_listener,
    a_metrics_bearer_token_is_required_when_set with a_metrics_token,
    a_metrics_bearer_token_guards_the_separate_listener_too with a_metrics_token_on_their_own_listener,
);

async fn counters_move_when_events_happen(app: TestApp) {
    let client = app.standard_client().await;
    let gateway = app.resource_server().await;
    let (access, refresh) = app.token_pair(&client).await;
    let (_, next, _) = app.refresh_ok(&client, &refresh).await;
    app.refresh_ok(&client, &refresh).await; // replay
    app.introspect(&gateway, &access).await; // inactive: revoked by the rotation
    app.clock.advance(11);
    app.refresh(&client, &refresh, None).await; // reuse
    app.revoke(&client, &next, None).await;
    let wrong = client.with_secret("wrong-wrong-wrong");
    app.post_token_basic(&wrong, &[("grant_type", "client_credentials")]).await;

    let m = app.metrics().await;
    assert_eq!(sample(&m, "oauthd_tokens_issued_total{grant_type=\"client_credentials\"}"), 1.0, "{m}");
    assert_eq!(sample(&m, "oauthd_tokens_issued_total{grant_type=\"refresh_token\"}"), 1.0);
    assert_eq!(sample(&m, "oauthd_refreshes_total{outcome=\"rotated\"}"), 1.0);
    assert_eq!(sample(&m, "oauthd_refreshes_total{outcome=\"replayed\"}"), 1.0);
    assert_eq!(sample(&m, "oauthd_refreshes_total{outcome=\"reuse_detected\"}"), 1.0);
    assert_eq!(sample(&m, "oauthd_introspections_total{active=\"false\"}"), 1.0);
    assert_eq!(sample(&m, "oauthd_revocations_total{kind=\"refresh_token\"}"), 1.0);
    assert_eq!(sample(&m, "oauthd_client_auth_failures_total"), 1.0);
    assert!(sample(&m, "oauthd_http_request_duration_seconds_count{endpoint=\"/token\",status=\"200\"}") >= 3.0);
    assert_eq!(sample(&m, "oauthd_http_request_duration_seconds_count{endpoint=\"/token\",status=\"401\"}"), 1.0);
    assert!(m.contains("oauthd_db_pool_connections{state=\"idle\"}"));
    assert!(!m.contains(&client.secret) && !m.contains(&access), "no secrets in metrics");

    app.clock.advance(3600 + app.auth.settings.janitor.retention_secs);
    let report = oauthd::janitor::run_once(&app.auth).await.unwrap();
    assert!(report.access_tokens > 0);
    let m = app.metrics().await;
    let deleted = sample(&m, "oauthd_janitor_rows_deleted_total{kind=\"access_token\"}");
    assert_eq!(deleted, report.access_tokens as f64, "{m}");
    assert!(m.contains("oauthd_janitor_backlog"));
}

fn metrics_on_their_own_listener(s: &mut Settings) {
    s.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
}

async fn metrics_can_move_to_a_separate_listener(app: TestApp) {
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404, "not on the main listener");
    let port = app.metrics_port.expect("a metrics listener");
    let r = app.http.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("oauthd_tokens_issued"));
}

const METRICS_TOKEN: &str = "scrape-0123456789abcdef";

fn a_metrics_token(s: &mut Settings) {
    s.metrics.bearer_token = Some(secrecy::SecretString::from(METRICS_TOKEN.to_owned()));
}

fn a_metrics_token_on_their_own_listener(s: &mut Settings) {
    a_metrics_token(s);
    metrics_on_their_own_listener(s);
}

/// GET `url` with `authorization`: the status, and the answer's JSON `error` or the text.
async fn scrape(app: &TestApp, url: &str, authorization: Option<&str>) -> (u16, String) {
    let mut request = app.http.get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    if status == 401 {
        let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
    }
    (status, r.text().await.unwrap())
}

async fn metrics_guarded(app: &TestApp, url: &str) {
    for refused in [None, Some("Bearer scrape-0123456789abcdeX"), Some("Bearer "), Some("Basic c2NyYXBlOng=")] {
        let (status, body) = scrape(app, url, refused).await;
        assert_eq!(status, 401, "{refused:?}");
        assert!(body.contains("invalid_token") && !body.contains("oauthd_tokens_issued"), "{body}");
        assert!(!body.contains(METRICS_TOKEN), "the token is never echoed");
    }
    let (status, body) = scrape(app, url, Some(&format!("Bearer {METRICS_TOKEN}"))).await;
    assert_eq!(status, 200);
    assert!(body.contains("oauthd_tokens_issued"), "{body}");
}

async fn a_metrics_bearer_token_is_required_when_set(app: TestApp) {
    metrics_guarded(&app, &app.url("/metrics")).await;
    // The other public endpoints are not affected.
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), 200);
}

async fn a_metrics_bearer_token_guards_the_separate_listener_too(app: TestApp) {
    let port = app.metrics_port.expect("a metrics listener");
    metrics_guarded(&app, &format!("http://127.0.0.1:{port}/metrics")).await;
}
