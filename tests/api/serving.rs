//! Where oauthd agrees to serve: plain HTTP off loopback only with TLS terminated in front of it
//! and declared, or the operator's explicit opt-in (with a warning); never with a wildcard issuer;
//! and the TLS requirement behind a proxy whatever the issuer's spelling. The container's default,
//! a self-signed certificate kept on the volume, keeps its fingerprint across restarts.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::{oauthd, served_fingerprint, spawn_app, Backend, Served, TestDb};

/// `oauthd serve` with `envs` on a fresh SQLite database, expected to refuse to start: its stderr.
/// (A server that starts anyway is killed after 20 s and fails the test.)
fn refused_serve(envs: &[(&str, &str)]) -> String {
    let (_db, url) = TestDb::sqlite();
    let mut child = oauthd(&["serve"])
        .env("OAUTHD_DATABASE__URL", url)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return stderr;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("oauthd serve started with {envs:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_refuses_plain_http_on_every_interface_without_tls_or_an_opt_in() {
    let err =
        refused_serve(&[("OAUTHD_SERVER__LISTEN", "0.0.0.0:0"), ("OAUTHD_SERVER__ISSUER", "https://auth.example.com")]);
    assert!(err.contains("server.listen"), "{err}");
    assert!(err.contains("allow_insecure_http"), "says how to opt in: {err}");
}

#[test]
fn serve_refuses_a_wildcard_listener_without_an_issuer_and_a_wildcard_issuer() {
    let err = refused_serve(&[("OAUTHD_SERVER__LISTEN", "0.0.0.0:0"), ("OAUTHD_TLS__SELF_SIGNED", "true")]);
    assert!(err.contains("server.issuer"), "{err}");
    for issuer in ["https://0.0.0.0:8443", "http://[::]:8080"] {
        let err = refused_serve(&[
            ("OAUTHD_SERVER__LISTEN", "0.0.0.0:0"),
            ("OAUTHD_SERVER__ISSUER", issuer),
            ("OAUTHD_SERVER__ALLOW_INSECURE_HTTP", "true"),
        ]);
        assert!(err.contains("server.issuer") && err.contains("wildcard"), "{issuer}: {err}");
    }
}

#[test]
fn insecure_http_off_loopback_is_served_when_opted_in_with_a_warning() {
    let served = Served::start(&[
        ("OAUTHD_SERVER__LISTEN", "0.0.0.0:0"),
        ("OAUTHD_SERVER__ISSUER", "http://auth.internal:8080"),
        ("OAUTHD_SERVER__ALLOW_INSECURE_HTTP", "true"),
    ]);
    let warned = served.lines.lock().unwrap().iter().any(|l| l.contains("\"WARN\"") && l.contains("cleartext"));
    assert!(warned, "{:#?}", served.lines.lock().unwrap());
    assert_eq!(served.logged("oauthd listening")[0]["issuer"], "http://auth.internal:8080");
}

#[test]
fn a_declared_tls_proxy_may_be_served_plain_http_on_every_interface() {
    let served = Served::start(&[
        ("OAUTHD_SERVER__LISTEN", "0.0.0.0:0"),
        ("OAUTHD_SERVER__ISSUER", "https://auth.example.com"),
        ("OAUTHD_SERVER__TRUSTED_PROXIES", "10.0.0.0/8"),
    ]);
    assert_eq!(served.logged("oauthd listening")[0]["scheme"], "http");
}

/// Finding 9: `HTTPS://…` or ` https://…` passed validation as https, but the proxy rule compared
/// the text as written, so credentials were accepted over plain HTTP.
#[test]
fn the_tls_requirement_holds_however_the_https_issuer_is_written() {
    for written in ["HTTPS://auth.example.com", " https://auth.example.com", "Https://Auth.Example.com/"] {
        let served = Served::start(&[("OAUTHD_SERVER__ISSUER", written)]);
        assert_eq!(served.logged("oauthd listening")[0]["issuer"], "https://auth.example.com", "{written:?}");
        let url = format!("http://{}/token", served.address);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let r = rt.block_on(async {
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", crate::helpers::basic("nobody", "wrong-secret-123"))
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        });
        assert_eq!(r.0, 400, "{written:?}: {}", r.1);
        assert!(r.1.contains("TLS is required"), "{written:?}: {}", r.1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_self_signed_certificate_keeps_its_fingerprint_across_restarts() {
    let volume = tempfile::tempdir().unwrap();
    let dir = volume.path().join("tls");
    let settings = {
        let dir = dir.display().to_string();
        move |s: &mut oauthd::config::Settings| {
            s.tls.self_signed = true;
            s.tls.self_signed_dir = dir;
        }
    };
    let first = spawn_app(Backend::Sqlite, settings.clone()).await.unwrap();
    let fingerprint = first.fingerprint.clone().unwrap();
    assert_eq!(served_fingerprint(&first.url("/healthz")).await.as_deref(), Some(fingerprint.as_str()));
    drop(first);
    assert!(dir.join("self-signed.pem").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("self-signed.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is the owner's alone: {mode:o}");
    }
    let second = spawn_app(Backend::Sqlite, settings).await.unwrap();
    assert_eq!(second.fingerprint.as_deref(), Some(fingerprint.as_str()), "the same certificate after a restart");
    assert_eq!(served_fingerprint(&second.url("/healthz")).await.as_deref(), Some(fingerprint.as_str()));
    assert_eq!(second.http.get(second.url("/healthz")).send().await.unwrap().status(), 200);
}
