//! `oauthd healthcheck`, the container's HEALTHCHECK, and stopping gracefully on SIGTERM.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use oauthd::config::Settings;

use crate::helpers::{oauthd, spawn_app, Backend, Run, Served, TestApp};

on_both_backends!(
    healthcheck_exits_0_while_readyz_answers_and_fails_when_the_database_is_down with on_every_interface,
);

/// `oauthd healthcheck` on `app`'s database against `listen`: (exited 0, stderr).
fn healthcheck(app: &TestApp, listen: &str, tls: bool) -> (bool, String) {
    let ran = app
        .oauthd(&["healthcheck"])
        .env("OAUTHD_SERVER__LISTEN", listen)
        .env("OAUTHD_TLS__SELF_SIGNED", tls.to_string())
        .run();
    (ran.success, ran.stderr)
}

/// Bound to every interface, as in the image: the probe goes through loopback. (Plain HTTP off
/// loopback needs the explicit opt-in, and a wildcard listener an issuer.)
fn on_every_interface(s: &mut Settings) {
    s.server.listen = "0.0.0.0:0".parse().unwrap();
    s.server.allow_insecure_http = true;
    s.server.issuer = Some("http://localhost".parse().unwrap());
}

async fn healthcheck_exits_0_while_readyz_answers_and_fails_when_the_database_is_down(app: TestApp) {
    let listen = format!("0.0.0.0:{}", app.port());
    let (ok, err) = healthcheck(&app, &listen, false);
    assert!(ok, "{err}");
    app.auth.store.close().await;
    let (ok, err) = healthcheck(&app, &listen, false);
    assert!(!ok, "readiness follows the database");
    assert!(err.contains("503"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_speaks_https_when_tls_is_on() {
    let app = spawn_app(Backend::Sqlite, |s| s.tls.self_signed = true).await.unwrap();
    let listen = format!("127.0.0.1:{}", app.port());
    let (ok, err) = healthcheck(&app, &listen, true);
    assert!(ok, "{err}");
    let (ok, _) = healthcheck(&app, &listen, false);
    assert!(!ok, "plain HTTP to a TLS listener is not an answer");
}

#[test]
fn healthcheck_fails_fast_when_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let ran = oauthd(&["healthcheck"]).env("OAUTHD_SERVER__LISTEN", format!("127.0.0.1:{port}")).run();
    assert!(!ran.success);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let mut served = Served::start(&[]);
    let mut stream = std::net::TcpStream::connect(&served.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = "grant_type=client_credentials";
    write!(
        stream,
        "POST /token HTTP/1.1\r\nHost: oauthd\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\ngrant_type=",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    served.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    // The request started before the signal: its body is still read and it is answered.
    stream.write_all(body.trim_start_matches("grant_type=").as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "the in-flight request is answered (no client credentials: 401): {answer}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "oauthd did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(served.logged("oauthd stopped").len(), 1);
}
