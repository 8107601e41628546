//! The operator CLI, run as the real binary against the test's database, and the served process's
//! logs (which must never hold a secret, password, token or Authorization header).

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{assert_error, basic, Run, TestApp, TestClient};

on_both_backends!(
    client_create_prints_credentials_once_that_work_at_the_token_endpoint,
    client_list_show_rotate_and_delete,
    user_create_set_password_and_delete_read_passwords_from_stdin,
    serve_logs_never_contain_credentials_or_tokens,
);

fn create_client_json(app: &TestApp) -> Value {
    app.oauthd(&["client", "create", "--name", "billing"])
        .args(["--grant-type", "client_credentials", "--grant-type", "password", "--grant-type", "refresh_token"])
        .args(["--scope", "PRODUCTION", "--scope", "SANDBOX", "--json"])
        .run_ok()
        .json()
}

async fn client_create_prints_credentials_once_that_work_at_the_token_endpoint(app: TestApp) {
    let created = create_client_json(&app);
    let client = TestClient::from_json(&created);
    assert!(client.secret.len() >= 43, "at least 256 bits");
    let body = app.client_credentials(&client, "PRODUCTION").await;
    assert_eq!(body["scope"], "PRODUCTION");

    let out = app.oauthd(&["client", "show", &client.id, "--json"]).run_ok().stdout;
    assert!(!out.contains(&client.secret), "the secret is shown only once");
    assert!(!out.contains("argon2"), "not even its hash");
}

async fn client_list_show_rotate_and_delete(app: TestApp) {
    let created = create_client_json(&app);
    let old = TestClient::from_json(&created);
    let id = old.id.clone();

    let list = app.oauthd(&["client", "list", "--json"]).run_ok().json();
    assert_eq!(list[0]["client_id"], id.as_str());
    assert_eq!(list[0]["scopes"], serde_json::json!(["PRODUCTION", "SANDBOX"]));

    let rotated = app.oauthd(&["client", "rotate-secret", &id, "--json"]).run_ok().json();
    let new = old.with_secret(rotated["client_secret"].as_str().unwrap());
    assert_eq!(rotated["secret_version"], 2);
    app.await_client_change(&id).await;
    assert_error(app.post_token_basic(&old, &[("grant_type", "client_credentials")]).await, 401, "invalid_client")
        .await;
    let token = app.client_credentials(&new, "PRODUCTION").await;
    assert!(token["access_token"].is_string());

    app.oauthd(&["client", "delete", &id]).run_ok();
    app.await_client_change(&id).await;
    assert_error(app.post_token_basic(&new, &[("grant_type", "client_credentials")]).await, 401, "invalid_client")
        .await;
    let shown = app.oauthd(&["client", "show", &id]).run();
    assert!(!shown.success && shown.stderr.contains("not found"), "{}", shown.stderr);
}

async fn user_create_set_password_and_delete_read_passwords_from_stdin(app: TestApp) {
    let client = app.standard_client().await;
    let password_grant = |password: &'static str| app.password_grant(&client, "alice", password);
    let created =
        app.oauthd(&["user", "create", "--username", "alice", "--password-stdin"]).run_with_stdin("first pass word\n");
    assert!(created.success, "{}", created.stderr);
    assert_eq!(password_grant("first pass word").await.status(), 200);

    assert!(
        app.oauthd(&["user", "set-password", "alice", "--password-stdin"]).run_with_stdin("second pass word\n").success
    );
    assert_eq!(password_grant("first pass word").await.status(), 400);
    assert_eq!(password_grant("second pass word").await.status(), 200);

    assert_eq!(app.oauthd(&["user", "list"]).run_ok().stdout.trim(), "alice");

    let refused = app.oauthd(&["user", "create", "--username", "bob", "--password-stdin"]).run_with_stdin("");
    assert!(!refused.success && refused.stderr.contains("stdin"), "an empty stdin is refused: {}", refused.stderr);

    app.oauthd(&["user", "delete", "alice"]).run_ok();
    assert_eq!(password_grant("second").await.status(), 400);
}

async fn serve_logs_never_contain_credentials_or_tokens(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "hunter2-password").await;
    // The most verbose logging there is: nothing secret may appear even at trace level.
    let served = app.serve(&[("RUST_LOG", "trace")]);
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
