//! The console's admin pages over HTTP, as a browser without JavaScript uses them: only
//! administrators get in (a 403 page for everyone else, on every page and every form), every
//! form needs its CSRF token, and each action does what it says — checked afterwards through the
//! admin API, the token endpoint or introspection, not through the pages themselves.

use oauthd::admin::{clients, users, Origin};
use oauthd::clock::utc_field;
use serde_json::Value;

use crate::helpers::{assert_error, ok, Page, TestApp};

on_both_backends!(
    an_ordinary_user_gets_the_403_page_on_every_admin_page_and_form,
    a_visitor_who_is_not_signed_in_is_sent_to_sign_in_and_back,
    every_admin_form_refuses_a_missing_or_wrong_csrf_token,
    clients_are_created_disabled_enabled_revoked_and_deleted_from_the_pages,
    users_are_created_reset_disabled_revoked_and_deleted_from_the_pages,
    the_token_lookup_shows_a_pasted_tokens_state_and_revokes_it,
    security_events_are_listed_newest_first_filtered_and_paged,
);

const ROOT_PASSWORD: &str = "root password 1";
const ALICE_PASSWORD: &str = "alice password 1";

/// An administrator `root` and an ordinary user `alice`.
async fn people(app: &TestApp) {
    app.create_user("root", ROOT_PASSWORD).await;
    users::set_admin(&app.auth, &Origin::cli(), "root", true).await.unwrap();
    app.create_user("alice", ALICE_PASSWORD).await;
}

/// Every admin page a GET opens, for a client and a user that exist.
fn pages(client_id: &str) -> Vec<String> {
    [
        "/admin",
        "/admin/clients",
        "/admin/clients/new",
        &format!("/admin/clients/{client_id}"),
        "/admin/users",
        "/admin/users/alice",
        "/admin/tokens",
        "/admin/events",
    ]
    .map(str::to_owned)
    .into()
}

/// Every admin form's target, with fields that would do something.
fn forms(client_id: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let c = |action: &str| format!("/admin/clients/{client_id}/{action}");
    vec![
        ("/admin/clients".into(), vec![("name", "sneaky"), ("grant_type", "client_credentials")]),
        (c("disable"), vec![]),
        (c("enable"), vec![]),
        (c("revoke-tokens"), vec![]),
        (c("delete"), vec![("confirm", "yes")]),
        ("/admin/users".into(), vec![("username", "mallory"), ("password", "mallory password 1"), ("admin", "yes")]),
        ("/admin/users/alice/disable".into(), vec![]),
        ("/admin/users/alice/enable".into(), vec![]),
        ("/admin/users/root/password".into(), vec![("password", "taken over 12345")]),
        ("/admin/users/alice/admin".into(), vec![("admin", "yes")]),
        ("/admin/users/root/admin".into(), vec![("admin", "no")]),
        ("/admin/users/alice/revoke-tokens".into(), vec![]),
        ("/admin/users/root/delete".into(), vec![("confirm", "yes")]),
        ("/admin/tokens/lookup".into(), vec![("token", "oat_x")]),
        ("/admin/tokens/revoke".into(), vec![("token", "oat_x")]),
    ]
}

/// What none of the refused forms may have changed.
async fn nothing_changed(app: &TestApp, client_id: &str, access: &str) {
    let admin = app.admin_api().await;
    let client = admin.get_ok(&format!("/clients/{client_id}")).await;
    assert_eq!(client["disabled"], false);
    let root = admin.get_ok("/users/root").await;
    assert_eq!((root["admin"].as_bool(), root["disabled"].as_bool()), (Some(true), Some(false)));
    assert_eq!(admin.get_ok("/users/alice").await["admin"], false);
    assert_eq!(admin.get("/users/mallory").await.status(), 404);
    let names: Vec<Value> =
        admin.get_ok("/clients").await["items"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
    assert!(!names.contains(&Value::from("sneaky")), "{names:?}");
    assert!(app.is_active(access).await, "no token was revoked");
    let standard = app.standard_client().await;
    assert_eq!(app.password_grant(&standard, "root", ROOT_PASSWORD).await.status(), 200, "root's password stands");
    assert!(admin.events("?kind=admin_console_action").await.is_empty(), "no administrator acted");
}

async fn an_ordinary_user_gets_the_403_page_on_every_admin_page_and_form(app: TestApp) {
    people(&app).await;
    let client = app.standard_client().await;
    let (access, _) = app.token_pair(&client).await;
    let mut alice = app.signed_in("alice", ALICE_PASSWORD).await;
    for path in pages(&client.id) {
        let page = alice.get(&path).await;
        assert_eq!(page.status, 403, "{path}: {page:?}");
        assert!(page.body.contains("Administrators only"), "{path}");
        assert!(page.body.contains("Signed in as <strong>alice</strong>"), "the 403 page is a page of the site");
    }
    // Her own valid CSRF token does not help: the gate refuses before the form is read.
    let logout = alice.get("/logout").await;
    for (path, fields) in forms(&client.id) {
        let page = alice.submit(&logout, &path, &fields).await;
        assert_eq!(page.status, 403, "POST {path}: {page:?}");
        assert!(page.body.contains("Administrators only"), "POST {path}");
    }
    assert!(!alice.get("/").await.body.contains("href=\"/admin\""), "no link to the admin pages for her");
    let mut root = app.signed_in("root", ROOT_PASSWORD).await;
    assert!(root.get("/").await.body.contains("href=\"/admin\""), "an administrator's header links to them");
    nothing_changed(&app, &client.id, &access).await;

    // The flag is read on every request: made an administrator, she gets in at once.
    users::set_admin(&app.auth, &Origin::cli(), "alice", true).await.unwrap();
    assert_eq!(alice.get("/admin/clients").await.status, 200);
    users::set_admin(&app.auth, &Origin::cli(), "alice", false).await.unwrap();
    assert_eq!(alice.get("/admin/clients").await.status, 403);
}

async fn a_visitor_who_is_not_signed_in_is_sent_to_sign_in_and_back(app: TestApp) {
    people(&app).await;
    let client = app.standard_client().await;
    let mut visitor = app.visitor();
    for path in pages(&client.id) {
        let page = visitor.get(&path).await;
        let location = page.redirected();
        assert!(location.starts_with("/login?return_to="), "{path}: {location}");
    }
    let page = visitor.get("/admin/events?kind=client_disabled").await;
    assert_eq!(page.redirected(), "/login?return_to=%2Fadmin%2Fevents%3Fkind%3Dclient_disabled");
    let signed = visitor.sign_in("root", ROOT_PASSWORD, "/admin/events?kind=client_disabled").await;
    assert_eq!(signed.redirected(), "/admin/events?kind=client_disabled");
    assert_eq!(visitor.get("/admin/events?kind=client_disabled").await.status, 200);
}

async fn every_admin_form_refuses_a_missing_or_wrong_csrf_token(app: TestApp) {
    people(&app).await;
    let client = app.standard_client().await;
    let (access, _) = app.token_pair(&client).await;
    let mut root = app.signed_in("root", ROOT_PASSWORD).await;
    // Another session's token is a wrong one.
    let other = app.signed_in("root", ROOT_PASSWORD).await.get("/admin/tokens").await.csrf();
    for (path, fields) in forms(&client.id) {
        let missing = root.post(&path, &fields).await;
        assert_eq!(missing.status, 403, "POST {path} without a token: {missing:?}");
        assert!(missing.body.contains("This form has expired"), "POST {path}");
        let mut wrong = vec![("csrf", other.as_str())];
        wrong.extend_from_slice(&fields);
        assert_eq!(root.post(&path, &wrong).await.status, 403, "POST {path} with another session's token");
    }
    let admin = app.admin_api().await;
    let audited = admin.events("?kind=admin_console_action").await;
    assert_eq!(audited.len(), 2 * forms(&client.id).len(), "each refused form is in the audit trail");
    assert!(audited.iter().all(|e| e["detail"].as_str().unwrap().ends_with(" 403")), "{audited:?}");
    // Only the audit trail: nothing else changed.
    let client_now = admin.get_ok(&format!("/clients/{}", client.id)).await;
    assert_eq!(client_now["disabled"], false);
    assert_eq!(admin.get("/users/mallory").await.status(), 404);
    assert!(app.is_active(&access).await);
    assert_eq!(admin.get_ok("/users/root").await["admin"], true);
}

/// The value of the read-only field `id` of a page.
fn shown(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\" type=\"text\" value=\"");
    let start = page.body.find(&marker).unwrap_or_else(|| panic!("no {id} in {}", page.body)) + marker.len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_owned()
}

async fn clients_are_created_disabled_enabled_revoked_and_deleted_from_the_pages(app: TestApp) {
    people(&app).await;
    let admin = app.admin_api().await;
    let mut root = app.signed_in("root", ROOT_PASSWORD).await;
    let new = root.get("/admin/clients/new").await;
    assert_eq!(new.status, 200);

    let refused = root.submit(&new, "/admin/clients", &[("name", "billing"), ("scopes", "PRODUCTION")]).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert!(refused.body.contains("at least one"), "the rule's message is shown");
    assert!(refused.body.contains("value=\"billing\""), "the form keeps what was typed");

    let fields = [
        ("name", "billing"),
        ("grant_type", "client_credentials"),
        ("grant_type", "refresh_token"),
        ("scopes", "PRODUCTION SANDBOX"),
    ];
    let created = root.submit(&new, "/admin/clients", &fields).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(created.body.contains("shown only this once"));
    let client =
        crate::helpers::TestClient { id: shown(&created, "client_id"), secret: shown(&created, "client_secret") };
    let listed = admin.get_ok(&format!("/clients/{}", client.id)).await;
    assert_eq!(listed["grant_types"], serde_json::json!(["client_credentials", "refresh_token"]));
    let (access, refresh) = app.token_pair(&client).await;
    assert!(root.get("/admin/clients").await.body.contains(&client.id), "the list shows it");
    let filtered = root.get("/admin/clients?disabled=yes").await;
    assert!(!filtered.body.contains(&client.id), "filters apply");
    assert_eq!(root.get("/admin/clients?grant_type=nonsense").await.status, 400);

    let page = root.get(&format!("/admin/clients/{}", client.id)).await;
    let done = root.submit(&page, &format!("/admin/clients/{}/disable", client.id), &[]).await;
    assert_eq!(done.redirected(), format!("/admin/clients/{}?done=disabled", client.id));
    assert!(root.follow(&done).await.body.contains("was disabled"));
    assert!(!app.is_active(&access).await && !app.is_active(&refresh).await, "its tokens are revoked");
    app.await_client_change(&client.id).await;
    assert_error(app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await, 401, "invalid_client")
        .await;
    let disabled = admin.events(&format!("?kind=client_disabled&client_id={}", client.id)).await;
    assert_eq!((disabled[0]["actor_type"].as_str(), disabled[0]["actor_id"].as_str()), (Some("user"), Some("root")));
    assert!(disabled[0]["peer_address"].as_str().is_some(), "the administrator's address is recorded");

    let done = root.submit(&page, &format!("/admin/clients/{}/enable", client.id), &[]).await;
    assert_eq!(done.redirected(), format!("/admin/clients/{}?done=enabled", client.id));
    app.await_client_change(&client.id).await;
    let (access, _) = app.token_pair(&client).await;
    let done = root.submit(&page, &format!("/admin/clients/{}/revoke-tokens", client.id), &[]).await;
    assert_eq!(done.redirected(), format!("/admin/clients/{}?done=revoked&grants=1", client.id));
    assert!(!app.is_active(&access).await, "revoke every token");

    let unconfirmed = root.submit(&page, &format!("/admin/clients/{}/delete", client.id), &[]).await;
    assert_eq!(unconfirmed.status, 422);
    assert_eq!(admin.get(&format!("/clients/{}", client.id)).await.status(), 200, "not deleted unconfirmed");
    let done = root.submit(&page, &format!("/admin/clients/{}/delete", client.id), &[("confirm", "yes")]).await;
    assert!(done.redirected().starts_with("/admin/clients?done=deleted"));
    assert_eq!(admin.get(&format!("/clients/{}", client.id)).await.status(), 404);
    assert_eq!(root.get(&format!("/admin/clients/{}", client.id)).await.status, 404);

    // Every form the administrator sent is in the audit trail, with the answer's status.
    let audited: Vec<String> = admin
        .events("?kind=admin_console_action")
        .await
        .iter()
        .map(|e| {
            assert_eq!(e["actor_id"], "root");
            e["detail"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(audited[0], format!("POST /admin/clients/{}/delete 303", client.id));
    assert!(audited.contains(&"POST /admin/clients 201".to_owned()), "{audited:?}");
    assert!(audited.contains(&"POST /admin/clients 422".to_owned()), "{audited:?}");
    assert_eq!(audited.len(), 7, "{audited:?}");
}

async fn users_are_created_reset_disabled_revoked_and_deleted_from_the_pages(app: TestApp) {
    people(&app).await;
    let admin = app.admin_api().await;
    let client = app.standard_client().await;
    let mut root = app.signed_in("root", ROOT_PASSWORD).await;
    let list = root.get("/admin/users").await;
    assert!(list.body.contains("alice") && list.body.contains("root"));

    let refused = root.submit(&list, "/admin/users", &[("username", "bob"), ("password", "")]).await;
    assert_eq!(refused.status, 422, "the password policy of admin::users applies");
    assert!(refused.body.contains("id=\"create-error\""));
    let created = root.submit(&list, "/admin/users", &[("username", "bob"), ("password", "bob password 12")]).await;
    assert_eq!(created.redirected(), "/admin/users/bob?done=created");
    assert_eq!(app.password_grant(&client, "bob", "bob password 12").await.status(), 200);
    assert_eq!(admin.get_ok("/users/bob").await["admin"], false);

    let page = root.get("/admin/users/bob").await;
    let bad = root.submit(&page, "/admin/users/bob/password", &[("password", "")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"password-error\""), "the refusal is by the field");
    let done = root.submit(&page, "/admin/users/bob/password", &[("password", "bob password 34")]).await;
    assert_eq!(done.redirected(), "/admin/users/bob?done=password");
    assert_eq!(app.password_grant(&client, "bob", "bob password 12").await.status(), 400);
    let token = ok(app.password_grant(&client, "bob", "bob password 34").await, 200).await;
    let access = token["access_token"].as_str().unwrap().to_owned();

    let done = root.submit(&page, "/admin/users/bob/revoke-tokens", &[]).await;
    assert_eq!(done.redirected(), "/admin/users/bob?done=revoked&grants=2", "both of bob's grants");
    assert!(!app.is_active(&access).await);
    assert_eq!(
        root.submit(&page, "/admin/users/bob/disable", &[]).await.redirected(),
        "/admin/users/bob?done=disabled"
    );
    assert_eq!(app.password_grant(&client, "bob", "bob password 34").await.status(), 400, "disabled");
    assert_eq!(root.submit(&page, "/admin/users/bob/enable", &[]).await.redirected(), "/admin/users/bob?done=enabled");
    assert_eq!(app.password_grant(&client, "bob", "bob password 34").await.status(), 200, "enabled");
    let done = root.submit(&page, "/admin/users/bob/admin", &[("admin", "yes")]).await;
    assert_eq!(done.redirected(), "/admin/users/bob?done=admin");
    assert_eq!(admin.get_ok("/users/bob").await["admin"], true);

    // The administrator cannot lock themselves out (admin::users' rule), whatever the page shows.
    for (path, fields) in [
        ("/admin/users/root/disable", vec![]),
        ("/admin/users/root/admin", vec![("admin", "no")]),
        ("/admin/users/root/delete", vec![("confirm", "yes")]),
    ] {
        let refused = root.submit(&page, path, &fields).await;
        assert_eq!(refused.status, 422, "{path}");
        assert!(refused.body.contains("their own account"), "{path}");
    }
    let own = root.get("/admin/users/root").await;
    assert!(!own.body.contains("/admin/users/root/disable"), "nor does the page offer it");

    let unconfirmed = root.submit(&page, "/admin/users/bob/delete", &[]).await;
    assert_eq!(unconfirmed.status, 422);
    let done = root.submit(&page, "/admin/users/bob/delete", &[("confirm", "yes")]).await;
    assert_eq!(done.redirected(), "/admin/users?done=deleted&user=bob");
    assert_eq!(admin.get("/users/bob").await.status(), 404);

    let kinds: Vec<String> = admin
        .events("?username=bob")
        .await
        .iter()
        .filter(|e| e["actor_id"] == "root")
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "user_deleted",
            "user_admin_granted",
            "user_enabled",
            "user_disabled",
            "user_tokens_revoked",
            "user_password_reset"
        ],
        "each action recorded with the administrator as actor"
    );
}

async fn the_token_lookup_shows_a_pasted_tokens_state_and_revokes_it(app: TestApp) {
    people(&app).await;
    let client = app.standard_client().await;
    let gateway = app.resource_server().await;
    let (access, refresh) = app.token_pair(&client).await;
    let mut root = app.signed_in("root", ROOT_PASSWORD).await;
    let form = root.get("/admin/tokens").await;

    let found = root.submit(&form, "/admin/tokens/lookup", &[("token", &format!("  {access}\n"))]).await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains("An access token"), "{}", found.body);
    assert!(found.body.contains("id=\"token-state\">active<"));
    assert!(found.body.contains(&client.id) && found.body.contains("PRODUCTION SANDBOX"));
    let family = app.introspect(&gateway, &access).await;
    assert_eq!(family["active"], true);

    let unknown = root.submit(&form, "/admin/tokens/lookup", &[("token", "oat_not-a-token")]).await;
    assert!(unknown.body.contains("Unknown token"));
    let empty = root.submit(&form, "/admin/tokens/lookup", &[("token", " ")]).await;
    assert_eq!(empty.status, 422);

    let found = root.submit(&form, "/admin/tokens/lookup", &[("token", &refresh)]).await;
    assert!(found.body.contains("A refresh token"));
    let revoked = root.submit(&found, "/admin/tokens/revoke", &[("token", &found.hidden("token"))]).await;
    assert_eq!(revoked.status, 200);
    assert!(revoked.body.contains("id=\"token-state\">revoked<"), "{}", revoked.body);
    assert!(!revoked.body.contains(&format!("value=\"{refresh}\"")), "no revoke button for a revoked token");
    assert_eq!(app.introspect(&gateway, &access).await["active"], false, "the family went with it");

    let admin = app.admin_api().await;
    let events = admin.get_ok("/events?limit=200").await.to_string();
    assert!(events.contains("token_revoked"), "the revocation is recorded");
    for token in [&access, &refresh] {
        assert!(!events.contains(token.as_str()), "a pasted token reached an event");
    }
}

async fn security_events_are_listed_newest_first_filtered_and_paged(app: TestApp) {
    people(&app).await;
    let first = app.standard_client().await;
    let second = app.machine_client().await;
    for _ in 0..30 {
        clients::revoke_tokens(&app.auth, &Origin::cli(), &first.id).await.unwrap();
    }
    app.clock.advance(120);
    let later = app.clock.now();
    for _ in 0..25 {
        clients::revoke_tokens(&app.auth, &Origin::cli(), &second.id).await.unwrap();
    }
    let mut root = app.signed_in("root", ROOT_PASSWORD).await;
    let page = root.get("/admin/events").await;
    assert_eq!(page.status, 200);
    let rows = |page: &Page| page.body.matches("<tr>\n        <td class=\"nowrap\">").count();
    assert_eq!(rows(&page), 50, "a page holds 50 events");
    let newest = page.body.find(&second.id).unwrap();
    assert!(page.body.find(&first.id).is_none_or(|at| at > newest), "newest first");
    let next =
        page.body.split("<a href=\"").filter_map(|s| s.split_once("\" rel=\"next\"")).map(|(href, _)| href).next();
    let next = next.expect("a link to older events").replace("&#38;", "&").replace("&amp;", "&");
    let older = root.get(&next).await;
    assert_eq!(rows(&older), 6, "the remaining five, and root's promotion before them");
    assert!(!older.body.contains("rel=\"next\""));

    let only = root.get(&format!("/admin/events?kind=client_tokens_revoked&client_id={}", second.id)).await;
    assert_eq!(rows(&only), 25);
    assert!(!only.body.contains(&format!("<code>{}</code>", first.id)));
    let since = root.get(&format!("/admin/events?since={}", utc_field(later))).await;
    assert_eq!(rows(&since), 25, "the time filter, in UTC");
    let until = root.get(&format!("/admin/events?kind=client_tokens_revoked&until={}", utc_field(later - 120))).await;
    assert_eq!(rows(&until), 30);
    for bad in ["?kind=nonsense", "?since=yesterday", "?since=2030-01-01&until=2020-01-01", "?cursor=%00"] {
        let refused = root.get(&format!("/admin/events{bad}")).await;
        assert_eq!(refused.status, 400, "{bad}");
        assert!(refused.body.contains("class=\"notice error\""), "{bad}");
    }
    let by_user = root.get("/admin/events?username=nobody").await;
    assert!(by_user.body.contains("No event matches."));
}
