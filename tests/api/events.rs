//! Security events: what records one (reuse detection, the CLI's and the admin API's actions,
//! every admin API call), what an event holds (never a token, secret or password — nor does its
//! log line), how they are listed, and their pruning by the janitor.

use oauthd::admin::{clients, Origin};
use oauthd::config::Settings;
use oauthd::janitor::run_once;
use serde_json::{json, Value};

use crate::helpers::{ok, Run, TestApp, TestClient};

on_both_backends!(
    a_reused_refresh_token_is_recorded_with_its_client_user_and_family,
    a_reused_authorization_code_is_recorded_with_its_client_user_and_family,
    the_clis_revocations_and_changes_are_recorded_with_the_cli_as_actor,
    every_admin_api_call_is_audited_with_the_calling_client_and_address,
    events_are_listed_newest_first_by_kind_client_user_and_time_in_pages,
    no_event_or_log_line_holds_a_token_secret_or_password,
    the_janitor_deletes_events_after_their_retention with short_event_retention,
);

fn short_event_retention(s: &mut Settings) {
    s.security.event_retention_secs = 100;
    s.janitor.enabled = false;
    s.janitor.batch_size = 2;
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

async fn a_reused_refresh_token_is_recorded_with_its_client_user_and_family(app: TestApp) {
    let admin = app.admin_api().await;
    let client = app.standard_client().await;
    app.create_user("alice", "alice-password").await;
    let body = ok(app.password_grant(&client, "alice", "alice-password").await, 200).await;
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let family = ok(admin.post("/tokens/lookup", json!({"token": first})).await, 200).await["family_id"].clone();
    app.refresh_ok(&client, &first).await;
    app.clock.advance(app.auth.settings.tokens.replay_window_secs + 1);
    assert_eq!(app.refresh(&client, &first, None).await.status(), 400, "reuse");

    let events = admin.events("?kind=refresh_token_reuse").await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!((event["actor_type"].as_str(), &event["actor_id"]), (Some("system"), &Value::Null));
    assert_eq!(event["client_id"], client.id.as_str());
    assert_eq!(event["username"], "alice");
    assert_eq!(event["family_id"], family);
    assert!(event["occurred_at"].is_i64());
}

async fn a_reused_authorization_code_is_recorded_with_its_client_user_and_family(app: TestApp) {
    let admin = app.admin_api().await;
    let redirect_uri = "https://app.example.com/cb";
    let created = ok(
        admin
            .post(
                "/clients",
                json!({"name": "web", "grant_types": ["authorization_code"], "scopes": ["PRODUCTION"],
                       "redirect_uris": [redirect_uri], "pkce_required": false}),
            )
            .await,
        201,
    )
    .await;
    let client = TestClient::from_json(&created);
    app.create_user("erin", "erin-password").await;
    // A code as /authorize issues one (seeded through the library: the pages come with issue 12).
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", redirect_uri),
        ("scope", "PRODUCTION"),
    ])
    .unwrap();
    let params = oauthd::oauth::params::Params::parse(query.as_bytes()).unwrap();
    let request = app.auth.authorization_request(&params).await.expect("a valid authorization request");
    let location = app.auth.issue_code(&request, "erin", &request.scope, app.clock.now()).await.unwrap();
    let code = url::Url::parse(&location).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let exchange = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", redirect_uri)];
    let first = ok(app.post_token_basic(&client, &exchange).await, 200).await;
    assert_eq!(app.post_token_basic(&client, &exchange).await.status(), 400, "a second use");

    let events = admin.events("?kind=authorization_code_reuse").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0]["client_id"].as_str(), events[0]["username"].as_str()),
        (Some(client.id.as_str()), Some("erin"))
    );
    let lookup = ok(admin.post("/tokens/lookup", json!({"token": first["access_token"]})).await, 200).await;
    assert_eq!(events[0]["family_id"], lookup["family_id"]);
    assert_eq!(lookup["state"], "revoked");
    assert_eq!(events[0]["actor_type"], "system");
}

async fn the_clis_revocations_and_changes_are_recorded_with_the_cli_as_actor(app: TestApp) {
    let admin = app.admin_api().await;
    let client = app.standard_client().await;
    app.create_user("bob", "bob-password").await;
    let (access, _) = app.token_pair(&client).await;
    assert!(app.oauthd(&["token", "revoke", "-"]).run_with_stdin(&format!("{access}\n")).success);
    for args in [
        &["client", "revoke-tokens", &client.id][..],
        &["client", "rotate-secret", &client.id],
        &["client", "disable", &client.id],
        &["client", "enable", &client.id],
        &["user", "revoke-tokens", "bob"],
        &["user", "update", "bob", "--admin"],
        &["user", "update", "bob", "--no-admin"],
        &["user", "disable", "bob"],
        &["user", "enable", "bob"],
        &["user", "delete", "bob"],
        &["client", "delete", &client.id],
    ] {
        app.oauthd(args).run_ok();
    }
    assert!(
        app.oauthd(&["user", "create", "--username", "eve", "--password-stdin"])
            .run_with_stdin("eve's password\n")
            .success
    );
    assert!(
        app.oauthd(&["user", "set-password", "eve", "--password-stdin"]).run_with_stdin("eve's new password\n").success
    );

    let events: Vec<Value> =
        admin.events("?limit=200").await.into_iter().filter(|e| e["kind"] != "admin_api_call").collect();
    let mut recorded = kinds(&events);
    recorded.reverse();
    assert_eq!(
        recorded,
        [
            "token_revoked",
            "client_tokens_revoked",
            "client_secret_rotated",
            "client_disabled",
            "client_enabled",
            "user_tokens_revoked",
            "user_admin_granted",
            "user_admin_revoked",
            "user_disabled",
            "user_enabled",
            "user_deleted",
            "client_deleted",
            "user_password_reset",
        ]
    );
    for event in &events {
        assert_eq!(event["actor_type"], "cli", "{event}");
        assert_eq!(event["peer_address"], Value::Null, "{event}");
    }
    let token_event = events.iter().find(|e| e["kind"] == "token_revoked").unwrap();
    assert_eq!(token_event["client_id"], client.id.as_str());
    assert!(token_event["family_id"].is_string());
    assert_eq!(token_event["detail"], "an access token");
    let by_user: Vec<_> = events.iter().filter(|e| e["username"] == "bob").collect();
    assert_eq!(by_user.len(), 6, "the user's events name the user");
}

async fn every_admin_api_call_is_audited_with_the_calling_client_and_address(app: TestApp) {
    let admin = app.admin_api().await;
    let target = app.standard_client().await;
    ok(admin.get("/clients?limit=5").await, 200).await;
    ok(admin.post_empty(&format!("/clients/{}/rotate-secret", target.id)).await, 200).await;
    ok(admin.get("/clients/no-such-client").await, 404).await;
    // A request without a valid token is refused before anything is stored.
    app.http.get(app.admin_url("/clients")).send().await.unwrap();
    app.http.get(app.admin_url("/clients")).bearer_auth("oat_forged").send().await.unwrap();

    let calls = admin.events(&format!("?kind=admin_api_call&client_id={}", admin.client.id)).await;
    let details: Vec<&str> = calls.iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(
        details,
        [
            "GET /admin/api/v1/clients/no-such-client 404",
            &format!("POST /admin/api/v1/clients/{}/rotate-secret 200", target.id),
            "GET /admin/api/v1/clients 200",
        ],
        "newest first; the path without its query string"
    );
    for call in &calls {
        assert_eq!(
            (call["actor_type"].as_str(), call["actor_id"].as_str()),
            (Some("client"), Some(admin.client.id.as_str()))
        );
        assert_eq!(call["peer_address"], "127.0.0.1");
    }
    let rotated = admin.events("?kind=client_secret_rotated").await;
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0]["client_id"], target.id.as_str(), "the event names the client acted on");
    assert_eq!(rotated[0]["actor_id"], admin.client.id.as_str(), "and who acted");
    assert_eq!(rotated[0]["peer_address"], "127.0.0.1");
    // A field is kept to a bounded length, whatever the caller sends.
    ok(admin.get(&format!("/clients/{}", "x".repeat(2000))).await, 404).await;
    let long = &admin.events("?kind=admin_api_call&limit=1").await[0];
    let detail = long["detail"].as_str().unwrap();
    assert!(detail.starts_with("GET /admin/api/v1/clients/xxx") && detail.len() < 300, "{detail}");
    // The listing just made is itself audited, after it answered.
    assert_eq!(admin.events("?kind=admin_api_call&limit=1").await[0]["detail"], "GET /admin/api/v1/events 200");
}

async fn events_are_listed_newest_first_by_kind_client_user_and_time_in_pages(app: TestApp) {
    let admin = app.admin_api().await;
    let a = app.standard_client().await;
    let b = app.standard_client().await;
    app.create_user("carol", "carol-password").await;
    let start = app.clock.now();
    let origin = Origin::cli();
    for (client, then_advance) in [(&a, 10), (&b, 10), (&a, 0), (&b, 10)] {
        clients::rotate_secret(&app.auth, &origin, &client.id, false).await.unwrap();
        app.clock.advance(then_advance);
    }
    oauthd::admin::users::revoke_tokens(&app.auth, &origin, "carol").await.unwrap();

    let rotations = admin.events("?kind=client_secret_rotated").await;
    let order: Vec<(i64, &str)> =
        rotations.iter().map(|e| (e["occurred_at"].as_i64().unwrap(), e["client_id"].as_str().unwrap())).collect();
    assert_eq!(
        order,
        [(start + 20, b.id.as_str()), (start + 20, a.id.as_str()), (start + 10, b.id.as_str()), (start, a.id.as_str())],
        "newest first; in the same second, the later recorded first"
    );
    assert_eq!(admin.events(&format!("?client_id={}", a.id)).await.len(), 2);
    assert_eq!(kinds(&admin.events("?username=carol").await), ["user_tokens_revoked"]);
    let window = admin.events(&format!("?kind=client_secret_rotated&since={}&until={}", start + 10, start + 20)).await;
    assert_eq!(window.len(), 3, "since and until are inclusive");
    assert_eq!(admin.events(&format!("?since={}", start + 31)).await.len(), 0);
    let older = admin.events(&format!("?kind=client_secret_rotated&until={}", start + 19)).await;
    assert_eq!(older.len(), 2);

    // One to a page: the same events in the same order, across the tie.
    let mut paged = Vec::new();
    let mut query = "?kind=client_secret_rotated&limit=1".to_owned();
    loop {
        let page = admin.get_ok(&format!("/events{query}")).await;
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        let Some(next) = page["next_cursor"].as_str() else { break };
        query = format!("?kind=client_secret_rotated&limit=1&cursor={next}");
    }
    assert_eq!(paged, rotations);

    for bad in ["?kind=nonsense", "?since=20&until=10", "?cursor=bm9wZQ", "?client_id=a%00b", "?limit=0"] {
        ok(admin.get(&format!("/events{bad}")).await, 422).await;
    }
    ok(admin.get("/events?since=yesterday").await, 400).await;
}

async fn no_event_or_log_line_holds_a_token_secret_or_password(app: TestApp) {
    let admin = app.admin_api().await;
    // The real binary, logging everything, on the same database.
    let served = app.serve(&[("RUST_LOG", "trace")]);
    let api = format!("http://{}/admin/api/v1", served.address);
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = app.http.request(method, format!("{api}{path}")).bearer_auth(&admin.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { request.send().await.unwrap() }
    };
    use reqwest::Method;
    let created = ok(
        call(
            Method::POST,
            "/clients",
            Some(json!({"name": "app", "grant_types": ["password", "refresh_token"],
            "scopes": ["PRODUCTION"]})),
        )
        .await,
        201,
    )
    .await;
    let client = TestClient::from_json(&created);
    let imported = "imported-secret-0123456789";
    ok(
        call(
            Method::POST,
            "/clients",
            Some(json!({"client_id": "imp", "name": "imp",
            "grant_types": ["client_credentials"], "client_secret": imported})),
        )
        .await,
        201,
    )
    .await;
    ok(call(Method::POST, "/users", Some(json!({"username": "dave", "password": "first-password-1"}))).await, 201)
        .await;
    ok(call(Method::PATCH, "/users/dave", Some(json!({"password": "second-password-2"}))).await, 200).await;
    let body = ok(app.password_grant(&client, "dave", "second-password-2").await, 200).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    ok(call(Method::POST, "/tokens/lookup", Some(json!({"token": access}))).await, 200).await;
    ok(call(Method::POST, "/tokens/lookup", Some(json!({"token": refresh}))).await, 200).await;
    let rotated = ok(call(Method::POST, &format!("/clients/{}/rotate-secret", client.id), None).await, 200).await;
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    ok(call(Method::POST, "/tokens/revoke", Some(json!({"token": refresh}))).await, 200).await;
    ok(call(Method::POST, "/users", Some(json!({"username": "x", "password": 1234567890123_i64}))).await, 422).await;
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = served.lines.lock().unwrap().join("\n");
    drop(served);

    let events = admin.events("?limit=200").await;
    assert!(events.len() >= 10, "{events:?}");
    assert!(logs.contains("security_event"), "the served process logged its events");
    let stored = Value::Array(events).to_string();
    for secret in [
        client.secret.as_str(),
        new_secret.as_str(),
        imported,
        "first-password-1",
        "second-password-2",
        "1234567890123",
        access.as_str(),
        refresh.as_str(),
        admin.token.as_str(),
        admin.client.secret.as_str(),
    ] {
        assert!(!stored.contains(secret), "a secret reached a stored event");
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

async fn the_janitor_deletes_events_after_their_retention(app: TestApp) {
    let client = app.standard_client().await;
    let origin = Origin::cli();
    for _ in 0..3 {
        clients::revoke_tokens(&app.auth, &origin, &client.id).await.unwrap();
    }
    app.clock.advance(60);
    for _ in 0..2 {
        clients::revoke_tokens(&app.auth, &origin, &client.id).await.unwrap();
    }
    app.clock.advance(40);
    let report = run_once(&app.auth).await.unwrap();
    assert_eq!(report.security_events, 3, "the three events 100 s old go, in batches of two");
    let admin = app.admin_api().await;
    assert_eq!(admin.events("?kind=client_tokens_revoked").await.len(), 2, "the younger ones stay");
    app.clock.advance(61);
    assert_eq!(run_once(&app.auth).await.unwrap().security_events, 2, "then those (the listing's own call is younger)");

    let printed = app.oauthd(&["cleanup"]).run_ok().stdout;
    assert!(printed.contains("security events deleted:"), "{printed}");
}
