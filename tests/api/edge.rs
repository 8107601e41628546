//! What every answer at the edge is held to (src/http/edge.rs): RFC-shaped JSON with the no-store
//! headers on the OAuth endpoints whoever answered (405, 408, 413), and an answer to a request
//! refused before its body was read that reaches the client, over HTTPS too.

use std::io::{Read, Write};
use std::time::Duration;

use oauthd::config::Settings;

use crate::helpers::{assert_error, basic, curl, TestApp};

on_both_backends!(
    every_answer_of_the_oauth_endpoints_is_json_and_uncached,
    the_request_timeout_answers_json with a_one_second_request_timeout,
    a_refused_large_body_is_answered_over_https_every_time with self_signed_tls,
    a_refused_large_body_is_answered_to_curl_over_https_every_time with self_signed_tls,
    a_refused_large_body_is_answered_over_plain_http_every_time,
);

fn assert_uncached(r: &reqwest::Response) {
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    assert_eq!(r.headers().get("pragma").and_then(|v| v.to_str().ok()), Some("no-cache"));
}

async fn every_answer_of_the_oauth_endpoints_is_json_and_uncached(app: TestApp) {
    for path in ["/token", "/revoke", "/introspect"] {
        for method in [reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE] {
            let r = app.http.request(method.clone(), app.url(path)).send().await.unwrap();
            assert_uncached(&r);
            assert_eq!(r.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"), "{method} {path}");
            assert_error(r, 405, "invalid_request").await;
        }
        // Refused before the body is read, by the body limit and by the content type.
        let big = format!("grant_type=client_credentials&pad={}", "a".repeat(100_000));
        let r = app.post_raw(path, Some(&basic("x", "y")), big).await;
        assert_uncached(&r);
        assert_error(r, 400, "invalid_request").await;
        let r = app.http.post(app.url(path)).header("content-type", "text/plain").body("token=x").send().await.unwrap();
        assert_uncached(&r);
        assert_error(r, 400, "invalid_request").await;
        // And the answers they always gave.
        let r = app.post_raw(path, Some(&basic("nobody", "wrong-secret")), "token=x&grant_type=password".into()).await;
        assert_uncached(&r);
        assert_error(r, 401, "invalid_client").await;
    }
    // A path of no endpoint stays a JSON 404, and other endpoints' 405s are JSON too.
    let r = app.http.post(app.url("/healthz")).send().await.unwrap();
    assert_error(r, 405, "invalid_request").await;
}

fn a_one_second_request_timeout(s: &mut Settings) {
    s.server.request_timeout_secs = 1;
}

/// A client that announces a body and stops sending it half way is answered 408, in JSON.
async fn the_request_timeout_answers_json(app: TestApp) {
    let port = app.port();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=";
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/json"), "{answer}");
    assert!(lower.contains("cache-control: no-store"), "{answer}");
    assert!(answer.contains(r#""error":"temporarily_unavailable""#), "{answer}");
}

fn self_signed_tls(s: &mut Settings) {
    s.tls.self_signed = true;
}

const TRIES: usize = 10;

/// 1 MiB, sixteen times the 64 KiB limit.
fn a_mebibyte_form() -> String {
    format!("grant_type=client_credentials&pad={}", "a".repeat(1024 * 1024))
}

/// The issue's reproduction, through reqwest (over the app's own scheme): a 1 MiB form over the
/// limit, and a large body with the wrong Content-Type, ten times each; every try gets its 400.
async fn refused_large_bodies_are_answered(app: &TestApp) {
    let client = app.standard_client().await;
    let auth = basic(&client.id, &client.secret);
    for attempt in 0..TRIES {
        // A new connection each time, as a client that was reset would make.
        let http = app.http.clone();
        let r = http
            .post(app.url("/token"))
            .header("authorization", &auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("connection", "close")
            .body(a_mebibyte_form())
            .send()
            .await
            .unwrap_or_else(|e| panic!("try {attempt}, form over the limit: no answer: {e:?}"));
        assert_error(r, 400, "invalid_request").await;
        let r = http
            .post(app.url("/token"))
            .header("authorization", &auth)
            .header("content-type", "text/plain")
            .header("connection", "close")
            .body("x".repeat(60_000))
            .send()
            .await
            .unwrap_or_else(|e| panic!("try {attempt}, text/plain under the limit: no answer: {e:?}"));
        assert_error(r, 400, "invalid_request").await;
    }
    // The server still answers normally afterwards.
    app.client_credentials(&client, "PRODUCTION").await;
}

async fn a_refused_large_body_is_answered_over_https_every_time(app: TestApp) {
    assert!(app.address.starts_with("https://"));
    refused_large_bodies_are_answered(&app).await;
}

async fn a_refused_large_body_is_answered_over_plain_http_every_time(app: TestApp) {
    assert!(app.address.starts_with("http://"));
    refused_large_bodies_are_answered(&app).await;
}

/// The issue's exact reproduction: curl `--data-binary @big -H 'Expect:'` against the
/// self-signed listener.
async fn a_refused_large_body_is_answered_to_curl_over_https_every_time(app: TestApp) {
    let files = tempfile::tempdir().unwrap();
    let big = files.path().join("big.form");
    std::fs::write(&big, a_mebibyte_form()).unwrap();
    let data = format!("@{}", big.display());
    let url = app.url("/token");
    tokio::task::spawn_blocking(move || {
        for attempt in 0..TRIES {
            let answer = curl(&["-k", "--data-binary", &data, "-H", "Expect:", "-u", "x:y", &url]);
            assert_eq!(answer.status, 400, "try {attempt}: {}", answer.body);
            assert_eq!(answer.json()["error"], "invalid_request", "try {attempt}");
            // curl's default for a body this large: Expect: 100-continue, answered without it.
            let answer = curl(&["-k", "--data-binary", &data, "-u", "x:y", &url]);
            assert_eq!(answer.status, 400, "try {attempt} (Expect: 100-continue): {}", answer.body);
        }
    })
    .await
    .unwrap();
}
