//! HTTPS: a client that verifies the generated certificate, certificate reload (on change and on
//! SIGHUP), and the TLS requirement behind a TLS-terminating proxy. The seed's curl commands over
//! HTTPS are in seed.rs.

use std::time::Duration;

use oauthd::config::{Settings, TrustedProxies};

use crate::helpers::{assert_error, served_fingerprint, spawn_app, Backend, Served, TestApp, TestClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trusts_only_the_generated_certificate_verifies_it() {
    let app = spawn_app(Backend::Sqlite, |s| s.tls.self_signed = true).await.unwrap();
    let pem = app.certificate_pem.clone().unwrap();
    let trusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .tls_info(true)
        .build()
        .unwrap();
    // Valid for the names in tls.self_signed_hosts: localhost and 127.0.0.1.
    for host in ["localhost", "127.0.0.1"] {
        let r = trusting
            .get(format!("https://{host}:{}/healthz", app.port()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{host}: {e:?}"));
        assert_eq!(r.status(), 200);
        let der = r.extensions().get::<reqwest::tls::TlsInfo>().and_then(|i| i.peer_certificate()).unwrap().to_vec();
        assert_eq!(
            Some(oauthd::tls::fingerprint(&der)),
            app.fingerprint,
            "the fingerprint describes the certificate served"
        );
    }
    let trusting_nothing = reqwest::Client::builder().tls_built_in_root_certs(false).build().unwrap();
    assert!(
        trusting_nothing.get(app.url("/healthz")).send().await.is_err(),
        "an unknown self-signed certificate is not accepted"
    );
}

#[test]
fn serve_logs_the_fingerprint_of_the_self_signed_certificate_it_serves() {
    let served = Served::start(&[("OAUTHD_TLS__SELF_SIGNED", "true")]);
    let listening = served.logged("oauthd listening");
    assert_eq!(listening[0]["scheme"], "https");
    let generated = served.logged("TLS self-signed certificate generated");
    let logged = generated[0]["sha256"].as_str().unwrap().to_owned();
    assert_eq!(logged.len(), 32 * 3 - 1, "AB:CD:… SHA-256");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let served_now = rt.block_on(served_fingerprint(&format!("https://{}/healthz", served.address)));
    assert_eq!(served_now.as_deref(), Some(logged.as_str()));
    let logs = served.lines.lock().unwrap().join("\n");
    assert!(!logs.contains("PRIVATE KEY"), "the key is never logged");
}

/// A certificate and key for localhost and 127.0.0.1, PEM.
fn certificate() -> (String, String, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    (generated.cert.pem(), generated.signing_key.serialize_pem(), oauthd::tls::fingerprint(generated.cert.der()))
}

fn write_pair(dir: &std::path::Path, cert: &str, key: &str) {
    // Written to a temporary name and renamed, as certificate renewals do.
    for (name, content) in [("cert.pem", cert), ("key.pem", key)] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, content).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }
}

async fn wait_for_fingerprint(url: &str, want: &str) -> bool {
    for _ in 0..100 {
        if served_fingerprint(url).await.as_deref() == Some(want) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_certificate_is_served_without_a_restart_when_its_files_change() {
    let certs = tempfile::tempdir().unwrap();
    let (cert_a, key_a, fingerprint_a) = certificate();
    let (cert_b, key_b, fingerprint_b) = certificate();
    write_pair(certs.path(), &cert_a, &key_a);
    let dir = certs.path().to_owned();
    let app = spawn_app(Backend::Sqlite, move |s| {
        s.tls.cert_path = dir.join("cert.pem").display().to_string();
        s.tls.key_path = dir.join("key.pem").display().to_string();
        s.tls.reload_check_secs = 1;
    })
    .await
    .unwrap();
    let url = app.url("/healthz");
    assert_eq!(served_fingerprint(&url).await.as_deref(), Some(fingerprint_a.as_str()));

    // Half a renewal (new certificate, old key) is refused: the old pair keeps serving.
    write_pair(certs.path(), &cert_b, &key_a);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(served_fingerprint(&url).await.as_deref(), Some(fingerprint_a.as_str()));

    write_pair(certs.path(), &cert_b, &key_b);
    assert!(wait_for_fingerprint(&url, &fingerprint_b).await, "the new certificate is served");
    let trusting_b = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_b.as_bytes()).unwrap())
        .build()
        .unwrap();
    assert_eq!(trusting_b.get(&url).send().await.unwrap().status(), 200);
}

#[test]
fn a_replaced_certificate_is_served_after_sighup() {
    let certs = tempfile::tempdir().unwrap();
    let (cert_a, key_a, fingerprint_a) = certificate();
    let (cert_b, key_b, fingerprint_b) = certificate();
    write_pair(certs.path(), &cert_a, &key_a);
    let cert_path = certs.path().join("cert.pem").display().to_string();
    let key_path = certs.path().join("key.pem").display().to_string();
    let served = Served::start(&[
        ("OAUTHD_TLS__CERT_PATH", &cert_path),
        ("OAUTHD_TLS__KEY_PATH", &key_path),
        // Only the signal reloads.
        ("OAUTHD_TLS__RELOAD_CHECK_SECS", "0"),
    ]);
    let url = format!("https://{}/healthz", served.address);
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(served_fingerprint(&url)).as_deref(), Some(fingerprint_a.as_str()));
    write_pair(certs.path(), &cert_b, &key_b);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        rt.block_on(served_fingerprint(&url)).as_deref(),
        Some(fingerprint_a.as_str()),
        "no reload before the signal"
    );
    served.signal("-HUP");
    assert!(rt.block_on(wait_for_fingerprint(&url, &fingerprint_b)), "the new certificate is served after SIGHUP");
    let reloaded = served.logged("TLS certificate reloaded");
    assert_eq!(reloaded[0]["sha256"], fingerprint_b.as_str());
}

fn behind_proxy(trusted: &'static str) -> impl FnOnce(&mut Settings) {
    move |s| {
        s.server.issuer = Some("https://auth.example.com".parse().unwrap());
        s.server.trusted_proxies = TrustedProxies(vec![trusted.parse().unwrap()]);
    }
}

async fn post_token(app: &TestApp, client: &TestClient, forwarded_proto: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", crate::helpers::basic(&client.id, &client.secret))
        .body("grant_type=client_credentials&scope=PRODUCTION");
    if let Some(proto) = forwarded_proto {
        request = request.header("x-forwarded-proto", proto);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_tls_proxy_only_requests_a_trusted_proxy_forwarded_over_https_are_served() {
    let app = spawn_app(Backend::Sqlite, behind_proxy("127.0.0.1/32")).await.unwrap();
    let client = app.standard_client().await;
    let body = assert_error(post_token(&app, &client, None).await, 400, "invalid_request").await;
    assert!(body["error_description"].as_str().unwrap().contains("TLS"), "{body}");
    assert_error(post_token(&app, &client, Some("http")).await, 400, "invalid_request").await;
    assert_eq!(post_token(&app, &client, Some("https")).await.status(), 200);
    assert_eq!(post_token(&app, &client, Some("HTTPS")).await.status(), 200);
    // The health probes carry no credentials and stay reachable directly.
    for path in ["/healthz", "/readyz"] {
        assert_eq!(app.http.get(app.url(path)).send().await.unwrap().status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_proto_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app(Backend::Sqlite, behind_proxy("10.0.0.0/8")).await.unwrap();
    let client = app.standard_client().await;
    assert_error(post_token(&app, &client, Some("https")).await, 400, "invalid_request").await;
}

#[test]
fn trusted_proxies_are_read_from_an_environment_list() {
    let served = Served::start(&[
        ("OAUTHD_SERVER__ISSUER", "https://auth.example.com"),
        ("OAUTHD_SERVER__TRUSTED_PROXIES", "[10.0.0.0/8,127.0.0.1]"),
    ]);
    assert_eq!(served.logged("oauthd listening")[0]["issuer"], "https://auth.example.com");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = |proto: Option<&'static str>| {
        let url = format!("http://{}/token", served.address);
        rt.block_on(async move {
            let mut r = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", crate::helpers::basic("nobody", "wrong-secret-123"))
                .body("grant_type=client_credentials");
            if let Some(p) = proto {
                r = r.header("x-forwarded-proto", p);
            }
            r.send().await.unwrap().status().as_u16()
        })
    };
    assert_eq!(status(None), 400, "refused: not over TLS");
    assert_eq!(status(Some("https")), 401, "past the TLS check, then an unknown client");
}
