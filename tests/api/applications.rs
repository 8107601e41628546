//! Users' own applications (issue 14, the console's backend): clients get an owner (`--owner`, the
//! admin API's `owner`), and the self-service rules of `admin::applications` — a user reaches only
//! what they own, gives it only the scopes the operator allows, sees a secret or a token once, and
//! generates tokens that work at /token, /introspect and /revoke with the seed's curl commands.
//! The console's pages call these functions; their browser tests are in console.rs.

use oauthd::admin::applications::{self, ApplicationChanges, ApplicationSpec, Owner, TokenSubject};
use oauthd::admin::AdminError;
use oauthd::config::Settings;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::helpers::{basic, curl, ok, Run, TestApp, TestClient};

on_both_backends!(
    the_cli_and_the_admin_api_give_clients_an_owner_and_list_them_by_owner,
    deleting_a_user_leaves_their_applications_to_the_operator,
    a_user_reaches_only_the_applications_they_own,
    an_application_holds_only_the_scopes_the_operator_allows,
    the_operators_scope_list_is_a_setting with console_scopes_read_write,
    the_console_registers_no_more_than_a_developer_portal_offers,
    a_new_applications_secret_is_shown_once_and_a_regenerated_one_replaces_it,
    tokens_generated_for_the_user_refresh_and_revoke_with_the_seeds_curl_commands,
    tokens_for_the_application_itself_need_the_client_credentials_grant,
    a_disabled_user_can_no_longer_register_or_generate_tokens,
    deleting_an_application_ends_its_tokens_and_is_recorded,
);

fn console_scopes_read_write(s: &mut Settings) {
    s.console.allowed_scopes = vec!["read".into(), "write".into()];
}

fn alice() -> Owner {
    Owner::new("alice", Some([192, 0, 2, 1].into()))
}

/// An application of alice's with the client_credentials and refresh_token grants.
fn service() -> ApplicationSpec {
    ApplicationSpec {
        name: "alice's service".into(),
        grant_types: vec!["client_credentials".into(), "refresh_token".into()],
        ..ApplicationSpec::default()
    }
}

/// Creates `spec` for `owner` and returns its credentials.
async fn register(app: &TestApp, owner: &Owner, spec: ApplicationSpec) -> TestClient {
    let created = applications::create(&app.auth, owner, spec).await.expect("application created");
    let secret = created.client_secret.map(|s| s.expose_secret().to_owned()).unwrap_or_default();
    TestClient { id: created.client.client_id, secret }
}

fn assert_not_found<T>(result: Result<T, AdminError>, client_id: &str) {
    match result.err() {
        Some(AdminError::NotFound(what)) => assert_eq!(what, format!("client {client_id}")),
        other => panic!("expected not found, got {other:?}"),
    }
}

fn assert_invalid<T>(result: Result<T, AdminError>, needle: &str) {
    match result.err() {
        Some(AdminError::Invalid(message)) => assert!(message.contains(needle), "{message}"),
        other => panic!("expected a refusal mentioning {needle:?}, got {other:?}"),
    }
}

fn items(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect()
}

async fn the_cli_and_the_admin_api_give_clients_an_owner_and_list_them_by_owner(app: TestApp) {
    app.create_user("alice", "pw").await;
    let admin = app.admin_api().await;
    let by_cli = app
        .oauthd(&[
            "client",
            "create",
            "--name",
            "cli",
            "--grant-type",
            "client_credentials",
            "--owner",
            "alice",
            "--json",
        ])
        .run_ok()
        .json();
    assert_eq!(by_cli["owner"], "alice");
    let shown = app.oauthd(&["client", "show", by_cli["client_id"].as_str().unwrap()]).run_ok().stdout;
    assert!(shown.contains("owner:                      alice"), "{shown}");
    let refused = app
        .oauthd(&["client", "create", "--name", "x", "--grant-type", "client_credentials", "--owner", "ghost"])
        .run();
    assert!(!refused.success && refused.stderr.contains("\"ghost\" is not a user"), "{}", refused.stderr);

    let body = json!({"name": "api", "grant_types": ["client_credentials"], "owner": "alice"});
    let by_api = ok(admin.post("/clients", body).await, 201).await;
    assert_eq!(by_api["owner"], "alice");
    let body = json!({"name": "api", "grant_types": ["client_credentials"], "owner": "ghost"});
    let refused = ok(admin.post("/clients", body).await, 422).await;
    assert_eq!(refused["error"], "validation_failed");
    let operators = app.machine_client().await;
    assert_eq!(admin.get_ok(&format!("/clients/{}", operators.id)).await["owner"], Value::Null);

    let mut owned = vec![by_cli["client_id"].as_str().unwrap(), by_api["client_id"].as_str().unwrap()];
    owned.sort();
    assert_eq!(items(&admin.get_ok("/clients?owner=alice").await), owned);
    assert!(items(&admin.get_ok("/clients?owner=bob").await).is_empty());
    assert_eq!(items(&admin.get_ok("/clients").await).len(), 4, "the automation client, the machine and alice's two");
}

async fn deleting_a_user_leaves_their_applications_to_the_operator(app: TestApp) {
    app.create_user("alice", "pw").await;
    let client = register(&app, &alice(), service()).await;
    app.oauthd(&["user", "delete", "alice"]).run_ok();
    let shown = app.oauthd(&["client", "show", &client.id, "--json"]).run_ok().json();
    assert_eq!(shown["owner"], Value::Null, "the client stays, owned by nobody");
    // A new alice does not inherit the old one's application.
    app.create_user("alice", "pw").await;
    assert_not_found(applications::find(&app.auth, &alice(), &client.id).await, &client.id);
    // The client itself still works.
    app.client_credentials(&client, "PRODUCTION").await;
}

async fn a_user_reaches_only_the_applications_they_own(app: TestApp) {
    app.create_user("alice", "pw").await;
    app.create_user("bob", "pw").await;
    let bob = Owner::new("bob", None);
    let mine = register(&app, &alice(), service()).await;
    let operators = app.standard_client().await;
    let auth = &app.auth;

    let page = applications::page(auth, &alice(), &Default::default()).await.unwrap();
    assert_eq!(page.items.iter().map(|c| c.client_id.as_str()).collect::<Vec<_>>(), [mine.id.as_str()]);
    assert!(applications::page(auth, &bob, &Default::default()).await.unwrap().items.is_empty());
    assert_eq!(applications::find(auth, &alice(), &mine.id).await.unwrap().owner.as_deref(), Some("alice"));

    // Another user's application and an operator's client answer as an id that does not exist.
    for (owner, id) in [(&bob, &mine.id), (&alice(), &operators.id), (&alice(), &"no-such-client".to_owned())] {
        assert_not_found(applications::find(auth, owner, id).await, id);
        let rename = ApplicationChanges { name: Some("taken".into()), ..ApplicationChanges::default() };
        assert_not_found(applications::update(auth, owner, id, rename).await, id);
        assert_not_found(applications::rotate_secret(auth, owner, id).await, id);
        assert_not_found(applications::issue_tokens(auth, owner, id, TokenSubject::User, &[]).await, id);
        assert_not_found(applications::delete(auth, owner, id).await, id);
    }
    // Nothing of them changed: both still authenticate with their secrets.
    app.client_credentials(&mine, "PRODUCTION").await;
    app.client_credentials(&operators, "PRODUCTION").await;
    assert_eq!(applications::find(auth, &alice(), &mine.id).await.unwrap().name, "alice's service");
}

async fn an_application_holds_only_the_scopes_the_operator_allows(app: TestApp) {
    app.create_user("alice", "pw").await;
    let auth = &app.auth;
    let all = register(&app, &alice(), service()).await;
    let record = applications::find(auth, &alice(), &all.id).await.unwrap();
    assert_eq!(record.scopes, ["PRODUCTION", "SANDBOX"], "all the allowed scopes when none is named");
    assert_eq!(record.default_scopes, record.scopes);

    let sandbox = ApplicationSpec { scopes: vec!["SANDBOX".into()], ..service() };
    let sandbox = register(&app, &alice(), sandbox).await;
    assert_eq!(applications::find(auth, &alice(), &sandbox.id).await.unwrap().scopes, ["SANDBOX"]);

    let admin_scope = auth.settings.admin.scope.clone();
    for scopes in [vec![admin_scope.clone()], vec!["SANDBOX".into(), "billing".into()]] {
        let spec = ApplicationSpec { scopes, ..service() };
        assert_invalid(applications::create(auth, &alice(), spec).await, "only these scopes: PRODUCTION SANDBOX");
    }
    let widen = ApplicationChanges { scopes: Some(vec![admin_scope.clone()]), ..ApplicationChanges::default() };
    assert_invalid(applications::update(auth, &alice(), &sandbox.id, widen).await, "only these scopes");
    let both = ApplicationChanges { scopes: Some(vec!["PRODUCTION SANDBOX".into()]), ..ApplicationChanges::default() };
    let changed = applications::update(auth, &alice(), &sandbox.id, both).await.unwrap();
    assert_eq!(
        (changed.scopes.clone(), changed.default_scopes),
        (changed.scopes, vec!["PRODUCTION".into(), "SANDBOX".into()])
    );

    // Nor can its tokens carry more than the application holds: the admin scope stays out of reach.
    let asked = [admin_scope];
    assert_invalid(applications::issue_tokens(auth, &alice(), &all.id, TokenSubject::User, &asked).await, "scope");
    let r = app.post_token_basic(&all, &[("grant_type", "client_credentials"), ("scope", &asked[0])]).await;
    assert_eq!(r.status(), 400, "invalid_scope at /token too");
}

async fn the_operators_scope_list_is_a_setting(app: TestApp) {
    app.create_user("alice", "pw").await;
    let auth = &app.auth;
    let default = register(&app, &alice(), service()).await;
    assert_eq!(applications::find(auth, &alice(), &default.id).await.unwrap().scopes, ["read", "write"]);
    let spec = ApplicationSpec { scopes: vec!["PRODUCTION".into()], ..service() };
    assert_invalid(applications::create(auth, &alice(), spec).await, "only these scopes: read write");
    // The operator is not bound by it.
    let operators = app.standard_client().await;
    app.client_credentials(&operators, "PRODUCTION").await;
}

async fn the_console_registers_no_more_than_a_developer_portal_offers(app: TestApp) {
    app.create_user("alice", "pw").await;
    let auth = &app.auth;
    let web = ApplicationSpec {
        name: "web".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        redirect_uris: vec!["https://app.example.com/callback".into()],
        ..ApplicationSpec::default()
    };
    let web = register(&app, &alice(), web).await;
    let record = applications::find(auth, &alice(), &web.id).await.unwrap();
    assert!(!web.secret.is_empty(), "a confidential client gets a generated secret");
    assert!(!record.first_party && !record.introspect && record.pkce_required && !record.public);
    assert_eq!(record.redirect_uris, ["https://app.example.com/callback"]);

    let spa = ApplicationSpec {
        name: "spa".into(),
        grant_types: vec!["authorization_code".into()],
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        public: true,
        ..ApplicationSpec::default()
    };
    let spa = register(&app, &alice(), spa).await;
    assert!(spa.secret.is_empty(), "a public client has no secret");
    assert!(applications::find(auth, &alice(), &spa.id).await.unwrap().public);

    // The registration rules are the operator's own (admin::clients), with their messages.
    let public_machine = ApplicationSpec { public: true, ..service() };
    assert_invalid(applications::create(auth, &alice(), public_machine).await, "public client cannot use");
    let no_redirect = ApplicationSpec { grant_types: vec!["authorization_code".into()], ..service() };
    assert_invalid(applications::create(auth, &alice(), no_redirect).await, "redirect-uri");
    let unnamed = ApplicationSpec { name: " ".into(), ..service() };
    assert_invalid(applications::create(auth, &alice(), unnamed).await, "name");
    let edit = ApplicationChanges {
        name: Some("web 2".into()),
        redirect_uris: Some(vec!["ftp://nope".into()]),
        ..ApplicationChanges::default()
    };
    assert_invalid(applications::update(auth, &alice(), &web.id, edit).await, "redirect URI");
    let edit = ApplicationChanges { name: Some("web 2".into()), ..ApplicationChanges::default() };
    assert_eq!(applications::update(auth, &alice(), &web.id, edit).await.unwrap().name, "web 2");
}

async fn a_new_applications_secret_is_shown_once_and_a_regenerated_one_replaces_it(app: TestApp) {
    app.create_user("alice", "pw").await;
    let admin = app.admin_api().await;
    let client = register(&app, &alice(), service()).await;
    assert_eq!(client.secret.len(), 43, "256 random bits");
    app.client_credentials(&client, "PRODUCTION").await;
    // Never shown again: the stored row holds only its argon2id hash, and no view has the secret.
    let shown = admin.get_ok(&format!("/clients/{}", client.id)).await;
    assert!(shown.get("client_secret").is_none() && !shown.to_string().contains(&client.secret));

    let new = applications::rotate_secret(&app.auth, &alice(), &client.id).await.unwrap();
    let new = client.with_secret(new.expose_secret());
    assert_ne!(new.secret, client.secret);
    app.client_credentials(&new, "PRODUCTION").await;
    let old = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(old.status(), 401, "the old secret stops working at once");
    // The console checks a secret typed in for its curl commands as /token does.
    let verify = |secret: &str| {
        let secret = secrecy::SecretString::from(secret.to_owned());
        let auth = app.auth.clone();
        let id = client.id.clone();
        async move { applications::verify_secret(&auth, &alice(), &id, &secret).await.unwrap() }
    };
    assert!(verify(&new.secret).await && !verify(&client.secret).await);
    let bob = Owner::new("bob", None);
    let secret = secrecy::SecretString::from(new.secret.clone());
    assert_not_found(applications::verify_secret(&app.auth, &bob, &client.id, &secret).await, &client.id);

    let events = admin.events("?kind=client_secret_rotated").await;
    assert_eq!(events.len(), 1);
    assert_eq!((&events[0]["actor_type"], &events[0]["actor_id"]), (&json!("user"), &json!("alice")));
    assert_eq!((&events[0]["client_id"], &events[0]["peer_address"]), (&json!(client.id), &json!("192.0.2.1")));
}

async fn tokens_generated_for_the_user_refresh_and_revoke_with_the_seeds_curl_commands(app: TestApp) {
    app.create_user("alice", "pw").await;
    let admin = app.admin_api().await;
    let client = register(&app, &alice(), service()).await;
    let scopes = ["PRODUCTION".to_owned()];
    let issued =
        applications::issue_tokens(&app.auth, &alice(), &client.id, TokenSubject::User, &scopes).await.unwrap();
    let access = issued.access_token.expose_secret().to_owned();
    let refresh = issued.refresh_token.expect("a refresh token").expose_secret().to_owned();
    assert_eq!(issued.scope, "PRODUCTION");
    let gateway = app.resource_server().await;
    let introspected = app.introspect(&gateway, &access).await;
    assert_eq!((&introspected["active"], &introspected["username"]), (&json!(true), &json!("alice")));
    assert_eq!(introspected["client_id"], client.id.as_str());

    // The seed's refresh command, with this application's Basic value and this server's URL.
    let header = format!(
        "Authorization: {}, Content-Type: application/x-www-form-urlencoded",
        basic(&client.id, &client.secret)
    );
    let data = format!("grant_type=refresh_token&refresh_token={refresh}&scope=PRODUCTION");
    let refreshed = curl(&["-k", "-d", &data, "-H", &header, &app.url("/token")]);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let new_access = refreshed.json()["access_token"].as_str().unwrap().to_owned();
    assert!(!app.is_active(&refresh).await, "the refresh token rotated");
    // The seed's revoke command.
    let header = format!("Authorization: {}", basic(&client.id, &client.secret));
    let revoked = curl(&["-k", "-d", &format!("token={new_access}"), "-H", &header, &app.url("/revoke")]);
    assert_eq!(revoked.status, 200);
    assert_eq!(app.introspect(&gateway, &new_access).await["active"], false);

    let events = admin.events("?kind=tokens_issued").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(
        (&event["actor_id"], &event["username"], &event["client_id"]),
        (&json!("alice"), &json!("alice"), &json!(client.id))
    );
    let lookup = ok(admin.post("/tokens/lookup", json!({"token": access})).await, 200).await;
    assert_eq!(event["family_id"], lookup["family_id"], "the event names the new grant family");
    assert!(!event.to_string().contains(&access[4..]) && !event.to_string().contains(&refresh[4..]));
}

async fn tokens_for_the_application_itself_need_the_client_credentials_grant(app: TestApp) {
    app.create_user("alice", "pw").await;
    let auth = &app.auth;
    let client = register(&app, &alice(), service()).await;
    let issued = applications::issue_tokens(auth, &alice(), &client.id, TokenSubject::Application, &[]).await.unwrap();
    assert_eq!(issued.scope, "PRODUCTION SANDBOX", "the application's default scopes");
    let gateway = app.resource_server().await;
    let introspected = app.introspect(&gateway, issued.access_token.expose_secret()).await;
    assert_eq!((&introspected["active"], introspected.get("username")), (&json!(true), None));
    app.refresh_ok(&client, issued.refresh_token.unwrap().expose_secret()).await;

    let spa = ApplicationSpec {
        name: "spa".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        public: true,
        ..ApplicationSpec::default()
    };
    let spa = register(&app, &alice(), spa).await;
    let refused = applications::issue_tokens(auth, &alice(), &spa.id, TokenSubject::Application, &[]).await;
    assert_invalid(refused, "client_credentials");
    // The user's own tokens for a public application: refreshed by client_id alone.
    let issued = applications::issue_tokens(auth, &alice(), &spa.id, TokenSubject::User, &[]).await.unwrap();
    let refresh = issued.refresh_token.unwrap().expose_secret().to_owned();
    let body =
        crate::helpers::form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &spa.id)]);
    assert_eq!(app.post_raw("/token", None, body).await.status(), 200);
}

async fn a_disabled_user_can_no_longer_register_or_generate_tokens(app: TestApp) {
    app.create_user("alice", "pw").await;
    let auth = &app.auth;
    let client = register(&app, &alice(), service()).await;
    app.oauthd(&["user", "disable", "alice"]).run_ok();
    assert_invalid(applications::create(auth, &alice(), service()).await, "disabled");
    for subject in [TokenSubject::User, TokenSubject::Application] {
        assert_invalid(applications::issue_tokens(auth, &alice(), &client.id, subject, &[]).await, "disabled");
    }
}

async fn deleting_an_application_ends_its_tokens_and_is_recorded(app: TestApp) {
    app.create_user("alice", "pw").await;
    let admin = app.admin_api().await;
    let client = register(&app, &alice(), service()).await;
    let issued = applications::issue_tokens(&app.auth, &alice(), &client.id, TokenSubject::User, &[]).await.unwrap();
    let access = issued.access_token.expose_secret().to_owned();
    assert!(app.is_active(&access).await);
    applications::delete(&app.auth, &alice(), &client.id).await.unwrap();
    assert!(!app.is_active(&access).await);
    assert_not_found(applications::find(&app.auth, &alice(), &client.id).await, &client.id);
    let events = admin.events("?kind=client_deleted").await;
    assert_eq!((events.len(), &events[0]["actor_id"]), (1, &json!("alice")));
}
