//! Client authentication at /token (RFC 6749 §2.3.1, §5.2), including the seed's combined header.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use oauthd::admin::clients::ClientSpec;
use secrecy::SecretString;

use crate::helpers::{
    assert_error, basic, form, machine_spec, TestApp, TestClient, SEED_BASIC, SEED_CLIENT_ID, SEED_CLIENT_SECRET,
};

on_both_backends!(
    the_seed_literal_header_with_both_headers_in_one_authenticates,
    the_combined_header_works_with_padded_and_unpadded_base64,
    basic_and_client_secret_post_together_are_invalid_request,
    no_credentials_is_invalid_client_with_a_basic_challenge,
    a_wrong_secret_is_invalid_client,
    an_unknown_client_is_invalid_client,
    special_characters_in_client_id_and_secret_are_form_encoded,
    malformed_basic_credentials_are_invalid_client,
    basic_credentials_followed_by_junk_are_invalid_client,
    several_authorization_headers_are_invalid_request,
);

async fn the_seed_literal_header_with_both_headers_in_one_authenticates(app: TestApp) {
    assert_eq!(basic(SEED_CLIENT_ID, SEED_CLIENT_SECRET), format!("Basic {SEED_BASIC}"), "the seed's credentials");
    app.seed_client().await;
    let header = format!("Basic {SEED_BASIC}, Content-Type: application/x-www-form-urlencoded");
    let r = app.post_raw("/token", Some(&header), "grant_type=client_credentials&scope=PRODUCTION".into()).await;
    assert_eq!(r.status(), 200);
}

async fn the_combined_header_works_with_padded_and_unpadded_base64(app: TestApp) {
    // 16 + 1 + 43 = 60 bytes would need no padding; pick an id so the credentials need some.
    let client = app.create_client(ClientSpec { client_id: Some("pad-me".into()), ..machine_spec() }).await;
    let raw = format!("{}:{}", client.id, client.secret);
    let padded = STANDARD.encode(&raw);
    let unpadded = STANDARD_NO_PAD.encode(&raw);
    assert_ne!(padded, unpadded, "the test needs credentials whose base64 is padded");
    for b64 in [padded, unpadded] {
        let header = format!("Basic {b64}, Content-Type: application/x-www-form-urlencoded");
        let r = app.post_raw("/token", Some(&header), "grant_type=client_credentials".into()).await;
        assert_eq!(r.status(), 200, "{header}");
    }
}

async fn basic_and_client_secret_post_together_are_invalid_request(app: TestApp) {
    let client = app.standard_client().await;
    let body =
        form(&[("grant_type", "client_credentials"), ("client_id", &client.id), ("client_secret", &client.secret)]);
    let r = app.post_raw("/token", Some(&basic(&client.id, &client.secret)), body).await;
    assert_error(r, 400, "invalid_request").await;
}

async fn no_credentials_is_invalid_client_with_a_basic_challenge(app: TestApp) {
    let r = app.post_raw("/token", None, "grant_type=client_credentials".into()).await;
    assert!(r.headers().get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Basic")));
    assert_error(r, 401, "invalid_client").await;
}

async fn a_wrong_secret_is_invalid_client(app: TestApp) {
    let client = app.standard_client().await;
    let wrong = client.with_secret(&format!("{}x", client.secret));
    let r = app.post_token_basic(&wrong, &[("grant_type", "client_credentials")]).await;
    assert!(r.headers().get("www-authenticate").is_some(), "RFC 6749 §5.2: Basic was used, so 401 with a challenge");
    let body = assert_error(r, 401, "invalid_client").await;
    assert!(!body.to_string().contains(&wrong.secret), "the answer must not echo the secret");
    let r = app.post_token_post(&wrong, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
}

async fn an_unknown_client_is_invalid_client(app: TestApp) {
    let ghost = TestClient { id: "ghost".into(), secret: "whatever-secret-value".into() };
    let r = app.post_token_basic(&ghost, &[("grant_type", "client_credentials")]).await;
    assert_error(r, 401, "invalid_client").await;
}

async fn special_characters_in_client_id_and_secret_are_form_encoded(app: TestApp) {
    let client = app
        .create_client(ClientSpec {
            client_id: Some("svc:billing/ops+1 %x".into()),
            secret: Some(SecretString::from("p@ss:w0rd&=+% ~\"quoted\"".to_owned())),
            ..machine_spec()
        })
        .await;
    let r = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status(), 200, "Basic with RFC 6749 §2.3.1 form-encoding");
    let r = app.post_token_post(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status(), 200, "client_secret_post");
}

async fn malformed_basic_credentials_are_invalid_client(app: TestApp) {
    for header in [
        "Basic !!!not-base64!!!",
        "Basic",
        "Basic Zm9v",
        "Bearer oat_x",
        &format!("Basic {}", STANDARD.encode(":secret")),
    ] {
        let r = app.post_raw("/token", Some(header), "grant_type=client_credentials".into()).await;
        assert_error(r, 401, "invalid_client").await;
    }
}

async fn basic_credentials_followed_by_junk_are_invalid_client(app: TestApp) {
    app.seed_client().await;
    let body = || "grant_type=client_credentials&scope=PRODUCTION".to_owned();
    for junk in ["junk", "X junk", ", junk", "Basic Zm9vOmJhcg=="] {
        let header = format!("Basic {SEED_BASIC} {junk}");
        let r = app.post_raw("/token", Some(&header), body()).await;
        assert!(r.headers().get("www-authenticate").is_some(), "{junk}");
        assert_error(r, 401, "invalid_client").await;
    }
    // The seed's header, a second header folded in after a comma, still authenticates.
    let seed = format!("Basic {SEED_BASIC}, Content-Type: application/x-www-form-urlencoded");
    assert_eq!(app.post_raw("/token", Some(&seed), body()).await.status(), 200);
}

async fn several_authorization_headers_are_invalid_request(app: TestApp) {
    let client = app.seed_client().await;
    let r = app
        .http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic(&client.id, &client.secret))
        .header("authorization", basic("someone-else", "secret"))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let body = assert_error(r, 400, "invalid_request").await;
    assert!(body["error_description"].as_str().unwrap().contains("Authorization"), "{body}");
}
