//! The seed's flow end to end: the operator issues a token pair "through the UI" (`oauthd token
//! issue`), the client refreshes and revokes with the seed's two curl commands verbatim (the real
//! `curl` binary), and a dump of the database holds no usable token.

use std::process::Command;

use oauthd::admin::clients::ClientSpec;
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{Backend, Run, TestApp};

on_both_backends!(
    the_seed_curl_commands_work_verbatim,
    token_issue_and_token_revoke_work_from_the_command_line,
    a_database_dump_holds_no_usable_token,
);

/// The seed's Basic value decodes to this consumer key and secret.
const SEED_BASIC: &str = "SVpzSWk2SERiQjVlOFZLZFpBblVpX2ZaM2Y4YTpHbTBiSjZvV1Y4ZkM1T1FMTGxDNmpzbEFDVzhh";
const SEED_KEY: &str = "IZsIi6HDbB5e8VKdZAnUi_fZ3f8a";

async fn seed_client(app: &TestApp) {
    app.create_client(ClientSpec {
        client_id: Some(SEED_KEY.into()),
        name: "seed".into(),
        grant_types: vec!["client_credentials".into(), "password".into(), "refresh_token".into()],
        scopes: vec!["PRODUCTION".into(), "SANDBOX".into()],
        secret: Some(SecretString::from("Gm0bJ6oWV8fC5OQLLlC6jslACW8a".to_owned())),
        ..ClientSpec::default()
    })
    .await;
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl").args(args).output().expect("curl is installed");
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn the_seed_curl_commands_work_verbatim(app: TestApp) {
    seed_client(&app).await;
    let issued =
        app.oauthd(&["token", "issue", "--client-id", SEED_KEY, "--scope", "PRODUCTION", "--json"]).run_ok().json();
    let retoken = issued["refresh_token"].as_str().unwrap();
    let host = app.address.trim_start_matches("http://");

    // curl -k -d "grant_type=refresh_token&refresh_token=<retoken>&scope=PRODUCTION" -H "Authorization: Basic SVpz…, Content-Type: application/x-www-form-urlencoded" https://gateway.api.cloud.wso2.com/token
    let data = format!("grant_type=refresh_token&refresh_token={retoken}&scope=PRODUCTION");
    let header = format!("Authorization: Basic {SEED_BASIC}, Content-Type: application/x-www-form-urlencoded");
    let url = format!("http://{host}/token");
    let refreshed: Value = serde_json::from_str(&curl(&["-k", "-d", &data, "-H", &header, &url])).unwrap();
    let access = refreshed["access_token"].as_str().expect("a new access token");
    assert_ne!(refreshed["refresh_token"], issued["refresh_token"], "a new refresh token");
    assert_eq!(refreshed["scope"], "PRODUCTION");
    assert!(!app.is_active(retoken).await, "the previous refresh token became inactive");

    // curl -k -d "token=<ACCESS_TOKEN_TO_BE_REVOKED>" -H "Authorization: Basic Base64Encoded(Consumer key:consumer secret)" https://gateway.api.cloud.wso2.com/revoke
    let data = format!("token={access}");
    let header = format!("Authorization: Basic {SEED_BASIC}");
    let url = format!("http://{host}/revoke");
    assert_eq!(curl(&["-k", "-d", &data, "-H", &header, &url]), "", "200 with an empty body");
    assert!(!app.is_active(access).await, "the access token is revoked");
}

async fn token_issue_and_token_revoke_work_from_the_command_line(app: TestApp) {
    seed_client(&app).await;
    app.create_user("alice", "pw").await;
    let issued =
        app.oauthd(&["token", "issue", "--client-id", SEED_KEY, "--username", "alice", "--json"]).run_ok().json();
    assert_eq!(issued["scope"], "PRODUCTION SANDBOX", "the client's default scopes");
    let access = issued["access_token"].as_str().unwrap();
    let refresh = issued["refresh_token"].as_str().unwrap();
    assert!(app.is_active(access).await && app.is_active(refresh).await);
    assert!(app.oauthd(&["token", "revoke", access]).run_ok().stdout.contains("access token revoked"));
    assert!(!app.is_active(access).await);
    assert!(app.is_active(refresh).await);
    assert!(app.oauthd(&["token", "revoke", refresh]).run_ok().stdout.contains("family"));
    assert!(!app.is_active(refresh).await);
    assert!(app.oauthd(&["token", "revoke", "oat_unknown"]).run_ok().stdout.contains("unknown"));
}

async fn a_database_dump_holds_no_usable_token(app: TestApp) {
    let client = app.standard_client().await;
    app.create_user("alice", "pw").await;
    let mut tokens = Vec::new();
    let (a, r) = app.token_pair(&client).await;
    tokens.extend([a, r.clone()]);
    // A rotation leaves a sealed replay response in the database.
    let (a2, r2, _) = app.refresh_ok(&client, &r).await;
    tokens.extend([a2, r2]);
    let body: Value = app
        .post_token_basic(&client, &[("grant_type", "password"), ("username", "alice"), ("password", "pw")])
        .await
        .json()
        .await
        .unwrap();
    tokens.extend(["access_token", "refresh_token"].map(|k| body[k].as_str().unwrap().to_owned()));

    let dump: Vec<u8> = match app.backend {
        Backend::Postgres => {
            Command::new("pg_dump").args(["--data-only", &app.database_url]).run_ok().stdout.into_bytes()
        }
        Backend::Sqlite => {
            let path = app.database_url.trim_start_matches("sqlite://");
            let mut bytes = std::fs::read(path).unwrap();
            bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            bytes
        }
    };
    assert!(dump.len() > 1000, "the dump has the data");
    let text = String::from_utf8_lossy(&dump).to_lowercase();
    for token in &tokens {
        let hex: String = token.bytes().map(|b| format!("{b:02x}")).collect();
        for needle in [token.to_lowercase(), token[4..20].to_lowercase(), hex[..40].to_owned()] {
            assert!(!text.contains(&needle), "a token is readable in the dump");
        }
    }
    assert!(!text.contains(&client.secret.to_lowercase()));
    for prefix in ["oat_", "ort_"] {
        assert!(!text.contains(prefix), "no token prefix in the dump");
    }
}
