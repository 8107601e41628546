//! POST /introspect (RFC 7662): each token state, each caller kind.

use serde_json::{json, Value};

use crate::helpers::{assert_error, form, TestApp};

on_both_backends!(
    an_active_access_token_is_described_with_the_rfc_fields,
    a_password_grant_token_names_its_user,
    inactive_tokens_of_every_kind_answer_exactly_active_false,
    a_client_sees_its_own_tokens_only_and_a_resource_server_sees_all,
    a_refresh_token_is_introspectable_by_its_client,
    unauthenticated_callers_get_invalid_client,
    a_used_successor_turns_a_replay_into_reuse,
);

fn inactive() -> Value {
    json!({"active": false})
}

async fn an_active_access_token_is_described_with_the_rfc_fields(app: TestApp) {
    let client = app.standard_client().await;
    let now = app.clock.now();
    let body = app.client_credentials(&client, "PRODUCTION").await;
    let answer = app.introspect(&client, body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        answer,
        json!({
            "active": true,
            "scope": "PRODUCTION",
            "client_id": client.id,
            "token_type": "Bearer",
            "exp": now + 3600,
            "iat": now,
            "sub": client.id,
            "iss": app.auth.issuer(),
        })
    );
}

async fn a_password_grant_token_names_its_user(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "pw").await;
    let r = app.password_grant(&client, "alice", "pw").await;
    let body: Value = r.json().await.unwrap();
    let answer = app.introspect(&client, body["access_token"].as_str().unwrap()).await;
    assert_eq!(answer["username"], "alice");
    assert_eq!(answer["sub"], "alice");
}

async fn inactive_tokens_of_every_kind_answer_exactly_active_false(app: TestApp) {
    let client = app.standard_client().await;
    // expired
    let (expired, _) = app.token_pair(&client).await;
    // revoked
    let (revoked, _) = app.token_pair(&client).await;
    assert_eq!(app.revoke(&client, &revoked, None).await.status(), 200);
    // consumed (rotated refresh token) and the access token its rotation revoked
    let (rotated_access, rotated) = app.token_pair(&client).await;
    app.refresh_ok(&client, &rotated).await;
    // a family revoked by reuse
    let (_, reused) = app.token_pair(&client).await;
    let (family_access, _, _) = app.refresh_ok(&client, &reused).await;
    app.clock.advance(11);
    app.refresh(&client, &reused, None).await;
    for token in [revoked.as_str(), rotated.as_str(), rotated_access.as_str(), family_access.as_str()] {
        assert_eq!(app.introspect(&client, token).await, inactive());
    }
    app.clock.advance(3600);
    assert_eq!(app.introspect(&client, &expired).await, inactive());
    let forged = format!("oat_{}", "A".repeat(49));
    for junk in ["", "unknown", &expired[..30], forged.as_str(), "eyJhbGciOiJIUzI1NiJ9.e30.x"] {
        let r = app.introspect_raw(&client, junk).await;
        if junk.is_empty() {
            assert_error(r, 400, "invalid_request").await;
        } else {
            assert_eq!(r.json::<Value>().await.unwrap(), inactive());
        }
    }
}

async fn a_client_sees_its_own_tokens_only_and_a_resource_server_sees_all(app: TestApp) {
    let owner = app.standard_client().await;
    let other = app.standard_client().await;
    let gateway = app.resource_server().await;
    let (access, _) = app.token_pair(&owner).await;
    assert_eq!(app.introspect(&owner, &access).await["active"], true);
    assert_eq!(app.introspect(&other, &access).await, inactive());
    let seen = app.introspect(&gateway, &access).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["client_id"], owner.id.as_str());
}

async fn a_refresh_token_is_introspectable_by_its_client(app: TestApp) {
    let client = app.standard_client().await;
    let (_, refresh) = app.token_pair(&client).await;
    let answer = app.introspect(&client, &refresh).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "refresh_token");
}

async fn unauthenticated_callers_get_invalid_client(app: TestApp) {
    let client = app.standard_client().await;
    let (access, _) = app.token_pair(&client).await;
    let r = app.post_raw("/introspect", None, form(&[("token", &access)])).await;
    assert_error(r, 401, "invalid_client").await;
    let r = app.introspect_raw(&client.with_secret("nope-nope-nope"), &access).await;
    assert_error(r, 401, "invalid_client").await;
}

async fn a_used_successor_turns_a_replay_into_reuse(app: TestApp) {
    let client = app.standard_client().await;
    let gateway = app.resource_server().await;
    let (_, refresh) = app.token_pair(&client).await;
    let (access, next, _) = app.refresh_ok(&client, &refresh).await;
    // The new access token reached a resource server: the response was not lost.
    assert_eq!(app.introspect(&gateway, &access).await["active"], true);
    assert_error(app.refresh(&client, &refresh, None).await, 400, "invalid_grant").await;
    assert!(!app.is_active(&next).await, "reuse inside the window revoked the family");
}
