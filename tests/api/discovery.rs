//! GET /.well-known/oauth-authorization-server (RFC 8414), the /docs it advertises, and the
//! configuration rules for the issuer.

use oauthd::config::Settings;
use serde_json::Value;

use crate::helpers::TestApp;

on_both_backends!(metadata_reflects_the_config_and_every_advertised_endpoint_answers with two_scopes_supported);
on_both_backends!(docs_serve_the_client_guide_and_nothing_internal);

fn two_scopes_supported(s: &mut Settings) {
    s.server.scopes_supported = vec!["PRODUCTION".into(), "SANDBOX".into()];
}

async fn metadata_reflects_the_config_and_every_advertised_endpoint_answers(app: TestApp) {
    let r = app.http.get(app.url("/.well-known/oauth-authorization-server")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["issuer"], app.address.as_str(), "issuer derived from the listener when unset");
    assert_eq!(m["scopes_supported"], serde_json::json!(["PRODUCTION", "SANDBOX"]));
    assert_eq!(
        m["grant_types_supported"],
        serde_json::json!(["authorization_code", "client_credentials", "password", "refresh_token"])
    );
    // The authorization_code grant (RFC 8414 §2, RFC 7636 §6.2, RFC 9207 §3).
    assert_eq!(m["authorization_endpoint"], format!("{}/authorize", app.address));
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(m["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    for key in ["token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"] {
        assert_eq!(m[key], serde_json::json!(["client_secret_basic", "client_secret_post", "none"]), "{key}");
    }
    assert_eq!(
        m["introspection_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"]),
        "public clients do not introspect"
    );
    for key in ["token_endpoint", "revocation_endpoint", "introspection_endpoint"] {
        let url = m[key].as_str().unwrap();
        assert!(url.starts_with(&app.address), "{key} is under the issuer");
        let r = app.http.post(url).header("content-type", "application/x-www-form-urlencoded").send().await.unwrap();
        assert!([400, 401].contains(&r.status().as_u16()), "{key} answers with an OAuth error");
        assert!(r.json::<Value>().await.unwrap()["error"].is_string(), "{key} speaks RFC 6749 JSON");
    }
    let docs = app.http.get(m["service_documentation"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().starts_with("# oauthd: a guide for client developers"));
}

/// /docs is public: it is written for client developers and must not leak the project's insides —
/// source paths, commits, the seed's example credentials, benchmark figures.
async fn docs_serve_the_client_guide_and_nothing_internal(app: TestApp) {
    let r = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/markdown"), "{content_type}");
    let docs = r.text().await.unwrap();
    for internal in [
        "src/",
        "tests/",
        "migrations/",
        "scripts/",
        "BENCHMARKS",
        "SVpzSWk2",
        "Gm0bJ6oWV8fC5OQLLlC6jslACW8a",
        "IZsIi6HDbB5e8VKdZAnUi_fZ3f8a",
    ] {
        assert!(!docs.contains(internal), "/docs mentions {internal:?}");
    }
    if let Some(hash) = commit_hash_near_the_word_commit(&docs) {
        panic!("/docs names a commit: {hash}");
    }
    for endpoint in ["/token", "/revoke", "/introspect"] {
        assert!(docs.contains(endpoint), "/docs does not document {endpoint}");
    }
}

/// A word of 7 to 40 hex digits within three words of "commit" (or "commits", "committed", …).
fn commit_hash_near_the_word_commit(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let is_hash = |w: &str| (7..=40).contains(&w.len()) && w.chars().all(|c| c.is_ascii_hexdigit());
    words.iter().enumerate().filter(|(_, w)| w.to_ascii_lowercase().starts_with("commit")).find_map(|(i, _)| {
        words[i.saturating_sub(3)..(i + 4).min(words.len())].iter().find(|w| is_hash(w)).map(|w| (*w).to_owned())
    })
}

#[test]
fn the_commit_hash_check_finds_what_it_should() {
    assert_eq!(commit_hash_near_the_word_commit("at commit `4fce97c` it passed"), Some("4fce97c".into()));
    assert_eq!(commit_hash_near_the_word_commit("982ba5f (commit)"), Some("982ba5f".into()));
    assert_eq!(commit_hash_near_the_word_commit("Commits: deadbeef0123"), Some("deadbeef0123".into()));
    assert_eq!(commit_hash_near_the_word_commit("every commit is durable; tokens live 3600 s"), None);
    assert_eq!(commit_hash_near_the_word_commit("no such word near 4fce97c here at all, none"), None);
}

#[test]
fn the_issuer_must_be_https_except_on_loopback() {
    let check = |issuer: &str| {
        let mut s = oauthd::config::Settings::default();
        s.server.issuer = Some(issuer.parse()?);
        s.validate().map_err(|e| e.to_string())
    };
    assert!(check("https://auth.example.com").is_ok());
    assert!(check("http://127.0.0.1:8080").is_ok());
    assert!(check("http://localhost:8080").is_ok());
    assert!(check("http://auth.example.com").unwrap_err().contains("server.issuer"));
    assert!(check("https://auth.example.com/?x=1").is_err());
    assert!(check("auth.example.com").is_err());
}
