//! Registering clients for the authorization_code grant: redirect URIs, public clients, the PKCE
//! policy and the first-party flag, through the CLI (`oauthd client create|update|show`) and the
//! admin functions behind it, where the rules live.

use oauthd::admin::clients::{self, ClientChanges, ClientSpec};
use oauthd::admin::AdminError;
use oauthd::oauth::authorize::AuthorizeError;
use oauthd::oauth::params::Params;
use serde_json::Value;

use crate::helpers::{Run, TestApp};

on_both_backends!(
    client_create_registers_redirect_uris_and_flags_and_show_lists_them,
    a_public_client_is_created_without_a_secret_and_has_none_to_rotate,
    client_update_replaces_the_redirect_uris_and_changes_pkce_and_first_party,
    registration_refuses_unsafe_redirect_uris_on_create_and_update,
    a_public_client_may_not_use_secret_grants_relax_pkce_introspect_or_import_a_secret,
    the_authorization_code_grant_needs_a_redirect_uri,
);

const WEB: &str = "https://app.example.com/callback";
const NATIVE: &str = "http://127.0.0.1/callback";

fn code_spec() -> ClientSpec {
    ClientSpec {
        name: "app".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["PRODUCTION".into()],
        redirect_uris: vec![WEB.into()],
        ..ClientSpec::default()
    }
}

/// The message of a refused registration.
fn refused<T>(result: Result<T, AdminError>) -> String {
    match result {
        Err(AdminError::Invalid(message)) => message,
        Err(other) => panic!("expected a refusal, got {other}"),
        Ok(_) => panic!("expected a refusal, got a registration"),
    }
}

/// `oauthd client create --grant-type authorization_code --grant-type refresh_token ARGS --json`.
fn create(app: &TestApp, args: &[&str]) -> Value {
    app.oauthd(&["client", "create", "--name", "app", "--grant-type", "authorization_code"])
        .args(["--grant-type", "refresh_token", "--scope", "PRODUCTION", "--json"])
        .args(args)
        .run_ok()
        .json()
}

/// Whether an authorization request of `client_id` to `redirect_uri` gets past the redirect URI.
async fn trusts(app: &TestApp, client_id: &str, redirect_uri: &str) -> bool {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let params = Params::parse(query.as_bytes()).unwrap();
    !matches!(app.auth.authorization_request(&params).await, Err(AuthorizeError::Untrusted(_)))
}

async fn client_create_registers_redirect_uris_and_flags_and_show_lists_them(app: TestApp) {
    let created = create(&app, &["--redirect-uri", WEB, "--redirect-uri", NATIVE, "--first-party"]);
    assert_eq!(created["redirect_uris"], serde_json::json!([WEB, NATIVE]));
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(created["pkce_required"], true, "PKCE is required by default");
    assert_eq!(created["first_party"], true);
    assert!(created["client_secret"].as_str().is_some_and(|s| s.len() >= 43));
    let id = created["client_id"].as_str().unwrap();

    let shown = app.oauthd(&["client", "show", id, "--json"]).run_ok().json();
    assert_eq!(shown["redirect_uris"], serde_json::json!([WEB, NATIVE]));
    assert_eq!(shown["grant_types"], serde_json::json!(["authorization_code", "refresh_token"]));
    let text = app.oauthd(&["client", "show", id]).run_ok().stdout;
    assert!(text.contains(&format!("redirect_uris:              {WEB} {NATIVE}")), "{text}");
    assert!(text.contains("first_party:                true"), "{text}");
    let listed = app.oauthd(&["client", "list", "--json"]).run_ok().json();
    assert_eq!(listed[0]["redirect_uris"], serde_json::json!([WEB, NATIVE]));

    let relaxed = create(&app, &["--redirect-uri", WEB, "--pkce", "optional", "--first-party", "off"]);
    assert_eq!((relaxed["pkce_required"].as_bool(), relaxed["first_party"].as_bool()), (Some(false), Some(false)));
    assert!(trusts(&app, id, "http://127.0.0.1:40123/callback").await, "a loopback URI matches any port");
}

async fn a_public_client_is_created_without_a_secret_and_has_none_to_rotate(app: TestApp) {
    let created = create(&app, &["--public", "--redirect-uri", NATIVE]);
    assert_eq!(created["token_endpoint_auth_method"], "none");
    assert_eq!(created["pkce_required"], true);
    assert!(created.get("client_secret").is_none(), "{created}");
    let id = created["client_id"].as_str().unwrap();
    let text = app
        .oauthd(&["client", "create", "--name", "cli", "--grant-type", "authorization_code", "--public"])
        .args(["--redirect-uri", NATIVE])
        .run_ok()
        .stdout;
    assert!(text.contains("public client") && !text.contains("client_secret:"), "{text}");
    let rotated = app.oauthd(&["client", "rotate-secret", id]).run();
    assert!(!rotated.success && rotated.stderr.contains("public"), "{}", rotated.stderr);
}

async fn client_update_replaces_the_redirect_uris_and_changes_pkce_and_first_party(app: TestApp) {
    let created = create(&app, &["--redirect-uri", WEB, "--redirect-uri", NATIVE]);
    let id = created["client_id"].as_str().unwrap();
    assert!(trusts(&app, id, WEB).await);
    let other = "https://other.example.com/cb";
    let updated = app
        .oauthd(&["client", "update", id, "--redirect-uri", other, "--pkce", "optional", "--first-party", "on"])
        .arg("--json")
        .run_ok()
        .json();
    assert_eq!(updated["redirect_uris"], serde_json::json!([other]), "the list is replaced");
    assert_eq!((updated["pkce_required"].as_bool(), updated["first_party"].as_bool()), (Some(false), Some(true)));
    app.await_client_change(id).await;
    assert!(!trusts(&app, id, WEB).await, "a URI no longer registered is untrusted at once");
    assert!(trusts(&app, id, other).await);
    // Other changes leave the list alone.
    let renamed = app.oauthd(&["client", "update", id, "--name", "renamed", "--json"]).run_ok().json();
    assert_eq!(renamed["redirect_uris"], serde_json::json!([other]));
}

async fn registration_refuses_unsafe_redirect_uris_on_create_and_update(app: TestApp) {
    for (uri, why) in [
        ("https://app.example.com/cb#section", "fragment"),
        ("http://app.example.com/cb", "https"),
        ("http://localhost:8080/cb", "127.0.0.1"),
        ("https://*.example.com/cb", "wildcard"),
        ("/callback", "absolute"),
        ("com.example.app:/callback", "https"),
    ] {
        let spec = ClientSpec { redirect_uris: vec![WEB.into(), uri.into()], ..code_spec() };
        let message = refused(clients::create(&app.auth, spec).await);
        assert!(message.contains(why) && message.contains(uri), "{uri}: {message}");
    }
    let id = app.create_client(code_spec()).await.id;
    let changes = ClientChanges { redirect_uris: Some(vec!["http://app.example.com/cb".into()]), ..Default::default() };
    refused(clients::update(&app.auth, &id, changes).await);
    assert_eq!(clients::find(&app.auth, &id).await.unwrap().redirect_uris, vec![WEB.to_owned()], "unchanged");
    let cli = app.oauthd(&["client", "update", &id, "--redirect-uri", "http://localhost/cb"]).run();
    assert!(!cli.success && cli.stderr.contains("127.0.0.1"), "{}", cli.stderr);
    let cli = create_refused(&app, &["--redirect-uri", "https://app.example.com/cb#x"]);
    assert!(cli.contains("fragment"), "{cli}");
}

fn create_refused(app: &TestApp, args: &[&str]) -> String {
    let ran = app.oauthd(&["client", "create", "--name", "app", "--grant-type", "authorization_code"]).args(args).run();
    assert!(!ran.success, "{}", ran.stdout);
    ran.stderr
}

async fn a_public_client_may_not_use_secret_grants_relax_pkce_introspect_or_import_a_secret(app: TestApp) {
    let public = || ClientSpec { public: true, ..code_spec() };
    for grant in ["client_credentials", "password"] {
        let spec = ClientSpec { grant_types: vec!["authorization_code".into(), grant.into()], ..public() };
        assert!(refused(clients::create(&app.auth, spec).await).contains(grant));
    }
    assert!(refused(clients::create(&app.auth, ClientSpec { pkce_optional: true, ..public() }).await).contains("PKCE"));
    assert!(
        refused(clients::create(&app.auth, ClientSpec { introspect: true, ..public() }).await).contains("introspect")
    );
    let secret = Some(secrecy::SecretString::from("an-imported-secret-0123456789".to_owned()));
    assert!(refused(clients::create(&app.auth, ClientSpec { secret, ..public() }).await).contains("secret"));
    let cli = create_refused(&app, &["--public", "--grant-type", "password", "--redirect-uri", WEB]);
    assert!(cli.contains("password"), "{cli}");

    let id = app.create_client(public()).await.id;
    let add_password =
        ClientChanges { grant_types: Some(vec!["authorization_code".into(), "password".into()]), ..Default::default() };
    refused(clients::update(&app.auth, &id, add_password).await);
    refused(clients::update(&app.auth, &id, ClientChanges { pkce_required: Some(false), ..Default::default() }).await);
    refused(clients::update(&app.auth, &id, ClientChanges { introspect: Some(true), ..Default::default() }).await);
    let kept = clients::find(&app.auth, &id).await.unwrap();
    assert!(kept.public && kept.pkce_required && !kept.introspect);
    assert_eq!(kept.grant_types.len(), 2, "unchanged: {:?}", kept.grant_types);
}

async fn the_authorization_code_grant_needs_a_redirect_uri(app: TestApp) {
    let message = refused(clients::create(&app.auth, ClientSpec { redirect_uris: vec![], ..code_spec() }).await);
    assert!(message.contains("--redirect-uri"), "{message}");
    let machine = app.machine_client().await;
    let add_code = ClientChanges {
        grant_types: Some(vec!["client_credentials".into(), "authorization_code".into()]),
        ..Default::default()
    };
    refused(clients::update(&app.auth, &machine.id, add_code.clone()).await);
    let with_uri = ClientChanges { redirect_uris: Some(vec![WEB.into()]), ..add_code };
    let updated = clients::update(&app.auth, &machine.id, with_uri).await.unwrap();
    assert_eq!(updated.redirect_uris, vec![WEB.to_owned()]);
}
