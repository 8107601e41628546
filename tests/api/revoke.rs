//! POST /revoke (RFC 7009) and `oauthd token revoke`.

use crate::helpers::{assert_error, basic, form, TestApp};

on_both_backends!(
    revoking_an_access_token_answers_200_empty_and_revokes_only_it,
    revoking_a_refresh_token_revokes_its_whole_family,
    unknown_and_damaged_tokens_answer_200,
    a_wrong_hint_still_finds_the_token,
    an_unsupported_hint_is_unsupported_token_type,
    a_token_of_another_client_is_refused_and_not_revoked,
    missing_token_and_bad_credentials_are_refused,
    client_secret_post_can_revoke_and_revoking_twice_is_fine,
);

async fn revoking_an_access_token_answers_200_empty_and_revokes_only_it(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    let r = app.revoke(&client, &access, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.text().await.unwrap(), "");
    assert!(!app.is_active(&access).await);
    assert!(app.is_active(&refresh).await, "revoking an access token leaves the grant");
    app.refresh_ok(&client, &refresh).await;
}

async fn revoking_a_refresh_token_revokes_its_whole_family(app: TestApp) {
    let client = app.standard_client().await;
    let (_, first) = app.token_pair(&client).await;
    let (access, refresh, _) = app.refresh_ok(&client, &first).await;
    let (other_access, _) = app.token_pair(&client).await;
    assert_eq!(app.revoke(&client, &refresh, Some("refresh_token")).await.status(), 200);
    assert!(!app.is_active(&access).await && !app.is_active(&refresh).await);
    assert_error(app.refresh(&client, &refresh, None).await, 400, "invalid_grant").await;
    assert!(app.is_active(&other_access).await);
}

async fn unknown_and_damaged_tokens_answer_200(app: TestApp) {
    let client = app.standard_client().await;
    let (access, _) = app.token_pair(&client).await;
    let forged = format!("oat_{}", "A".repeat(49));
    for token in ["not-an-oauthd-token", &access[..20], forged.as_str()] {
        let r = app.revoke(&client, token, None).await;
        assert_eq!(r.status(), 200);
    }
    assert!(app.is_active(&access).await);
}

async fn a_wrong_hint_still_finds_the_token(app: TestApp) {
    let client = app.standard_client().await;
    let (access, refresh) = app.token_pair(&client).await;
    assert_eq!(app.revoke(&client, &access, Some("refresh_token")).await.status(), 200);
    assert!(!app.is_active(&access).await);
    assert_eq!(app.revoke(&client, &refresh, Some("access_token")).await.status(), 200);
    assert!(!app.is_active(&refresh).await);
}

async fn an_unsupported_hint_is_unsupported_token_type(app: TestApp) {
    let client = app.standard_client().await;
    let (access, _) = app.token_pair(&client).await;
    assert_error(app.revoke(&client, &access, Some("id_token")).await, 400, "unsupported_token_type").await;
    assert!(app.is_active(&access).await);
}

async fn a_token_of_another_client_is_refused_and_not_revoked(app: TestApp) {
    let owner = app.standard_client().await;
    let other = app.standard_client().await;
    let (access, refresh) = app.token_pair(&owner).await;
    for token in [&access, &refresh] {
        assert_error(app.revoke(&other, token, None).await, 400, "unauthorized_client").await;
        assert!(app.is_active(token).await);
    }
}

async fn missing_token_and_bad_credentials_are_refused(app: TestApp) {
    let client = app.standard_client().await;
    let (access, _) = app.token_pair(&client).await;
    let r = app.post_raw("/revoke", Some(&basic(&client.id, &client.secret)), String::new()).await;
    assert_error(r, 400, "invalid_request").await;
    let wrong = client.with_secret("wrong-secret-value");
    let r = app.revoke(&wrong, &access, None).await;
    assert!(r.headers().get("www-authenticate").is_some());
    assert_error(r, 401, "invalid_client").await;
    let r = app.post_raw("/revoke", None, form(&[("token", &access)])).await;
    assert_error(r, 401, "invalid_client").await;
    assert!(app.is_active(&access).await);
}

async fn client_secret_post_can_revoke_and_revoking_twice_is_fine(app: TestApp) {
    let client = app.standard_client().await;
    let (access, _) = app.token_pair(&client).await;
    for _ in 0..2 {
        let body = form(&[("token", &access), ("client_id", &client.id), ("client_secret", &client.secret)]);
        assert_eq!(app.post_raw("/revoke", None, body).await.status(), 200);
    }
    assert!(!app.is_active(&access).await);
}
