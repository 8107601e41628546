//! The admin API over HTTP: authentication with oauthd's own bearer tokens (RFC 6750), every
//! route, validation and error shapes, pagination, the separate listener and the OpenAPI
//! document; and the CLI's new user flags, which call the same admin functions.

use std::collections::BTreeSet;

use oauthd::admin::clients::ClientSpec;
use oauthd::config::Settings;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{json, Value};

use crate::helpers::{assert_error, ok, AdminApi, Run, TestApp, TestClient};

on_both_backends!(
    a_request_without_a_bearer_token_is_401_with_only_the_realm,
    an_unknown_malformed_or_refresh_token_is_401_invalid_token,
    a_revoked_access_token_is_401_invalid_token,
    an_expired_access_token_is_401_invalid_token,
    a_token_without_the_admin_scope_is_403_insufficient_scope,
    a_users_token_works_only_while_the_user_is_an_administrator,
    an_administrator_cannot_disable_delete_or_demote_their_own_account,
    the_admin_scope_is_a_setting with admin_scope_ops,
    two_authorization_headers_are_a_bad_request,
    clients_are_created_shown_updated_and_deleted,
    a_disabled_client_stops_working_and_an_enabled_one_works_again,
    public_clients_redirect_uris_and_pkce_are_registered_through_the_same_rules,
    a_rotated_secret_is_shown_once_and_the_old_one_stops_working,
    revoking_a_clients_tokens_ends_every_grant_of_it,
    bad_client_input_is_a_json_error_and_never_a_500,
    clients_are_listed_in_pages_and_filtered,
    users_are_created_shown_updated_and_deleted,
    a_disabled_user_gets_no_tokens_and_loses_theirs,
    users_are_listed_in_pages_and_filtered,
    bad_user_input_is_a_json_error_and_never_a_500,
    grants_of_a_client_or_a_user_are_listed_shown_and_revoked,
    a_token_is_looked_up_and_revoked_by_value,
    unknown_paths_are_404_and_wrong_methods_405_in_json,
    a_separate_admin_listener_serves_the_api_and_the_main_one_does_not with separate_admin_listener,
    the_admin_listener_serves_https_when_the_server_does with separate_tls_admin_listener,
    behind_a_tls_proxy_the_admin_api_requires_tls with behind_a_tls_proxy,
    the_openapi_document_describes_exactly_the_routes_that_exist,
    consents_are_listed_and_withdrawn_with_the_grants_they_allowed,
    the_cli_makes_and_unmakes_administrators_and_disables_users,
    the_readmes_admin_api_walkthrough_runs_as_written,
);

fn admin_scope_ops(s: &mut Settings) {
    s.admin.scope = "ops".into();
}

fn separate_admin_listener(s: &mut Settings) {
    s.admin.listen = Some("127.0.0.1:0".parse().unwrap());
}

fn separate_tls_admin_listener(s: &mut Settings) {
    separate_admin_listener(s);
    s.tls.self_signed = true;
}

fn behind_a_tls_proxy(s: &mut Settings) {
    s.server.issuer = Some("https://auth.example.com".parse().unwrap());
    s.server.trusted_proxies = serde_json::from_str(r#""127.0.0.1""#).unwrap();
}

/// A GET of the client list with `authorization` as the raw header (none when `None`).
async fn clients_with(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.admin_url("/clients"));
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    request.send().await.unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Asserts a 401 `invalid_token` with its RFC 6750 challenge.
async fn assert_invalid_token(response: reqwest::Response) {
    let header = challenge(&response);
    assert!(header.starts_with("Bearer realm=\"oauthd\", error=\"invalid_token\""), "{header}");
    assert_error(response, 401, "invalid_token").await;
}

async fn a_request_without_a_bearer_token_is_401_with_only_the_realm(app: TestApp) {
    let admin = app.admin_api().await;
    for authorization in [None, Some("Basic YTpi"), Some("Bearer"), Some("Bearer   "), Some("Token abc")] {
        let response = clients_with(&app, authorization).await;
        // RFC 6750 §3.1: a request without authentication information gets no error code.
        assert_eq!(challenge(&response), "Bearer realm=\"oauthd\"", "{authorization:?}");
        assert_error(response, 401, "unauthorized").await;
    }
    // The Basic credentials of a client that may hold the admin scope are no bearer token.
    let basic = crate::helpers::basic(&admin.client.id, &admin.client.secret);
    assert_error(clients_with(&app, Some(&basic)).await, 401, "unauthorized").await;
}

async fn an_unknown_malformed_or_refresh_token_is_401_invalid_token(app: TestApp) {
    let admin = app.admin_api().await;
    let mut damaged = admin.token.clone();
    damaged.replace_range(10..11, if &damaged[10..11] == "A" { "B" } else { "A" });
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    for token in ["not-an-oauthd-token", damaged.as_str(), "a,b", refresh.as_str()] {
        assert_invalid_token(clients_with(&app, Some(&format!("Bearer {token}"))).await).await;
    }
    assert_eq!(admin.get("/clients").await.status(), 200, "the undamaged token works");
}

async fn a_revoked_access_token_is_401_invalid_token(app: TestApp) {
    let admin = app.admin_api().await;
    assert_eq!(admin.get("/clients").await.status(), 200);
    assert_eq!(app.revoke(&admin.client, &admin.token, None).await.status(), 200);
    let response = admin.get("/clients").await;
    assert!(challenge(&response).contains("revoked"), "{}", challenge(&response));
    assert_invalid_token(response).await;
}

async fn an_expired_access_token_is_401_invalid_token(app: TestApp) {
    let admin = app.admin_api().await;
    app.clock.advance(app.auth.settings.tokens.access_lifetime_secs - 1);
    assert_eq!(admin.get("/clients").await.status(), 200, "valid until its last second");
    app.clock.advance(1);
    let response = admin.get("/clients").await;
    assert!(challenge(&response).contains("expired"), "{}", challenge(&response));
    assert_invalid_token(response).await;
}

async fn a_token_without_the_admin_scope_is_403_insufficient_scope(app: TestApp) {
    let admin = app.admin_api().await;
    let client = app.standard_client().await;
    let token = app.client_credentials(&client, "PRODUCTION").await["access_token"].as_str().unwrap().to_owned();
    let response = admin.with_token(&token).get("/clients").await;
    let header = challenge(&response);
    assert!(header.starts_with("Bearer realm=\"oauthd\", error=\"insufficient_scope\""), "{header}");
    assert!(header.ends_with("scope=\"oauthd:admin\""), "the scope needed is named: {header}");
    assert_error(response, 403, "insufficient_scope").await;
    // Every route refuses it, writes included, and changes nothing.
    let refused = admin.with_token(&token).post_empty(&format!("/clients/{}/disable", client.id)).await;
    assert_error(refused, 403, "insufficient_scope").await;
    assert_eq!(app.client_credentials(&client, "PRODUCTION").await["scope"], "PRODUCTION");
    let denied = admin.events(&format!("?kind=admin_api_denied&client_id={}", client.id)).await;
    assert_eq!(denied.len(), 1, "a refusal is a security event, stored once per token: {denied:?}");
    assert_eq!(denied[0]["detail"], "GET /admin/api/v1/clients 403");
    let another = app.client_credentials(&client, "PRODUCTION").await["access_token"].as_str().unwrap().to_owned();
    assert_error(
        admin.with_token(&another).post_empty(&format!("/clients/{}/disable", client.id)).await,
        403,
        "insufficient_scope",
    )
    .await;
    let denied = admin.events(&format!("?kind=admin_api_denied&client_id={}", client.id)).await;
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(denied[0]["detail"], format!("POST /admin/api/v1/clients/{}/disable 403", client.id));
}

async fn a_users_token_works_only_while_the_user_is_an_administrator(app: TestApp) {
    let admin = app.admin_api().await;
    // A console-like client that may issue admin-scoped tokens for users (password grant).
    let console = app
        .create_client(ClientSpec {
            name: "console".into(),
            grant_types: vec!["password".into()],
            scopes: vec!["oauthd:admin".into()],
            ..ClientSpec::default()
        })
        .await;
    app.create_user("alice", "alice-password").await;
    let token_of_alice = || async {
        let r = app.password_grant(&console, "alice", "alice-password").await;
        ok(r, 200).await["access_token"].as_str().unwrap().to_owned()
    };
    let as_alice = token_of_alice().await;
    let response = admin.with_token(&as_alice).get("/clients").await;
    assert!(challenge(&response).contains("not an administrator"), "{}", challenge(&response));
    assert_error(response, 403, "insufficient_scope").await;

    ok(admin.patch("/users/alice", json!({"admin": true})).await, 200).await;
    assert_eq!(admin.with_token(&as_alice).get("/clients").await.status(), 200);
    let calls = admin.events(&format!("?kind=admin_api_call&client_id={}", console.id)).await;
    assert_eq!((calls[0]["actor_type"].as_str(), calls[0]["actor_id"].as_str()), (Some("user"), Some("alice")));

    ok(admin.patch("/users/alice", json!({"admin": false})).await, 200).await;
    assert_error(admin.with_token(&as_alice).get("/clients").await, 403, "insufficient_scope").await;
}

async fn an_administrator_cannot_disable_delete_or_demote_their_own_account(app: TestApp) {
    let admin = app.admin_api().await;
    let console = app
        .create_client(ClientSpec {
            name: "console".into(),
            grant_types: vec!["password".into()],
            scopes: vec!["oauthd:admin".into()],
            ..ClientSpec::default()
        })
        .await;
    app.create_user("alice", "alice-password").await;
    app.create_user("bob", "bob-password-1").await;
    for name in ["alice", "bob"] {
        ok(admin.patch(&format!("/users/{name}"), json!({"admin": true})).await, 200).await;
    }
    let r = app.password_grant(&console, "alice", "alice-password").await;
    let as_alice = ok(r, 200).await["access_token"].as_str().unwrap().to_owned();
    let alice = admin.with_token(&as_alice);

    for refused in [
        alice.post_empty("/users/alice/disable").await,
        alice.delete("/users/alice").await,
        alice.patch("/users/alice", json!({"admin": false})).await,
        alice.patch("/users/alice", json!({"admin": false, "password": "a-new-password-9"})).await,
    ] {
        let body = assert_error(refused, 422, "validation_failed").await;
        assert!(body["error_description"].as_str().unwrap().contains("their own account"), "{body}");
    }
    let shown = admin.get_ok("/users/alice").await;
    assert_eq!((shown["admin"].as_bool(), shown["disabled"].as_bool()), (Some(true), Some(false)));
    assert_eq!(app.password_grant(&console, "alice", "alice-password").await.status(), 200, "password unchanged");
    assert!(admin.events("?kind=user_password_reset").await.is_empty(), "a refused update changed nothing");

    // Her own password and her own tokens are hers to change; other administrators are hers to manage.
    ok(alice.patch("/users/alice", json!({"password": "a-new-password-9"})).await, 200).await;
    ok(alice.patch("/users/bob", json!({"admin": false})).await, 200).await;
    ok(alice.post_empty("/users/bob/disable").await, 200).await;
    assert_eq!(ok(alice.delete("/users/bob").await, 204).await, Value::Null);
    // And another administrator (here an automation client) may do to her what she may not.
    ok(admin.patch("/users/alice", json!({"admin": false})).await, 200).await;
    ok(admin.post_empty("/users/alice/disable").await, 200).await;
    ok(admin.delete("/users/alice").await, 204).await;
}

async fn the_admin_scope_is_a_setting(app: TestApp) {
    let admin = app.admin_api().await;
    assert_eq!(admin.get("/clients").await.status(), 200, "a token with the configured scope");
    let other = app
        .create_client(ClientSpec {
            name: "other".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["oauthd:admin".into()],
            ..ClientSpec::default()
        })
        .await;
    let token = app.client_credentials(&other, "oauthd:admin").await["access_token"].as_str().unwrap().to_owned();
    let response = admin.with_token(&token).get("/clients").await;
    assert!(challenge(&response).ends_with("scope=\"ops\""), "{}", challenge(&response));
    assert_error(response, 403, "insufficient_scope").await;
}

async fn two_authorization_headers_are_a_bad_request(app: TestApp) {
    let admin = app.admin_api().await;
    let bearer = format!("Bearer {}", admin.token);
    let response = app
        .http
        .get(app.admin_url("/clients"))
        .header(AUTHORIZATION, &bearer)
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert!(challenge(&response).contains("error=\"invalid_request\""));
    assert_error(response, 400, "invalid_request").await;
}

async fn clients_are_created_shown_updated_and_deleted(app: TestApp) {
    let admin = app.admin_api().await;
    let created = ok(
        admin
            .post(
                "/clients",
                json!({"name": "billing", "grant_types": ["client_credentials", "refresh_token"],
                       "scopes": ["PRODUCTION", "SANDBOX"], "default_scopes": ["PRODUCTION"]}),
            )
            .await,
        201,
    )
    .await;
    let client = TestClient::from_json(&created);
    assert!(client.secret.len() >= 43, "256 random bits");
    assert_eq!(created["grant_types"], json!(["client_credentials", "refresh_token"]));
    assert_eq!(created["default_scopes"], json!(["PRODUCTION"]));
    assert_eq!(app.client_credentials(&client, "SANDBOX").await["scope"], "SANDBOX", "the secret works");

    let path = format!("/clients/{}", client.id);
    let shown = admin.get_ok(&path).await;
    assert_eq!(shown["name"], "billing");
    assert_eq!(shown["policy"]["access_lifetime_secs"], 3600);
    let text = shown.to_string();
    assert!(!text.contains(&client.secret) && !text.contains("argon2"), "neither the secret nor its hash");

    let changed = ok(
        admin.patch(&path, json!({"name": "billing v2", "scopes": ["PRODUCTION"], "access_lifetime_secs": 60})).await,
        200,
    )
    .await;
    assert_eq!((changed["name"].as_str(), changed["scopes"].clone()), (Some("billing v2"), json!(["PRODUCTION"])));
    assert_eq!(changed["policy"]["access_lifetime_secs"], 60);
    assert_eq!(changed["policy_overrides"]["access_lifetime_secs"], 60);
    let token = app.client_credentials(&client, "PRODUCTION").await;
    assert_eq!(token["expires_in"], 60, "the new policy applies to the next grant");
    // null returns a value to the [tokens] default; an absent field stays as it is.
    let back = ok(admin.patch(&path, json!({"access_lifetime_secs": null})).await, 200).await;
    assert_eq!(back["policy"]["access_lifetime_secs"], 3600);
    assert_eq!(back["policy_overrides"]["access_lifetime_secs"], Value::Null);
    assert_eq!(back["name"], "billing v2");

    // An imported id and secret (a client migrated from elsewhere).
    let imported = ok(
        admin
            .post(
                "/clients",
                json!({"client_id": "legacy-app", "name": "legacy", "grant_types": ["client_credentials"],
                       "scopes": ["PRODUCTION"], "client_secret": "an-imported-secret-123"}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(imported["client_secret"], "an-imported-secret-123");
    let legacy = TestClient { id: "legacy-app".into(), secret: "an-imported-secret-123".into() };
    assert_eq!(app.client_credentials(&legacy, "PRODUCTION").await["scope"], "PRODUCTION");

    assert_eq!(ok(admin.delete(&path).await, 204).await, Value::Null);
    assert_error(admin.get(&path).await, 404, "not_found").await;
    assert_error(admin.delete(&path).await, 404, "not_found").await;
    app.await_client_change(&client.id).await;
    let refused = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
    assert_error(refused, 401, "invalid_client").await;
    assert!(!app.is_active(token["access_token"].as_str().unwrap()).await, "its tokens went with it");
}

async fn a_disabled_client_stops_working_and_an_enabled_one_works_again(app: TestApp) {
    let admin = app.admin_api().await;
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    let disabled = ok(admin.post_empty(&format!("/clients/{}/disable", client.id)).await, 200).await;
    assert_eq!(disabled["disabled"], true);
    assert!(!app.is_active(&access).await && !app.is_active(&refresh).await, "its tokens are revoked");
    app.await_client_change(&client.id).await;
    assert_error(app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await, 401, "invalid_client")
        .await;

    let enabled = ok(admin.post_empty(&format!("/clients/{}/enable", client.id)).await, 200).await;
    assert_eq!(enabled["disabled"], false);
    app.await_client_change(&client.id).await;
    app.client_credentials(&client, "PRODUCTION").await;
    assert!(!app.is_active(&refresh).await, "revoked tokens stay revoked");
    assert_error(admin.post_empty("/clients/no-such-client/disable").await, 404, "not_found").await;
}

async fn public_clients_redirect_uris_and_pkce_are_registered_through_the_same_rules(app: TestApp) {
    let admin = app.admin_api().await;
    let body = json!({"name": "spa", "grant_types": ["authorization_code", "refresh_token"], "scopes": ["PRODUCTION"],
        "redirect_uris": ["http://127.0.0.1/cb"], "public": true, "first_party": true});
    let created = ok(admin.post("/clients", body).await, 201).await;
    assert!(created.get("client_secret").is_none(), "a public client has no secret: {created}");
    assert_eq!(created["token_endpoint_auth_method"], "none");
    assert_eq!((created["pkce_required"].as_bool(), created["first_party"].as_bool()), (Some(true), Some(true)));
    assert_eq!(created["redirect_uris"], json!(["http://127.0.0.1/cb"]));
    let id = created["client_id"].as_str().unwrap().to_owned();
    let rotate = admin.post_empty(&format!("/clients/{id}/rotate-secret")).await;
    assert_error(rotate, 422, "validation_failed").await;

    let changed =
        ok(admin.patch(&format!("/clients/{id}"), json!({"redirect_uris": ["https://app.example.com/cb"]})).await, 200)
            .await;
    assert_eq!(changed["redirect_uris"], json!(["https://app.example.com/cb"]));
    // The registration rules of the CLI apply: no fragment, no plain http off loopback, and a
    // public client may not use client_credentials.
    for patch in [
        json!({"redirect_uris": ["https://app.example.com/cb#x"]}),
        json!({"redirect_uris": ["http://app.example.com/cb"]}),
        json!({"grant_types": ["client_credentials"]}),
    ] {
        assert_error(admin.patch(&format!("/clients/{id}"), patch).await, 422, "validation_failed").await;
    }
    let confidential = json!({"name": "web", "grant_types": ["authorization_code"], "scopes": ["PRODUCTION"],
        "redirect_uris": ["https://app.example.com/cb"], "pkce_required": false});
    let created = ok(admin.post("/clients", confidential).await, 201).await;
    assert_eq!(
        (created["pkce_required"].as_bool(), created["token_endpoint_auth_method"].as_str()),
        (Some(false), Some("client_secret_basic"))
    );
    assert!(created["client_secret"].is_string());
}

async fn a_rotated_secret_is_shown_once_and_the_old_one_stops_working(app: TestApp) {
    let admin = app.admin_api().await;
    let old = app.standard_client().await;
    let (kept, _) = app.token_pair(&old).await;
    let rotated = ok(admin.post_empty(&format!("/clients/{}/rotate-secret", old.id)).await, 200).await;
    let new = old.with_secret(rotated["client_secret"].as_str().unwrap());
    assert_ne!(new.secret, old.secret);
    assert_eq!(rotated["secret_version"], 2);
    app.await_client_change(&old.id).await;
    assert_error(app.post_token_basic(&old, &[("grant_type", "client_credentials")]).await, 401, "invalid_client")
        .await;
    app.client_credentials(&new, "PRODUCTION").await;
    assert!(app.is_active(&kept).await, "issued tokens stay valid by default");

    let again =
        ok(admin.post(&format!("/clients/{}/rotate-secret", old.id), json!({"revoke_tokens": true})).await, 200).await;
    assert!(!app.is_active(&kept).await, "revoke_tokens revokes them");
    assert_ne!(again["client_secret"], rotated["client_secret"]);
    let shown = admin.get_ok(&format!("/clients/{}", old.id)).await;
    assert!(shown.get("client_secret").is_none(), "the secret is shown only when it is made");
}

async fn revoking_a_clients_tokens_ends_every_grant_of_it(app: TestApp) {
    let admin = app.admin_api().await;
    let client = app.standard_client().await;
    let other = app.standard_client().await;
    let (a, _) = app.token_pair(&client).await;
    let (b, _) = app.token_pair(&client).await;
    let (kept, _) = app.token_pair(&other).await;
    let answer = ok(admin.post_empty(&format!("/clients/{}/revoke-tokens", client.id)).await, 200).await;
    assert_eq!(answer["revoked_grants"], 2);
    assert!(!app.is_active(&a).await && !app.is_active(&b).await);
    assert!(app.is_active(&kept).await, "another client's tokens stay");
    app.client_credentials(&client, "PRODUCTION").await;
}

async fn bad_client_input_is_a_json_error_and_never_a_500(app: TestApp) {
    let admin = app.admin_api().await;
    let good = json!({"name": "n", "grant_types": ["client_credentials"], "scopes": ["A"]});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    for (body, why) in [
        (with("name", json!("  ")), "an empty name"),
        (with("name", json!("bad\u{0000}name")), "a NUL in the name"),
        (with("name", json!("x".repeat(256))), "a long name"),
        (with("grant_types", json!(["implicit"])), "an unknown grant type"),
        (with("grant_types", json!([])), "no grant type"),
        (with("scopes", json!(["a\"b"])), "a malformed scope"),
        (with("default_scopes", json!(["B"])), "a default scope not allowed"),
        (with("client_id", json!("bad\u{0000}id")), "a NUL in the id"),
        (with("client_secret", json!("short")), "a short imported secret"),
        (with("redirect_uris", json!(["https://app.example.com/a\u{0000}b"])), "a NUL in a redirect URI"),
        (with("grant_types", json!("client_credentials")), "a string for a list"),
        (with("nmae", json!("typo")), "an unknown field"),
        (json!({"grant_types": ["client_credentials"]}), "no name"),
    ] {
        let error = assert_error(admin.post("/clients", body).await, 422, "validation_failed").await;
        assert!(!error.to_string().contains('\u{0000}'), "{why}: {error}");
    }
    let error = assert_error(
        admin.post("/clients", with("introspect", json!("hunter2-secret"))).await,
        422,
        "validation_failed",
    )
    .await;
    let description = error["error_description"].as_str().unwrap();
    assert!(description.contains("`introspect`") && !description.contains("hunter2"), "{description}");

    ok(admin.post("/clients", with("client_id", json!("taken"))).await, 201).await;
    assert_error(admin.post("/clients", with("client_id", json!("taken"))).await, 409, "already_exists").await;

    let raw = |content_type: &'static str, body: &'static str| {
        app.http
            .post(app.admin_url("/clients"))
            .header(AUTHORIZATION, format!("Bearer {}", admin.token))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    assert_error(raw("application/json", "{\"name\": ").await.unwrap(), 400, "invalid_request").await;
    assert_error(raw("application/json", "").await.unwrap(), 400, "invalid_request").await;
    assert_error(raw("application/x-www-form-urlencoded", "name=x").await.unwrap(), 415, "unsupported_media_type")
        .await;
    let huge = "x".repeat(app.auth.settings.server.body_limit_bytes + 1);
    let response = app
        .http
        .post(app.admin_url("/clients"))
        .header(AUTHORIZATION, format!("Bearer {}", admin.token))
        .header(CONTENT_TYPE, "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;

    // Keys no stored row can have: not found, without a query that PostgreSQL would refuse.
    for path in ["/clients/a%00b", "/clients/a%0Ab", "/users/%00", "/grants/%00"] {
        assert_error(admin.get(path).await, 404, "not_found").await;
    }
    assert_error(admin.post_empty("/clients/a%00b/disable").await, 404, "not_found").await;
    assert_error(admin.patch("/clients/a%00b", json!({"name": "x"})).await, 404, "not_found").await;
    assert_error(admin.get("/clients/%FF").await, 400, "invalid_request").await;
    let shown = admin.patch("/clients/taken", json!({"refresh_lifetime_secs": 0})).await;
    assert_error(shown, 422, "validation_failed").await;
}

async fn clients_are_listed_in_pages_and_filtered(app: TestApp) {
    let admin = app.admin_api().await;
    for (id, grants, scopes) in [
        ("c1", vec!["client_credentials"], vec!["PRODUCTION"]),
        ("c2", vec!["password", "refresh_token"], vec!["SANDBOX"]),
        ("c3", vec!["client_credentials", "refresh_token"], vec!["read_all", "PRODUCTION"]),
        ("c4", vec!["client_credentials"], vec!["readXall"]),
    ] {
        let body = json!({"client_id": id, "name": id, "grant_types": grants, "scopes": scopes});
        ok(admin.post("/clients", body).await, 201).await;
    }
    ok(admin.post_empty("/clients/c4/disable").await, 200).await;
    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap().to_owned()).collect()
    };

    // Five clients (the automation client too), two to a page, by id.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("/clients?limit=2&cursor={c}"),
            None => "/clients?limit=2".to_owned(),
        };
        let page = admin.get_ok(&query).await;
        assert!(ids(&page).len() <= 2);
        seen.extend(ids(&page));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "ordered by id, no repeats");
    assert_eq!(seen.len(), 5);

    assert_eq!(ids(&admin.get_ok("/clients?grant_type=refresh_token").await), ["c2", "c3"]);
    assert_eq!(ids(&admin.get_ok("/clients?scope=PRODUCTION").await), ["c1", "c3"]);
    assert_eq!(ids(&admin.get_ok("/clients?scope=read_all").await), ["c3"], "`_` is no wildcard");
    assert!(ids(&admin.get_ok("/clients?scope=production").await).is_empty(), "scopes are case-sensitive");
    assert_eq!(ids(&admin.get_ok("/clients?disabled=true").await), ["c4"]);
    assert_eq!(
        ids(&admin.get_ok("/clients?disabled=false&grant_type=client_credentials&scope=PRODUCTION").await),
        ["c1", "c3"]
    );

    for bad in ["?limit=0", "?limit=201", "?cursor=garbage", "?grant_type=implicit", "?scope=a%20b"] {
        assert_error(admin.get(&format!("/clients{bad}")).await, 422, "validation_failed").await;
    }
    for bad in ["?limit=two", "?disabled=maybe", "?colour=red"] {
        assert_error(admin.get(&format!("/clients{bad}")).await, 400, "invalid_request").await;
    }
}

async fn users_are_created_shown_updated_and_deleted(app: TestApp) {
    let admin = app.admin_api().await;
    let client = app.standard_client().await;
    let created = ok(admin.post("/users", json!({"username": "alice", "password": "first password"})).await, 201).await;
    assert_eq!(
        created,
        json!({"username": "alice", "admin": false, "disabled": false,
        "created_at": created["created_at"], "updated_at": created["updated_at"]})
    );
    assert_eq!(app.password_grant(&client, "alice", "first password").await.status(), 200);
    let made_admin =
        ok(admin.post("/users", json!({"username": "root", "password": "pw", "admin": true})).await, 201).await;
    assert_eq!(made_admin["admin"], true);

    let changed =
        ok(admin.patch("/users/alice", json!({"password": "second password", "admin": true})).await, 200).await;
    assert_eq!(changed["admin"], true);
    assert_eq!(app.password_grant(&client, "alice", "first password").await.status(), 400);
    assert_eq!(app.password_grant(&client, "alice", "second password").await.status(), 200);
    assert_eq!(admin.get_ok("/users/alice").await["admin"], true);
    let text = admin.get_ok("/users/alice").await.to_string();
    assert!(!text.contains("password") && !text.contains("argon2"), "{text}");

    let (_, refresh) = {
        let body = ok(app.password_grant(&client, "alice", "second password").await, 200).await;
        (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
    };
    assert_eq!(ok(admin.post_empty("/users/alice/revoke-tokens").await, 200).await["revoked_grants"], 3);
    assert!(!app.is_active(&refresh).await);

    assert_eq!(ok(admin.delete("/users/alice").await, 204).await, Value::Null);
    assert_error(admin.get("/users/alice").await, 404, "not_found").await;
    assert_eq!(app.password_grant(&client, "alice", "second password").await.status(), 400);
    assert_error(admin.post_empty("/users/alice/revoke-tokens").await, 404, "not_found").await;
    assert_error(admin.patch("/users/alice", json!({"admin": true})).await, 404, "not_found").await;
}

async fn a_disabled_user_gets_no_tokens_and_loses_theirs(app: TestApp) {
    let admin = app.admin_api().await;
    let client = app.standard_client().await;
    app.create_user("bob", "bob-password").await;
    let body = ok(app.password_grant(&client, "bob", "bob-password").await, 200).await;
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let disabled = ok(admin.post_empty("/users/bob/disable").await, 200).await;
    assert_eq!(disabled["disabled"], true);
    assert!(!app.is_active(&refresh).await, "their tokens are revoked");
    assert_error(app.password_grant(&client, "bob", "bob-password").await, 400, "invalid_grant").await;
    assert_error(app.refresh(&client, &refresh, None).await, 400, "invalid_grant").await;

    assert_eq!(ok(admin.post_empty("/users/bob/enable").await, 200).await["disabled"], false);
    assert_eq!(app.password_grant(&client, "bob", "bob-password").await.status(), 200);
    assert!(!app.is_active(&refresh).await, "revoked tokens stay revoked");
    assert_error(admin.post_empty("/users/nobody/disable").await, 404, "not_found").await;
}

async fn users_are_listed_in_pages_and_filtered(app: TestApp) {
    let admin = app.admin_api().await;
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        ok(admin.post("/users", json!({"username": name, "password": "pw", "admin": name == "u2"})).await, 201).await;
    }
    ok(admin.post_empty("/users/u4/disable").await, 200).await;
    let names = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
    };
    let first = admin.get_ok("/users?limit=3").await;
    assert_eq!(names(&first), ["u1", "u2", "u3"]);
    let second = admin.get_ok(&format!("/users?limit=3&cursor={}", first["next_cursor"].as_str().unwrap())).await;
    assert_eq!(names(&second), ["u4", "u5"]);
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(names(&admin.get_ok("/users?admin=true").await), ["u2"]);
    assert_eq!(names(&admin.get_ok("/users?disabled=true").await), ["u4"]);
    assert_eq!(names(&admin.get_ok("/users?admin=false&disabled=false").await), ["u1", "u3", "u5"]);
    assert_error(admin.get("/users?limit=500").await, 422, "validation_failed").await;
}

async fn bad_user_input_is_a_json_error_and_never_a_500(app: TestApp) {
    let admin = app.admin_api().await;
    for body in [
        json!({"username": "", "password": "pw"}),
        json!({"username": "a\u{0000}b", "password": "pw"}),
        json!({"username": "tab\there", "password": "pw"}),
        json!({"username": "x", "password": ""}),
        json!({"username": "x", "password": "p".repeat(1025)}),
        json!({"username": "x"}),
        json!({"username": "x", "password": 12345678}),
        json!({"username": "x", "password": "pw", "admin": "yes"}),
    ] {
        let error = assert_error(admin.post("/users", body).await, 422, "validation_failed").await;
        assert!(!error.to_string().contains("12345678"), "a password is never echoed: {error}");
    }
    ok(admin.post("/users", json!({"username": "x", "password": "pw"})).await, 201).await;
    assert_error(admin.post("/users", json!({"username": "x", "password": "pw"})).await, 409, "already_exists").await;
    assert_error(admin.patch("/users/x", json!({"password": ""})).await, 422, "validation_failed").await;
    assert_error(admin.patch("/users/x", json!({"role": "admin"})).await, 422, "validation_failed").await;
}

async fn grants_of_a_client_or_a_user_are_listed_shown_and_revoked(app: TestApp) {
    let mut admin = app.admin_api().await;
    let client = app.standard_client().await;
    app.create_user("carol", "carol-password").await;
    let mut refreshes = Vec::new();
    for _ in 0..3 {
        let (_, refresh) = app.token_pair(&client).await;
        refreshes.push(refresh);
        app.clock.advance(1);
    }
    let as_carol = ok(app.password_grant(&client, "carol", "carol-password").await, 200).await;

    let all = admin.get_ok(&format!("/grants?client_id={}", client.id)).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["username"], "carol", "newest first");
    assert_eq!(items[0]["grant_type"], "password");
    assert_eq!(items[3]["grant_type"], "client_credentials");
    assert!(items.iter().all(|g| g["active"] == true && g["client_id"] == client.id.as_str()));

    let first = admin.get_ok(&format!("/grants?client_id={}&limit=3", client.id)).await;
    let rest = admin
        .get_ok(&format!("/grants?client_id={}&limit=3&cursor={}", client.id, first["next_cursor"].as_str().unwrap()))
        .await;
    let paged: Vec<_> =
        first["items"].as_array().unwrap().iter().chain(rest["items"].as_array().unwrap()).cloned().collect();
    assert_eq!(&paged, items, "two pages hold the same grants in the same order");

    let carol = admin.get_ok("/grants?username=carol").await;
    assert_eq!(carol["items"].as_array().unwrap().len(), 1);
    let family = carol["items"][0]["family_id"].as_str().unwrap().to_owned();
    let shown = admin.get_ok(&format!("/grants/{family}")).await;
    assert_eq!((shown["scope"].as_str(), shown["active"].as_bool()), (Some("PRODUCTION SANDBOX"), Some(true)));

    let revoked = ok(admin.post_empty(&format!("/grants/{family}/revoke")).await, 200).await;
    assert_eq!(revoked["active"], false);
    assert!(revoked["revoked_at"].is_i64());
    assert!(!app.is_active(as_carol["refresh_token"].as_str().unwrap()).await);
    assert!(!app.is_active(as_carol["access_token"].as_str().unwrap()).await);
    assert!(app.is_active(&refreshes[0]).await, "other grants stay");
    let active = admin.get_ok(&format!("/grants?client_id={}&active=true", client.id)).await;
    assert_eq!(active["items"].as_array().unwrap().len(), 3);
    let inactive = admin.get_ok(&format!("/grants?client_id={}&active=false", client.id)).await;
    assert_eq!(inactive["items"][0]["family_id"], family.as_str());

    // A grant whose tokens all expired is inactive too.
    app.clock.advance(app.auth.settings.tokens.refresh_lifetime_secs + 10);
    admin.renew().await;
    let active = admin.get_ok(&format!("/grants?client_id={}&active=true", client.id)).await;
    assert!(active["items"].as_array().unwrap().is_empty());

    assert_error(admin.get("/grants").await, 422, "validation_failed").await;
    assert_error(admin.get("/grants/no-such-family").await, 404, "not_found").await;
    assert_error(admin.post_empty("/grants/no-such-family/revoke").await, 404, "not_found").await;
}

async fn a_token_is_looked_up_and_revoked_by_value(app: TestApp) {
    let mut admin = app.admin_api().await;
    let client = app.standard_client().await;
    app.create_user("dave", "dave-password").await;
    let body = ok(app.password_grant(&client, "dave", "dave-password").await, 200).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    let seen = ok(admin.post("/tokens/lookup", json!({"token": access})).await, 200).await;
    assert_eq!(seen["kind"], "access_token");
    assert_eq!((seen["state"].as_str(), seen["active"].as_bool()), (Some("active"), Some(true)));
    assert_eq!((seen["client_id"].as_str(), seen["username"].as_str()), (Some(client.id.as_str()), Some("dave")));
    assert_eq!((seen["grant_type"].as_str(), seen["scope"].as_str()), (Some("password"), Some("PRODUCTION SANDBOX")));
    assert_eq!(seen["expires_at"], seen["issued_at"].as_i64().unwrap() + 3600);
    assert!(!seen.to_string().contains(&access), "the token is not echoed");
    let family = seen["family_id"].as_str().unwrap().to_owned();
    assert_eq!(ok(admin.post("/tokens/lookup", json!({"token": refresh})).await, 200).await["kind"], "refresh_token");

    let (_, rotated_to, _) = app.refresh_ok(&client, &refresh).await;
    assert_eq!(ok(admin.post("/tokens/lookup", json!({"token": refresh})).await, 200).await["state"], "consumed");

    let revoked = ok(admin.post("/tokens/revoke", json!({"token": rotated_to})).await, 200).await;
    assert_eq!(revoked["revoked"], "grant_family");
    assert_eq!(revoked["token"]["family_id"], family.as_str());
    let after = ok(admin.post("/tokens/lookup", json!({"token": rotated_to})).await, 200).await;
    assert_eq!((after["state"].as_str(), after["active"].as_bool()), (Some("revoked"), Some(false)));

    let (other_access, _) = app.token_pair(&client).await;
    let revoked = ok(admin.post("/tokens/revoke", json!({"token": other_access})).await, 200).await;
    assert_eq!(revoked["revoked"], "access_token");
    assert!(!app.is_active(&other_access).await);

    app.clock.advance(3601);
    let (fresh, _) = app.token_pair(&client).await;
    app.clock.advance(3600);
    admin.renew().await;
    assert_eq!(ok(admin.post("/tokens/lookup", json!({"token": fresh})).await, 200).await["state"], "expired");

    let mut damaged = access.clone();
    damaged.replace_range(10..11, if &damaged[10..11] == "A" { "B" } else { "A" });
    for unknown in ["nonsense", damaged.as_str(), ""] {
        assert_error(admin.post("/tokens/lookup", json!({"token": unknown})).await, 404, "not_found").await;
        assert_error(admin.post("/tokens/revoke", json!({"token": unknown})).await, 404, "not_found").await;
    }
    assert_error(admin.post("/tokens/lookup", json!({})).await, 422, "validation_failed").await;
    assert_error(admin.post("/tokens/lookup", json!({"token": ["x"]})).await, 422, "validation_failed").await;
}

async fn unknown_paths_are_404_and_wrong_methods_405_in_json(app: TestApp) {
    let admin = app.admin_api().await;
    for path in ["/nothing", "/clients/a/b/c", "/"] {
        assert_error(admin.get(path).await, 404, "not_found").await;
    }
    let response = admin.delete("/clients").await;
    assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET,HEAD,POST"));
    assert_error(response, 405, "method_not_allowed").await;
    assert_error(admin.get("/tokens/lookup").await, 405, "method_not_allowed").await;
    // Without a token as well: the method is checked before the credentials.
    let response = app.http.put(app.admin_url("/clients")).send().await.unwrap();
    assert_error(response, 405, "method_not_allowed").await;
    // Answers are never cached.
    let response = admin.get("/clients").await;
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
}

async fn a_separate_admin_listener_serves_the_api_and_the_main_one_does_not(app: TestApp) {
    let port = app.admin_port.expect("an admin listener");
    assert_ne!(port, app.port());
    let admin = app.admin_api().await;
    assert!(admin.base.contains(&format!(":{port}/")));
    assert_eq!(admin.get_ok("/clients").await["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.http.get(app.admin_url("/openapi.json")).send().await.unwrap().status(), 200);
    // The main listener: no admin API (a plain JSON 404), but /token and the rest as usual.
    let on_main = app
        .http
        .get(app.url("/admin/api/v1/clients"))
        .header(AUTHORIZATION, format!("Bearer {}", admin.token))
        .send()
        .await
        .unwrap();
    assert_error(on_main, 404, "not_found").await;
    assert_error(app.http.get(app.url("/admin/api/v1/openapi.json")).send().await.unwrap(), 404, "not_found").await;
    // And the admin listener serves nothing but the admin API.
    let token_on_admin = app.http.post(format!("http://127.0.0.1:{port}/token")).send().await.unwrap();
    assert_error(token_on_admin, 404, "not_found").await;
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), 200);
}

async fn the_admin_listener_serves_https_when_the_server_does(app: TestApp) {
    assert!(app.address.starts_with("https://"));
    let admin = app.admin_api().await;
    assert!(admin.base.starts_with("https://127.0.0.1:"), "{}", admin.base);
    assert_eq!(admin.get("/clients").await.status(), 200);
    let port = app.admin_port.unwrap();
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/admin/api/v1/clients")).send().await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true), "no plain HTTP on the TLS admin listener");
}

async fn behind_a_tls_proxy_the_admin_api_requires_tls(app: TestApp) {
    let admin = app.admin_api_through_proxy().await;
    let direct = admin.get("/clients").await;
    assert_error(direct, 400, "invalid_request").await;
    let proxied = app
        .http
        .get(app.admin_url("/clients"))
        .header(AUTHORIZATION, format!("Bearer {}", admin.token))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
}

impl TestApp {
    /// [`TestApp::admin_api`] for an app behind a TLS-terminating proxy: the token is fetched
    /// saying `X-Forwarded-Proto: https`, as the proxy would.
    async fn admin_api_through_proxy(&self) -> AdminApi<'_> {
        let client = self
            .create_client(ClientSpec {
                name: "automation".into(),
                grant_types: vec!["client_credentials".into()],
                scopes: vec!["oauthd:admin".into()],
                ..ClientSpec::default()
            })
            .await;
        let response = self
            .http
            .post(self.url("/token"))
            .header(AUTHORIZATION, crate::helpers::basic(&client.id, &client.secret))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-forwarded-proto", "https")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        let token = ok(response, 200).await["access_token"].as_str().unwrap().to_owned();
        AdminApi { app: self, base: self.admin_url(""), token, client }
    }
}

/// The methods of an OpenAPI path item.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn the_openapi_document_describes_exactly_the_routes_that_exist(app: TestApp) {
    let response = app.http.get(app.admin_url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the document needs no token");
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."), "OpenAPI 3");
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let expected: BTreeSet<(String, String)> = [
        ("GET", "/clients"),
        ("POST", "/clients"),
        ("GET", "/clients/{client_id}"),
        ("PATCH", "/clients/{client_id}"),
        ("DELETE", "/clients/{client_id}"),
        ("POST", "/clients/{client_id}/disable"),
        ("POST", "/clients/{client_id}/enable"),
        ("POST", "/clients/{client_id}/rotate-secret"),
        ("POST", "/clients/{client_id}/revoke-tokens"),
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/users/{username}"),
        ("PATCH", "/users/{username}"),
        ("DELETE", "/users/{username}"),
        ("POST", "/users/{username}/disable"),
        ("POST", "/users/{username}/enable"),
        ("POST", "/users/{username}/revoke-tokens"),
        ("GET", "/grants"),
        ("GET", "/grants/{family_id}"),
        ("POST", "/grants/{family_id}/revoke"),
        ("POST", "/tokens/lookup"),
        ("POST", "/tokens/revoke"),
        ("GET", "/consents"),
        ("POST", "/consents/revoke"),
        ("GET", "/events"),
        ("GET", "/openapi.json"),
    ]
    .into_iter()
    .map(|(method, path)| (method.to_owned(), format!("/admin/api/v1{path}")))
    .collect();
    assert_eq!(documented, expected, "the document lists every admin route and no other");
    let operation_ids: BTreeSet<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| METHODS.iter().filter_map(|m| item.get(*m)))
        .map(|operation| operation["operationId"].as_str().unwrap())
        .collect();
    assert_eq!(operation_ids.len(), expected.len(), "operationIds are unique (OpenAPI: MUST)");

    // Every documented operation is routed: without a token each protected one answers 401 — the
    // router found it and its authentication ran — and says so in the document; a method the
    // document does not list for a path is 405.
    for (path, item) in document["paths"].as_object().unwrap() {
        let url = app.url(&path.replace("{client_id}", "c").replace("{username}", "u").replace("{family_id}", "f"));
        for method in METHODS {
            let response = app.http.request(method.to_uppercase().parse().unwrap(), &url).send().await.unwrap();
            let status = response.status().as_u16();
            match item.get(method) {
                Some(operation) if path.ends_with("/openapi.json") => {
                    assert_eq!(status, 200, "{method} {path}");
                    assert!(operation.get("security").is_none(), "the document is public");
                }
                Some(operation) => {
                    assert_eq!(status, 401, "{method} {path} is routed and authenticated");
                    assert_eq!(operation["security"], json!([{"bearer": []}]), "{method} {path}");
                    assert!(operation["responses"].as_object().unwrap().keys().any(|s| s.starts_with('2')));
                }
                None => assert_eq!(status, 405, "{method} {path} is not documented, so not served"),
            }
        }
    }
}

async fn the_cli_makes_and_unmakes_administrators_and_disables_users(app: TestApp) {
    let admin = app.admin_api().await;
    let created = app
        .oauthd(&["user", "create", "--username", "root", "--password-stdin", "--admin"])
        .run_with_stdin("root password\n");
    assert!(created.success, "{}", created.stderr);
    app.create_user("plain", "plain password").await;
    let listed = app.oauthd(&["user", "list", "--json"]).run_ok().json();
    let flags: Vec<(String, bool, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap().to_owned(), u["admin"] == true, u["disabled"] == true))
        .collect();
    assert_eq!(flags, [("plain".to_owned(), false, false), ("root".to_owned(), true, false)]);
    assert_eq!(admin.get_ok("/users/root").await["admin"], true, "the API sees what the CLI did");

    let updated = app.oauthd(&["user", "update", "plain", "--admin", "--json"]).run_ok().json();
    assert_eq!(updated["admin"], true);
    app.oauthd(&["user", "update", "root", "--no-admin"]).run_ok();
    assert_eq!(admin.get_ok("/users/root").await["admin"], false);
    let both = app.oauthd(&["user", "update", "root", "--admin", "--no-admin"]).run();
    assert!(!both.success, "--admin and --no-admin exclude each other");
    let neither = app.oauthd(&["user", "update", "root"]).run();
    assert!(!neither.success, "an update names a change");
    let missing = app.oauthd(&["user", "update", "nobody", "--admin"]).run();
    assert!(!missing.success && missing.stderr.contains("not found"), "{}", missing.stderr);

    let client = app.standard_client().await;
    app.oauthd(&["user", "disable", "plain"]).run_ok();
    assert_eq!(app.password_grant(&client, "plain", "plain password").await.status(), 400);
    assert_eq!(admin.get_ok("/users/plain").await["disabled"], true);
    app.oauthd(&["user", "enable", "plain"]).run_ok();
    assert_eq!(app.password_grant(&client, "plain", "plain password").await.status(), 200);
    // The plain listing is unchanged: one name a line.
    assert_eq!(app.oauthd(&["user", "list"]).run_ok().stdout, "plain\nroot\n");
}

/// The README's operator path through the API, its shell block run by bash as written — only the
/// address changed to the served process's — against the real `oauthd` binary and `oauthd serve`.
async fn the_readmes_admin_api_walkthrough_runs_as_written(app: TestApp) {
    if std::process::Command::new("jq").arg("--version").output().is_err() {
        eprintln!("README walkthrough skipped: it needs jq, which is not installed");
        return;
    }
    let readme = include_str!("../../README.md");
    let section = readme.split("\n## Admin API\n").nth(1).expect("an Admin API section");
    let block = section.split("```sh\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a sh block");
    let served = app.serve(&[]);
    let script = block.replace("http://127.0.0.1:8080", &format!("http://{}", served.address));
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_oauthd"));
    let path = format!("{}:{}", binary.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let ran = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("PATH", path)
        .env("OAUTHD_DATABASE__URL", &app.database_url)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&ran.stderr));
    for answer in [
        r#""name":"automation""#,
        r#""state":"active""#,
        r#""revoked":"access_token""#,
        r#""kind":"token_revoked""#,
        r#""kind":"client_secret_rotated""#,
    ] {
        assert!(stdout.contains(answer), "{answer} in {stdout}");
    }
    drop(served);
}

async fn consents_are_listed_and_withdrawn_with_the_grants_they_allowed(app: TestApp) {
    const CALLBACK: &str = "https://printer.example.com/cb";
    app.create_user("alice", "alice-password").await;
    let client = app
        .create_client(ClientSpec {
            name: "Photo printer".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: vec!["PRODUCTION".into()],
            redirect_uris: vec![CALLBACK.into()],
            pkce_optional: true,
            ..Default::default()
        })
        .await;
    // Alice allows the client on the consent page, and it exchanges the code.
    let mut alice = app.signed_in("alice", "alice-password").await;
    let query = crate::helpers::form(&[
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", CALLBACK),
        ("scope", "PRODUCTION"),
    ]);
    let code = alice.allow(&query).await;
    let exchange = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CALLBACK)];
    let tokens: Value = app.post_token_basic(&client, &exchange).await.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let admin = app.admin_api().await;
    let listed = admin.get_ok("/consents?username=alice").await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(
        (&items[0]["client_id"], &items[0]["client_name"], &items[0]["scope"]),
        (&json!(client.id), &json!("Photo printer"), &json!("PRODUCTION"))
    );
    assert!(items[0]["last_used_at"].is_i64() && items[0]["granted_at"].is_i64(), "{listed}");
    assert_eq!(listed["next_cursor"], Value::Null);
    assert_eq!(admin.get_ok("/consents?username=bob").await["items"], json!([]));
    assert_error(admin.get("/consents").await, 400, "invalid_request").await;
    assert_error(admin.get("/consents?username=alice&client=x").await, 400, "invalid_request").await;

    let which = json!({"username": "alice", "client_id": client.id});
    let revoked = ok(admin.post("/consents/revoke", which.clone()).await, 200).await;
    assert_eq!(revoked["revoked_grants"], 1);
    assert!(!app.is_active(&refresh).await, "the grant the consent allowed ended");
    assert_eq!(admin.get_ok("/consents?username=alice").await["items"], json!([]));
    assert_error(admin.post("/consents/revoke", which).await, 404, "not_found").await;
    assert_error(admin.post("/consents/revoke", json!({"username": "alice"})).await, 422, "validation_failed").await;
    let events = admin.events("?kind=consent_revoked").await;
    assert_eq!(
        (events.len(), &events[0]["username"], &events[0]["actor_type"]),
        (1, &json!("alice"), &json!("client"))
    );
    // Forgotten: the client must ask again.
    assert_eq!(alice.get(&format!("/authorize?{query}")).await.status, 200, "the consent page again, not a code");
}
