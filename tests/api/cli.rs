//! The operator CLI, run as the real binary against the test's database, and the served process's
//! logs (which must never hold a secret, password, token or Authorization header).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{assert_error, basic, Served, TestApp, TestClient};

on_both_backends!(
    client_create_prints_credentials_once_that_work_at_the_token_endpoint,
    client_list_show_rotate_and_delete,
    user_create_set_password_and_delete_read_passwords_from_stdin,
    serve_logs_never_contain_credentials_or_tokens,
);

fn oauthd(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oauthd"));
    cmd.env("OAUTHD_DATABASE__URL", &app.database_url).env("RUST_LOG", "warn");
    cmd
}

fn run(mut cmd: Command, stdin: Option<&str>) -> (bool, String, String) {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn oauthd");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn create_client_json(app: &TestApp) -> Value {
    let mut cmd = oauthd(app);
    cmd.args([
        "client",
        "create",
        "--name",
        "billing",
        "--grant-type",
        "client_credentials",
        "--grant-type",
        "password",
    ]);
    cmd.args(["--grant-type", "refresh_token", "--scope", "PRODUCTION", "--scope", "SANDBOX", "--json"]);
    let (ok, out, err) = run(cmd, None);
    assert!(ok, "client create failed: {err}");
    serde_json::from_str(&out).expect("JSON output")
}

async fn client_create_prints_credentials_once_that_work_at_the_token_endpoint(app: TestApp) {
    let created = create_client_json(&app);
    let client = TestClient {
        id: created["client_id"].as_str().unwrap().into(),
        secret: created["client_secret"].as_str().unwrap().into(),
    };
    assert!(client.secret.len() >= 43, "at least 256 bits");
    let body = app.client_credentials(&client, "PRODUCTION").await;
    assert_eq!(body["scope"], "PRODUCTION");

    let mut cmd = oauthd(&app);
    cmd.args(["client", "show", &client.id, "--json"]);
    let (ok, out, _) = run(cmd, None);
    assert!(ok);
    assert!(!out.contains(&client.secret), "the secret is shown only once");
    assert!(!out.contains("argon2"), "not even its hash");
}

async fn client_list_show_rotate_and_delete(app: TestApp) {
    let created = create_client_json(&app);
    let id = created["client_id"].as_str().unwrap().to_owned();
    let old = TestClient { id: id.clone(), secret: created["client_secret"].as_str().unwrap().into() };

    let mut cmd = oauthd(&app);
    cmd.args(["client", "list", "--json"]);
    let (ok, out, _) = run(cmd, None);
    assert!(ok);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["client_id"], id.as_str());
    assert_eq!(list[0]["scopes"], serde_json::json!(["PRODUCTION", "SANDBOX"]));

    let mut cmd = oauthd(&app);
    cmd.args(["client", "rotate-secret", &id, "--json"]);
    let (ok, out, _) = run(cmd, None);
    assert!(ok);
    let rotated: Value = serde_json::from_str(&out).unwrap();
    let new = TestClient { id: id.clone(), secret: rotated["client_secret"].as_str().unwrap().into() };
    assert_eq!(rotated["secret_version"], 2);
    assert_error(app.post_token_basic(&old, &[("grant_type", "client_credentials")]).await, 401, "invalid_client")
        .await;
    let token = app.client_credentials(&new, "PRODUCTION").await;
    assert!(token["access_token"].is_string());

    let mut cmd = oauthd(&app);
    cmd.args(["client", "delete", &id]);
    assert!(run(cmd, None).0);
    assert_error(app.post_token_basic(&new, &[("grant_type", "client_credentials")]).await, 401, "invalid_client")
        .await;
    let mut cmd = oauthd(&app);
    cmd.args(["client", "show", &id]);
    let (ok, _, err) = run(cmd, None);
    assert!(!ok && err.contains("not found"), "{err}");
}

async fn user_create_set_password_and_delete_read_passwords_from_stdin(app: TestApp) {
    let client = app.standard_client().await;
    let password_grant = |password: &'static str| {
        let app = &app;
        let client = client.clone();
        async move {
            app.post_token_basic(&client, &[("grant_type", "password"), ("username", "alice"), ("password", password)])
                .await
                .status()
        }
    };
    let mut cmd = oauthd(&app);
    cmd.args(["user", "create", "--username", "alice", "--password-stdin"]);
    let (ok, _, err) = run(cmd, Some("first pass word\n"));
    assert!(ok, "{err}");
    assert_eq!(password_grant("first pass word").await, 200);

    let mut cmd = oauthd(&app);
    cmd.args(["user", "set-password", "alice", "--password-stdin"]);
    assert!(run(cmd, Some("second\n")).0);
    assert_eq!(password_grant("first pass word").await, 400);
    assert_eq!(password_grant("second").await, 200);

    let mut cmd = oauthd(&app);
    cmd.args(["user", "list"]);
    let (_, out, _) = run(cmd, None);
    assert_eq!(out.trim(), "alice");

    let mut cmd = oauthd(&app);
    cmd.args(["user", "create", "--username", "bob", "--password-stdin"]);
    let (ok, _, err) = run(cmd, Some(""));
    assert!(!ok && err.contains("stdin"), "an empty stdin is refused: {err}");

    let mut cmd = oauthd(&app);
    cmd.args(["user", "delete", "alice"]);
    assert!(run(cmd, None).0);
    assert_eq!(password_grant("second").await, 400);
}

async fn serve_logs_never_contain_credentials_or_tokens(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "hunter2-password").await;
    // The most verbose logging there is: nothing secret may appear even at trace level.
    let served = Served::start(&[("OAUTHD_DATABASE__URL", &app.database_url), ("RUST_LOG", "trace")]);
    let post_to = |path: &'static str, auth: String, body: String| {
        let http = app.http.clone();
        let url = format!("http://{}{path}", served.address);
        async move {
            http.post(url)
                .header("authorization", auth)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let post = |auth: String, body: String| post_to("/token", auth, body);
    let auth = basic(&client.id, &client.secret);
    let ok: Value = post(auth.clone(), "grant_type=password&username=alice&password=hunter2-password".into())
        .await
        .json()
        .await
        .unwrap();
    let access = ok["access_token"].as_str().unwrap().to_owned();
    let refresh = ok["refresh_token"].as_str().unwrap().to_owned();
    post(auth.clone(), "grant_type=password&username=alice&password=wrong-password-here".into()).await;
    post(basic(&client.id, "not-the-secret-at-all"), "grant_type=client_credentials".into()).await;
    post(auth.clone(), format!("grant_type=refresh_token&refresh_token={refresh}")).await;
    post(auth.clone(), format!("grant_type=refresh_token&refresh_token={refresh}&scope=PRODUCTION")).await;
    post_to("/revoke", auth.clone(), format!("token={access}")).await;
    post_to("/introspect", auth.clone(), format!("token={refresh}")).await;
    std::thread::sleep(Duration::from_millis(200));
    let logs = served.lines.lock().unwrap().join("\n");
    drop(served);
    assert!(logs.contains("\"path\":\"/token\""), "requests are logged");
    let reuse = logs.lines().find(|l| l.contains("refresh_token_reuse")).expect("a reuse detection is logged");
    let reuse: Value = serde_json::from_str(reuse).unwrap();
    assert_eq!(reuse["level"], "WARN");
    assert_eq!(reuse["client_id"], client.id.as_str());
    assert!(reuse["family_id"].is_string());
    for secret in [
        client.secret.as_str(),
        "hunter2-password",
        "wrong-password-here",
        "not-the-secret-at-all",
        access.as_str(),
        refresh.as_str(),
        auth.trim_start_matches("Basic "),
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}
