//! GET /.well-known/oauth-authorization-server (RFC 8414) and the configuration rules for the issuer.

use oauthd::config::Settings;
use serde_json::Value;

use crate::helpers::TestApp;

on_both_backends!(metadata_reflects_the_config_and_every_advertised_endpoint_answers with two_scopes_supported);

fn two_scopes_supported(s: &mut Settings) {
    s.server.scopes_supported = vec!["PRODUCTION".into(), "SANDBOX".into()];
}

async fn metadata_reflects_the_config_and_every_advertised_endpoint_answers(app: TestApp) {
    let r = app.http.get(app.url("/.well-known/oauth-authorization-server")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["issuer"], app.address.as_str(), "issuer derived from the listener when unset");
    assert_eq!(m["scopes_supported"], serde_json::json!(["PRODUCTION", "SANDBOX"]));
    assert_eq!(m["grant_types_supported"], serde_json::json!(["client_credentials", "password", "refresh_token"]));
    assert_eq!(m["response_types_supported"], serde_json::json!([]));
    for key in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        assert_eq!(m[key], serde_json::json!(["client_secret_basic", "client_secret_post"]), "{key}");
    }
    for key in ["token_endpoint", "revocation_endpoint", "introspection_endpoint"] {
        let url = m[key].as_str().unwrap();
        assert!(url.starts_with(&app.address), "{key} is under the issuer");
        let r = app.http.post(url).header("content-type", "application/x-www-form-urlencoded").send().await.unwrap();
        assert!([400, 401].contains(&r.status().as_u16()), "{key} answers with an OAuth error");
        assert!(r.json::<Value>().await.unwrap()["error"].is_string(), "{key} speaks RFC 6749 JSON");
    }
    let docs = app.http.get(m["service_documentation"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("# oauthd"));
}

#[test]
fn the_issuer_must_be_https_except_on_loopback() {
    let check = |issuer: &str| {
        let mut s = oauthd::config::Settings::default();
        s.server.issuer = issuer.into();
        s.validate().map_err(|e| e.to_string())
    };
    assert!(check("https://auth.example.com").is_ok());
    assert!(check("http://127.0.0.1:8080").is_ok());
    assert!(check("http://localhost:8080").is_ok());
    assert!(check("http://auth.example.com").unwrap_err().contains("server.issuer"));
    assert!(check("https://auth.example.com/?x=1").is_err());
    assert!(check("auth.example.com").is_err());
}
