//! The user console's pages over HTTP, as a browser without JavaScript uses them (`Visitor`):
//! sign-in required, CSRF on every form, a user's own applications only, the key and secret shown
//! once, tokens generated with the seed's curl commands — which run as displayed — and the
//! authorized applications and sessions a user can end. The browser test in Chromium is at the end.

use serde_json::json;

use crate::helpers::{curl, ok, Page, TestApp, Visitor};

on_both_backends!(
    the_console_needs_a_signed_in_user,
    every_console_form_needs_the_sessions_csrf_token,
    a_user_registers_an_application_and_sees_its_secret_only_once,
    a_refused_registration_is_shown_on_the_form_with_what_was_typed,
    generated_tokens_come_with_the_seeds_commands_and_they_run_as_displayed,
    a_public_applications_commands_name_it_in_the_body,
    regenerating_the_secret_shows_the_new_one_once,
    an_application_is_edited_and_deleted_from_its_page,
    a_user_cannot_see_or_touch_another_users_applications,
    revoking_an_authorized_application_ends_its_tokens_and_forgets_the_consent,
    a_user_sees_their_sessions_and_ends_another_one,
);

/// The value of the input or textarea with `id` on `page`, unescaped.
fn field(page: &Page, id: &str) -> String {
    let at = page.body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {}", page.body));
    let tag = &page.body[page.body[..at].rfind('<').unwrap()..];
    let value = if tag.starts_with("<textarea") {
        &tag[tag.find('>').unwrap() + 1..tag.find("</textarea>").unwrap()]
    } else {
        let start = tag.find("value=\"").unwrap() + "value=\"".len();
        &tag[start..start + tag[start..].find('"').unwrap()]
    };
    value
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Splits a displayed command into its arguments, as a shell would (words, and double-quoted
/// strings without their quotes; the console's commands use nothing else).
fn shell_words(command: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in command.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\n' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Runs a displayed `curl …` command with the real curl.
fn run(command: &str) -> crate::helpers::CurlAnswer {
    let words = shell_words(command);
    assert_eq!(words[0], "curl", "{command}");
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    curl(&args)
}

/// Registers an application from the console's form; returns the page showing key and secret.
async fn register(visitor: &mut Visitor<'_>, pairs: &[(&str, &str)]) -> Page {
    let form = visitor.get("/console/applications/new").await;
    assert_eq!(form.status, 200, "{form:?}");
    visitor.submit(&form, "/console/applications", pairs).await
}

const SERVICE: &[(&str, &str)] = &[
    ("name", "billing"),
    ("grant_type", "client_credentials"),
    ("grant_type", "refresh_token"),
    ("scope", "PRODUCTION"),
    ("scope", "SANDBOX"),
    ("redirect_uris", ""),
];

async fn signed_in_alice(app: &TestApp) -> Visitor<'_> {
    app.create_user("alice", "alice-password").await;
    app.signed_in("alice", "alice-password").await
}

async fn the_console_needs_a_signed_in_user(app: TestApp) {
    let mut anonymous = app.visitor();
    for path in
        ["/console", "/console/applications", "/console/applications/new", "/console/authorized", "/console/sessions"]
    {
        let page = anonymous.get(path).await;
        let location = page.redirected();
        assert!(location.starts_with("/login?return_to="), "{path}: {location}");
    }
    let mut alice = signed_in_alice(&app).await;
    let page = alice.get("/console").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Your applications") && page.body.contains("Register an application"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
}

async fn every_console_form_needs_the_sessions_csrf_token(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let created = register(&mut alice, SERVICE).await;
    let id = field(&created, "client_id");
    for path in [
        "/console/applications".to_owned(),
        format!("/console/applications/{id}"),
        format!("/console/applications/{id}/secret"),
        format!("/console/applications/{id}/tokens"),
        format!("/console/applications/{id}/delete"),
    ] {
        for csrf in [None, Some("forged")] {
            let mut pairs = vec![("name", "x")];
            if let Some(token) = csrf {
                pairs.push(("csrf", token));
            }
            assert_eq!(alice.post(&path, &pairs).await.status, 403, "{path} with {csrf:?}");
        }
    }
    // Nothing happened: the application and its secret are as they were.
    let secret = field(&created, "client_secret");
    app.client_credentials(&crate::helpers::TestClient { id, secret }, "PRODUCTION").await;
}

async fn a_user_registers_an_application_and_sees_its_secret_only_once(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let empty = alice.get("/console/applications").await;
    assert!(empty.body.contains("You have no applications yet"));
    let created = register(&mut alice, SERVICE).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(created.body.contains("shown only this once"), "the warning");
    let client =
        crate::helpers::TestClient { id: field(&created, "client_id"), secret: field(&created, "client_secret") };
    assert_eq!(client.secret.len(), 43);
    // The key and secret on the page are the application's.
    let tokens = app.client_credentials(&client, "PRODUCTION").await;
    assert_eq!(tokens["scope"], "PRODUCTION");

    let list = alice.get("/console/applications").await;
    assert!(list.body.contains("billing") && list.body.contains(&client.id));
    let shown = alice.get(&format!("/console/applications/{}", client.id)).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains(&client.id));
    for page in [&list, &shown] {
        assert!(!page.body.contains(&client.secret), "the secret is never shown again");
    }
    let admin = app.admin_api().await;
    assert_eq!(admin.get_ok(&format!("/clients/{}", client.id)).await["owner"], "alice");
}

async fn a_refused_registration_is_shown_on_the_form_with_what_was_typed(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let admin_scope = app.auth.settings.admin.scope.clone();
    let refused = register(
        &mut alice,
        &[("name", "sneaky"), ("grant_type", "client_credentials"), ("scope", &admin_scope), ("redirect_uris", "")],
    )
    .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("may hold only these scopes"), "{}", refused.body);
    assert!(refused.body.contains("value=\"sneaky\""), "the name typed is kept");
    let refused = register(&mut alice, &[("name", "web"), ("grant_type", "authorization_code")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("redirect-uri"), "{}", refused.body);
    assert!(alice.get("/console/applications").await.body.contains("You have no applications yet"));
}

async fn generated_tokens_come_with_the_seeds_commands_and_they_run_as_displayed(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let created = register(&mut alice, SERVICE).await;
    let (id, secret) = (field(&created, "client_id"), field(&created, "client_secret"));
    let page = alice.get(&format!("/console/applications/{id}")).await;
    let path = format!("/console/applications/{id}/tokens");
    let wrong =
        alice.submit(&page, &path, &[("subject", "user"), ("scope", "PRODUCTION"), ("client_secret", "nope")]).await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains("not this application&#39;s current secret")
            || wrong.body.contains("not this application's current secret")
    );

    let tokens =
        alice.submit(&page, &path, &[("subject", "user"), ("scope", "PRODUCTION"), ("client_secret", &secret)]).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    assert!(tokens.body.contains("shown only this once"));
    let access = field(&tokens, "access_token");
    let refresh = field(&tokens, "refresh_token");
    let gateway = app.resource_server().await;
    let introspected = app.introspect(&gateway, &access).await;
    assert_eq!((&introspected["username"], &introspected["scope"]), (&json!("alice"), &json!("PRODUCTION")));

    // The refresh command, as displayed: this server's URL, the Basic value already encoded.
    let command = field(&tokens, "refresh_command");
    assert!(command.contains(&app.url("/token")) && command.contains(&refresh), "{command}");
    assert!(command.contains(&crate::helpers::basic(&id, &secret)), "{command}");
    let refreshed = run(&command);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let new_access = refreshed.json()["access_token"].as_str().unwrap().to_owned();
    assert!(!app.is_active(&refresh).await, "rotated");
    // The revoke command revokes the access token it was shown with.
    let revoked = run(&field(&tokens, "revoke_command"));
    assert_eq!(revoked.status, 200);
    assert!(!app.is_active(&access).await);
    assert!(app.is_active(&new_access).await);

    // Without the secret the commands carry the seed's placeholder; tokens for the app itself.
    let own = alice.submit(&page, &path, &[("subject", "application"), ("scope", "SANDBOX")]).await;
    assert_eq!(own.status, 200);
    assert!(field(&own, "refresh_command").contains("Base64Encoded(Consumer key:consumer secret)"));
    let introspected = app.introspect(&gateway, &field(&own, "access_token")).await;
    assert_eq!((&introspected["scope"], introspected.get("username")), (&json!("SANDBOX"), None));
    let admin = app.admin_api().await;
    assert_eq!(admin.events("?kind=tokens_issued").await.len(), 2);
}

async fn a_public_applications_commands_name_it_in_the_body(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let created = register(
        &mut alice,
        &[
            ("name", "spa"),
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
            ("redirect_uris", "http://127.0.0.1/callback"),
            ("public", "on"),
        ],
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(!created.body.contains("id=\"client_secret\""), "a public application has no secret");
    let id = field(&created, "client_id");
    let page = alice.get(&format!("/console/applications/{id}")).await;
    assert!(!page.body.contains("The application itself"), "no client_credentials: no tokens for itself");
    let tokens = alice.submit(&page, &format!("/console/applications/{id}/tokens"), &[("subject", "user")]).await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let command = field(&tokens, "refresh_command");
    assert!(command.contains(&format!("client_id={id}")) && !command.contains("Authorization"), "{command}");
    assert_eq!(run(&command).status, 200);
}

async fn regenerating_the_secret_shows_the_new_one_once(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let created = register(&mut alice, SERVICE).await;
    let old = crate::helpers::TestClient { id: field(&created, "client_id"), secret: field(&created, "client_secret") };
    let page = alice.get(&format!("/console/applications/{}", old.id)).await;
    let rotated = alice.submit(&page, &format!("/console/applications/{}/secret", old.id), &[]).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    assert!(rotated.body.contains("previous secret has stopped working"));
    let new = old.with_secret(&field(&rotated, "client_secret"));
    app.client_credentials(&new, "PRODUCTION").await;
    let refused = app.post_token_basic(&old, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status(), 401);
    let admin = app.admin_api().await;
    let events = admin.events("?kind=client_secret_rotated").await;
    assert_eq!((&events[0]["actor_type"], &events[0]["actor_id"]), (&json!("user"), &json!("alice")));
    assert_eq!(events[0]["peer_address"], "127.0.0.1", "the address the user acted from");
}

async fn an_application_is_edited_and_deleted_from_its_page(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let created = register(&mut alice, SERVICE).await;
    let id = field(&created, "client_id");
    let path = format!("/console/applications/{id}");
    let page = alice.get(&path).await;
    let edit = [
        ("name", "billing v2"),
        ("grant_type", "authorization_code"),
        ("grant_type", "refresh_token"),
        ("redirect_uris", "https://billing.example.com/cb\r\nhttps://billing.example.com/cb2"),
        ("scope", "SANDBOX"),
    ];
    let saved = alice.submit(&page, &path, &edit).await;
    assert_eq!(saved.redirected(), format!("{path}?saved"));
    assert!(alice.follow(&saved).await.body.contains("Saved."));
    let admin = app.admin_api().await;
    let shown = admin.get_ok(&format!("/clients/{id}")).await;
    assert_eq!(shown["name"], "billing v2");
    assert_eq!(shown["scopes"], json!(["SANDBOX"]));
    assert_eq!(shown["redirect_uris"], json!(["https://billing.example.com/cb", "https://billing.example.com/cb2"]));
    let refused = alice.submit(&page, &path, &[("name", "x"), ("grant_type", "implicit")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("unknown grant type"));

    let deleted = alice.submit(&page, &format!("{path}/delete"), &[]).await;
    assert_eq!(deleted.redirected(), "/console/applications");
    assert_eq!(alice.get(&path).await.status, 404);
    ok(admin.get(&format!("/clients/{id}")).await, 404).await;
}

async fn a_user_cannot_see_or_touch_another_users_applications(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let created = register(&mut alice, SERVICE).await;
    let client =
        crate::helpers::TestClient { id: field(&created, "client_id"), secret: field(&created, "client_secret") };
    app.create_user("bob", "bob-password").await;
    let mut bob = app.signed_in("bob", "bob-password").await;
    let list = bob.get("/console/applications").await;
    assert!(!list.body.contains(&client.id) && list.body.contains("You have no applications yet"));
    let path = format!("/console/applications/{}", client.id);
    let unknown = bob.get("/console/applications/no-such-application").await;
    let theirs = bob.get(&path).await;
    assert_eq!((theirs.status.as_u16(), unknown.status.as_u16()), (404, 404));
    assert!(!theirs.body.contains("billing"), "nothing of it is shown");
    // With bob's own valid CSRF token, every action on it is not found and changes nothing.
    let own = bob.get("/console/applications/new").await;
    for action in ["", "/secret", "/tokens", "/delete"] {
        let answer = bob.submit(&own, &format!("{path}{action}"), &[("name", "mine now"), ("subject", "user")]).await;
        assert_eq!(answer.status, 404, "{action}");
    }
    app.client_credentials(&client, "PRODUCTION").await;
    assert!(alice.get(&path).await.body.contains("billing"));
}

async fn revoking_an_authorized_application_ends_its_tokens_and_forgets_the_consent(app: TestApp) {
    let mut alice = signed_in_alice(&app).await;
    let client = app
        .create_client(oauthd::admin::clients::ClientSpec {
            name: "Photo printer".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: vec!["PRODUCTION".into()],
            redirect_uris: vec!["https://printer.example.com/cb".into()],
            pkce_optional: true,
            ..Default::default()
        })
        .await;
    let none = alice.get("/console/authorized").await;
    assert!(none.body.contains("You have not authorized any application"));
    // Alice allows it on the consent page, and it exchanges the code.
    let query = crate::helpers::form(&[
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", "https://printer.example.com/cb"),
        ("scope", "PRODUCTION"),
    ]);
    let code = alice.allow(&query).await;
    let exchange =
        [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "https://printer.example.com/cb")];
    let tokens: serde_json::Value = app.post_token_basic(&client, &exchange).await.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let page = alice.get("/console/authorized").await;
    assert!(page.body.contains("Photo printer") && page.body.contains("PRODUCTION"), "{}", page.body);
    assert!(!page.body.contains("Last used</dt><dd>—"), "the exchange is its last use");
    let revoked = alice.submit(&page, &format!("/console/authorized/{}/revoke", client.id), &[]).await;
    assert_eq!(revoked.redirected(), "/console/authorized");
    assert!(!app.is_active(&access).await && !app.is_active(&refresh).await, "its grant ended");
    assert!(alice.get("/console/authorized").await.body.contains("You have not authorized any application"));
    // Forgotten: the client must ask again.
    let again = alice.get(&format!("/authorize?{query}")).await;
    assert_eq!(again.status, 200, "the consent page again, not a code");
    let admin = app.admin_api().await;
    let events = admin.events("?kind=consent_revoked").await;
    assert_eq!(
        (events.len(), &events[0]["username"], &events[0]["client_id"]),
        (1, &json!("alice"), &json!(client.id))
    );
    // Nobody else's consent can be withdrawn: not found.
    let missing = alice.submit(&page, &format!("/console/authorized/{}/revoke", client.id), &[]).await;
    assert_eq!(missing.status, 404);
}

async fn a_user_sees_their_sessions_and_ends_another_one(app: TestApp) {
    let mut here = signed_in_alice(&app).await;
    let mut there = app.signed_in("alice", "alice-password").await;
    app.create_user("bob", "bob-password").await;
    let mut bob = app.signed_in("bob", "bob-password").await;
    let page = here.get("/console/sessions").await;
    assert_eq!(page.status, 200);
    let ends: Vec<&str> = page.body.match_indices("/console/sessions/").map(|(i, _)| &page.body[i..i + 86]).collect();
    assert_eq!(ends.len(), 2, "alice's two sessions, not bob's: {}", page.body);
    assert_eq!(page.body.matches("(this browser)").count(), 1);
    // Bob cannot end alice's sessions: not found.
    let bobs_page = bob.get("/console/sessions").await;
    for end in &ends {
        assert_eq!(bob.submit(&bobs_page, end, &[]).await.status, 404);
    }
    assert_eq!(there.get("/console/sessions").await.status, 200, "still signed in there");
    // Alice ends the other one (the one not marked as this browser).
    let other = ends.iter().find(|end| {
        let at = page.body.find(*end).unwrap();
        !page.body[..at].rsplit("<li>").next().unwrap().contains("(this browser)")
    });
    let ended = here.submit(&page, other.unwrap(), &[]).await;
    assert_eq!(ended.redirected(), "/console/sessions");
    assert!(there.get("/console/sessions").await.redirected().starts_with("/login"), "signed out there");
    assert_eq!(here.get("/console/sessions").await.status, 200, "still signed in here");
}
