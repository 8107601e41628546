//! The seed's flow end to end: the operator issues a token pair "through the UI" (`oauthd token
//! issue`), the client gets, refreshes and revokes tokens with the seed's curl commands verbatim
//! (the real `curl` binary, over HTTPS with `-k` as the seed has it), and a dump of the database
//! holds no usable token.

use std::process::Command;

use oauthd::config::Settings;
use serde_json::Value;

use crate::helpers::{curl, try_curl, Backend, Run, TestApp, SEED_BASIC, SEED_CLIENT_ID};

on_both_backends!(
    the_seed_curl_commands_work_verbatim_over_https_with_k with https,
    token_issue_and_token_revoke_work_from_the_command_line,
    a_database_dump_holds_no_usable_token,
);

/// HTTPS with a generated self-signed certificate, which the seed's `curl -k` accepts.
fn https(s: &mut Settings) {
    s.tls.self_signed = true;
}

async fn the_seed_curl_commands_work_verbatim_over_https_with_k(app: TestApp) {
    assert!(app.address.starts_with("https://"));
    app.seed_client().await;
    app.create_user("alice", "correct horse battery staple").await;
    // The seed's /token header, literally: both headers in one -H.
    let token_header = format!("Authorization: Basic {SEED_BASIC}, Content-Type: application/x-www-form-urlencoded");
    let revoke_header = format!("Authorization: Basic {SEED_BASIC}");
    let (token_url, revoke_url) = (app.url("/token"), app.url("/revoke"));

    // The seed's /token command with a client_credentials body.
    let answer = curl(&["-k", "-d", "grant_type=client_credentials&scope=PRODUCTION", "-H", &token_header, &token_url]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert!(body["access_token"].as_str().is_some_and(|t| t.starts_with("oat_")));
    assert_eq!(body["scope"], "PRODUCTION");
    // Without -k, curl refuses the self-signed certificate: TLS really is on.
    assert!(try_curl(&[&app.url("/healthz")]).is_err(), "curl without -k must not trust it");

    // A grant issued by the operator, and one the client got with the password grant.
    let issued = app
        .oauthd(&["token", "issue", "--client-id", SEED_CLIENT_ID, "--scope", "PRODUCTION", "--json"])
        .run_ok()
        .json();
    let data = "grant_type=password&username=alice&password=correct+horse+battery+staple&scope=PRODUCTION";
    let password = curl(&["-k", "-d", data, "-H", &token_header, &token_url]);
    assert_eq!(password.status, 200, "{}", password.body);
    for first in [issued, password.json()] {
        let retoken = first["refresh_token"].as_str().unwrap();

        // curl -k -d "grant_type=refresh_token&refresh_token=<retoken>&scope=PRODUCTION" -H "Authorization: Basic SVpz…, Content-Type: application/x-www-form-urlencoded" https://gateway.api.cloud.wso2.com/token
        let data = format!("grant_type=refresh_token&refresh_token={retoken}&scope=PRODUCTION");
        let refreshed = curl(&["-k", "-d", &data, "-H", &token_header, &token_url]);
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        let refreshed = refreshed.json();
        let access = refreshed["access_token"].as_str().expect("a new access token");
        assert_ne!(refreshed["refresh_token"], first["refresh_token"], "a new refresh token");
        assert_eq!(refreshed["scope"], "PRODUCTION");
        assert!(!app.is_active(retoken).await, "the previous refresh token became inactive");

        // curl -k -d "token=<ACCESS_TOKEN_TO_BE_REVOKED>" -H "Authorization: Basic Base64Encoded(Consumer key:consumer secret)" https://gateway.api.cloud.wso2.com/revoke
        let revoked = curl(&["-k", "-d", &format!("token={access}"), "-H", &revoke_header, &revoke_url]);
        assert_eq!((revoked.status, revoked.body.as_str()), (200, ""), "200 with an empty body");
        assert!(!app.is_active(access).await, "the access token is revoked");
    }
}

async fn token_issue_and_token_revoke_work_from_the_command_line(app: TestApp) {
    app.seed_client().await;
    app.create_user("alice", "pw").await;
    let issued =
        app.oauthd(&["token", "issue", "--client-id", SEED_CLIENT_ID, "--username", "alice", "--json"]).run_ok().json();
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
    let body: Value = app.password_grant(&client, "alice", "pw").await.json().await.unwrap();
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
