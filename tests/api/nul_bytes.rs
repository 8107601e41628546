//! A NUL byte (U+0000) in any request string. PostgreSQL's `text` cannot hold it and refuses the
//! whole statement, SQLite can: every such request gets, on both backends, the RFC answer that the
//! same malformed value gets anyway (an unknown client, an unknown user, a malformed token or
//! scope), never a 500. Each request string that could reach SQL is covered here.

use serde_json::{json, Value};

use crate::helpers::{assert_error, basic, form, TestApp, TestClient};

on_both_backends!(
    a_nul_in_the_client_id_is_invalid_client_at_every_endpoint_by_either_method,
    a_nul_in_the_username_is_invalid_grant_like_an_unknown_user,
    a_nul_in_a_secret_or_password_is_a_failed_authentication,
    a_nul_in_a_token_hint_scope_or_grant_type_gets_the_answer_of_a_malformed_value,
);

const ENDPOINTS: [(&str, &str); 3] =
    [("/token", "grant_type=client_credentials"), ("/revoke", "token=x"), ("/introspect", "token=x")];

/// Client ids a client could send that PostgreSQL cannot hold: a NUL alone, one after an existing
/// client's id, one inside it.
fn ids_with_nul(client: &TestClient) -> Vec<String> {
    let (head, tail) = client.id.split_at(4);
    vec!["\0".into(), "x\0".into(), format!("{}\0", client.id), format!("{head}\0{tail}")]
}

async fn a_nul_in_the_client_id_is_invalid_client_at_every_endpoint_by_either_method(app: TestApp) {
    let client = app.standard_client().await;
    for id in ids_with_nul(&client) {
        for (path, rest) in ENDPOINTS {
            // client_secret_basic: the id is form-encoded inside the Basic credentials.
            let r = app.post_raw(path, Some(&basic(&id, &client.secret)), rest.into()).await;
            assert!(r.headers().get("www-authenticate").is_some(), "{path} {id:?}: a Basic challenge");
            assert_error(r, 401, "invalid_client").await;
            // client_secret_post.
            let body = format!("{rest}&{}", form(&[("client_id", &id), ("client_secret", &client.secret)]));
            assert_error(app.post_raw(path, None, body).await, 401, "invalid_client").await;
        }
    }
    // The literal request of the report, and a raw NUL byte (not percent-encoded) in the body.
    let literal = "grant_type=client_credentials&client_id=x%00&client_secret=y".to_owned();
    assert_error(app.post_raw("/token", None, literal).await, 401, "invalid_client").await;
    let raw = format!("grant_type=client_credentials&client_id={}\0&client_secret={}", client.id, client.secret);
    assert_error(app.post_raw("/token", None, raw).await, 401, "invalid_client").await;
    // The client itself is unharmed.
    app.client_credentials(&client, "PRODUCTION").await;
}

async fn a_nul_in_the_username_is_invalid_grant_like_an_unknown_user(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "correct horse").await;
    let unknown: Value = app.password_grant(&client, "nobody", "correct horse").await.json().await.unwrap();
    for username in ["\0", "alice\0", "al\0ice", "\0alice"] {
        let pairs = [("grant_type", "password"), ("username", username), ("password", "correct horse")];
        for r in [app.post_token_basic(&client, &pairs).await, app.post_token_post(&client, &pairs).await] {
            let body = assert_error(r, 400, "invalid_grant").await;
            assert_eq!(body, unknown, "{username:?}: the same answer as an unknown user");
        }
    }
    assert_eq!(app.password_grant(&client, "alice", "correct horse").await.status(), 200);
}

async fn a_nul_in_a_secret_or_password_is_a_failed_authentication(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "correct horse").await;
    let secret = format!("{}\0", client.secret);
    for (path, rest) in ENDPOINTS {
        let r = app.post_raw(path, Some(&basic(&client.id, &secret)), rest.into()).await;
        assert_error(r, 401, "invalid_client").await;
    }
    let r = app.password_grant(&client, "alice", "correct horse\0").await;
    assert_error(r, 400, "invalid_grant").await;
}

async fn a_nul_in_a_token_hint_scope_or_grant_type_gets_the_answer_of_a_malformed_value(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "correct horse").await;
    let (access, refresh) = app.token_pair(&client).await;
    let with_nul = |token: &str| format!("{}\0{}", &token[..10], &token[11..]);

    // Tokens: unknown wherever they are presented, and the real ones stay intact.
    for token in [with_nul(&refresh), format!("{refresh}\0"), "\0".into()] {
        assert_error(app.refresh(&client, &token, None).await, 400, "invalid_grant").await;
        assert_eq!(app.revoke(&client, &token, None).await.status(), 200, "unknown tokens revoke fine");
        assert_eq!(app.introspect(&client, &token).await, json!({"active": false}));
    }
    assert_eq!(app.introspect(&client, &with_nul(&access)).await, json!({"active": false}));
    assert!(app.is_active(&access).await && app.is_active(&refresh).await);

    // The revocation hint.
    let r = app.revoke(&client, &access, Some("access_token\0")).await;
    assert_error(r, 400, "unsupported_token_type").await;

    // Scopes, in each grant that reads one.
    for scope in ["PRODUCTION\0", "\0", "PRODUCTION \0"] {
        let cc = app.post_token_basic(&client, &[("grant_type", "client_credentials"), ("scope", scope)]).await;
        assert_error(cc, 400, "invalid_scope").await;
        let password =
            [("grant_type", "password"), ("username", "alice"), ("password", "correct horse"), ("scope", scope)];
        assert_error(app.post_token_basic(&client, &password).await, 400, "invalid_scope").await;
        assert_error(app.refresh(&client, &refresh, Some(scope)).await, 400, "invalid_scope").await;
    }

    // The grant type.
    let r = app.post_token_basic(&client, &[("grant_type", "client_credentials\0")]).await;
    assert_error(r, 400, "unsupported_grant_type").await;

    app.refresh_ok(&client, &refresh).await;
}
