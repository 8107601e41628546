//! The app under test, spawned in-process on port 0, and the HTTP helpers tests talk to it with.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use oauthd::admin::clients::{self, ClientSpec};
use oauthd::admin::users;
use oauthd::clock::Clock;
use oauthd::config::{DatabaseUrl, Settings};
use oauthd::oauth::Authority;
use oauthd::startup::Application;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::database::{Backend, TestDb};

/// oauthd running in-process on port 0, on a database of its own that goes when it is dropped.
pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub auth: Authority,
    pub clock: Clock,
    /// Trusts the app's certificate when it serves HTTPS.
    pub http: reqwest::Client,
    pub database_url: String,
    pub metrics_port: Option<u16>,
    /// The separate admin API listener's port, when `admin.listen` is set.
    pub admin_port: Option<u16>,
    /// The certificate served, when the app serves HTTPS (PEM).
    pub certificate_pem: Option<String>,
    /// Its SHA-256 fingerprint, `AB:CD:…`.
    pub fingerprint: Option<String>,
    /// Dropped last: removes the database (`None` for another instance on an app's database).
    _db: Option<TestDb>,
}

/// A client's credentials as a test holds them.
#[derive(Clone)]
pub struct TestClient {
    pub id: String,
    pub secret: String,
}

impl TestClient {
    /// The credentials `oauthd client create --json` printed.
    pub fn from_json(created: &Value) -> TestClient {
        let field = |key: &str| created[key].as_str().unwrap_or_else(|| panic!("{key} in {created}")).to_owned();
        TestClient { id: field("client_id"), secret: field("client_secret") }
    }

    /// The same client id presenting `secret` (a wrong one, or one rotated in).
    pub fn with_secret(&self, secret: &str) -> TestClient {
        TestClient { id: self.id.clone(), secret: secret.to_owned() }
    }
}

/// What [`TestApp::machine_client`] creates: the client_credentials grant only, scope PRODUCTION.
pub fn machine_spec() -> ClientSpec {
    ClientSpec {
        name: "machine".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["PRODUCTION".into()],
        ..ClientSpec::default()
    }
}

pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".parse().expect("address");
    settings.database.url = DatabaseUrl::new(database_url);
    // Tests sign in with short passwords; the policy's own tests (grants.rs) set the default back.
    settings.users.min_password_length = 1;
    // Tests refuse credentials by the hundred; the wait has its own test (login_throttle.rs).
    settings.login.failure_delay_ms = 0;
    settings
}

/// Spawns oauthd on a fresh database of `backend` with `configure` applied to the test settings;
/// `None` when PostgreSQL is wanted but not reachable (and not required).
///
/// Tests declared with `on_both_backends!` are handed their app instead. This is for the few
/// that run on one backend only, or whose settings need a value known only at run time.
pub async fn spawn_app(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    let (db, database_url) = TestDb::create(backend).await?;
    let mut settings = test_settings(&database_url);
    configure(&mut settings);
    Some(launch(backend, settings, Clock::manual(), database_url, Some(db)).await)
}

impl TestApp {
    /// A second oauthd on this app's database, with the same settings and clock: another instance
    /// behind the same load balancer. Drop it before this app (which removes the database).
    pub async fn another_instance(&self) -> TestApp {
        let settings = (*self.auth.settings).clone();
        launch(self.backend, settings, self.clock.clone(), self.database_url.clone(), None).await
    }
}

async fn launch(
    backend: Backend,
    settings: Settings,
    clock: Clock,
    database_url: String,
    db: Option<TestDb>,
) -> TestApp {
    let app = Application::build(settings, clock.clone()).await.expect("app builds");
    let address = format!("{}://127.0.0.1:{}", app.scheme(), app.port());
    let auth = app.authority().clone();
    let metrics_port = app.metrics_port();
    let admin_port = app.admin_port();
    let certificate_pem = app.tls().map(|t| t.certificate_pem());
    let fingerprint = app.tls().map(|t| t.fingerprint());
    tokio::spawn(app.run_until(std::future::pending()));
    let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = &certificate_pem {
        http = http
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("PEM"));
    }
    let http = http.build().expect("http client");
    TestApp {
        backend,
        address,
        auth,
        clock,
        http,
        database_url,
        metrics_port,
        admin_port,
        certificate_pem,
        fingerprint,
        _db: db,
    }
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded, joined by ':', then base64-encoded.
pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret))))
}

pub fn form_encode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).expect("encode").trim_start_matches("v=").to_owned()
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("encode")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn port(&self) -> u16 {
        self.address.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    /// POSTs a raw body with the given Authorization header (if any) as a form.
    pub async fn post_raw(&self, path: &str, authorization: Option<&str>, body: String) -> reqwest::Response {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        if let Some(a) = authorization {
            headers.insert(AUTHORIZATION, HeaderValue::from_str(a).expect("header"));
        }
        self.http.post(self.url(path)).headers(headers).body(body).send().await.expect("request")
    }

    pub async fn post_token_basic(&self, client: &TestClient, pairs: &[(&str, &str)]) -> reqwest::Response {
        self.post_raw("/token", Some(&basic(&client.id, &client.secret)), form(pairs)).await
    }

    pub async fn post_token_post(&self, client: &TestClient, pairs: &[(&str, &str)]) -> reqwest::Response {
        let mut all = vec![("client_id", client.id.as_str()), ("client_secret", client.secret.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw("/token", None, form(&all)).await
    }

    /// Creates a client through the same code the CLI uses.
    pub async fn create_client(&self, spec: ClientSpec) -> TestClient {
        let created = clients::create(&self.auth, spec).await.expect("client created");
        // A public client has no secret: its TestClient's is empty.
        let secret = created.client_secret.map(|s| s.expose_secret().to_owned()).unwrap_or_default();
        TestClient { id: created.client.client_id, secret }
    }

    /// A client allowed every grant, with scopes PRODUCTION and SANDBOX.
    pub async fn standard_client(&self) -> TestClient {
        self.create_client(ClientSpec {
            name: "billing".into(),
            grant_types: vec!["client_credentials".into(), "password".into(), "refresh_token".into()],
            scopes: vec!["PRODUCTION".into(), "SANDBOX".into()],
            ..ClientSpec::default()
        })
        .await
    }

    /// A client allowed the client_credentials grant only, with scope PRODUCTION: it gets no
    /// refresh token. [`machine_spec`] with other fields.
    pub async fn machine_client(&self) -> TestClient {
        self.create_client(machine_spec()).await
    }

    pub async fn create_user(&self, username: &str, password: &str) {
        users::create(&self.auth, username, &SecretString::from(password.to_owned())).await.expect("user created");
    }

    /// A password grant for `client`, with the default scopes.
    pub async fn password_grant(&self, client: &TestClient, username: &str, password: &str) -> reqwest::Response {
        self.post_token_basic(client, &[("grant_type", "password"), ("username", username), ("password", password)])
            .await
    }

    /// A client_credentials grant for `client`, returning the JSON answer (asserting 200).
    pub async fn client_credentials(&self, client: &TestClient, scope: &str) -> Value {
        let r = self.post_token_basic(client, &[("grant_type", "client_credentials"), ("scope", scope)]).await;
        assert_eq!(r.status(), 200, "client_credentials grant failed");
        r.json().await.expect("json")
    }
}

impl TestApp {
    pub async fn refresh(&self, client: &TestClient, refresh_token: &str, scope: Option<&str>) -> reqwest::Response {
        let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        self.post_token_basic(client, &pairs).await
    }

    /// Refreshes and asserts success, returning (access_token, refresh_token, body).
    pub async fn refresh_ok(&self, client: &TestClient, refresh_token: &str) -> (String, String, Value) {
        let r = self.refresh(client, refresh_token, None).await;
        assert_eq!(r.status(), 200, "refresh failed");
        let body: Value = r.json().await.expect("json");
        (body["access_token"].as_str().unwrap().into(), body["refresh_token"].as_str().unwrap().into(), body)
    }

    /// A fresh grant for `client`: (access_token, refresh_token).
    pub async fn token_pair(&self, client: &TestClient) -> (String, String) {
        let body = self.client_credentials(client, "PRODUCTION SANDBOX").await;
        (body["access_token"].as_str().unwrap().into(), body["refresh_token"].as_str().unwrap().into())
    }

    pub async fn revoke(&self, client: &TestClient, token: &str, hint: Option<&str>) -> reqwest::Response {
        let mut pairs = vec![("token", token)];
        if let Some(hint) = hint {
            pairs.push(("token_type_hint", hint));
        }
        self.post_raw("/revoke", Some(&basic(&client.id, &client.secret)), form(&pairs)).await
    }

    /// Introspects `token` as `caller` (Basic), returning the JSON answer (asserting 200).
    pub async fn introspect(&self, caller: &TestClient, token: &str) -> Value {
        let r = self.introspect_raw(caller, token).await;
        assert_eq!(r.status(), 200, "introspection answers 200");
        r.json().await.expect("json")
    }

    pub async fn introspect_raw(&self, caller: &TestClient, token: &str) -> reqwest::Response {
        self.post_raw("/introspect", Some(&basic(&caller.id, &caller.secret)), form(&[("token", token)])).await
    }

    /// A client marked as a resource server (may introspect any token).
    pub async fn resource_server(&self) -> TestClient {
        self.create_client(ClientSpec {
            name: "gateway".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["introspection".into()],
            introspect: true,
            ..ClientSpec::default()
        })
        .await
    }

    /// Current metrics text of the app.
    pub async fn metrics(&self) -> String {
        let r = self.http.get(self.url("/metrics")).send().await.expect("metrics");
        assert_eq!(r.status(), 200);
        r.text().await.expect("text")
    }

    /// Whether oauthd considers the token active now (the check every endpoint uses).
    pub async fn is_active(&self, token: &str) -> bool {
        self.auth.active_token(token).await.expect("lookup").is_ok()
    }

    /// Waits until this server no longer serves a cached row of `client_id`, after the client was
    /// changed in another process (the CLI): such a change reaches a running server within 1 s,
    /// on PostgreSQL within milliseconds. Returns at once when the row was not cached.
    pub async fn await_client_change(&self, client_id: &str) {
        let start = std::time::Instant::now();
        while self.auth.store.cached_client(client_id).is_some() {
            assert!(start.elapsed() < std::time::Duration::from_secs(5), "the client change did not reach the server");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

/// The value of the first metrics sample line starting with `prefix` (0 when absent).
pub fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Reads an error answer and checks its RFC shape: status, `error`, a non-empty description.
pub async fn assert_error(response: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "error answers are JSON"
    );
    let body: Value = response.json().await.expect("json error body");
    assert_eq!(body["error"], error, "unexpected error code in {body}");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "error_description in {body}");
    body
}
