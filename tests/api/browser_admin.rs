//! The admin pages in a real browser (headless Chromium over WebDriver), on SQLite: the HTTP tests
//! (admin_pages.rs) hold every rule on both backends; this shows an administrator can do it —
//! disable a client and see its tokens stop working, look a token up — and that an ordinary user
//! meets the 403 page. A screenshot of each page goes under target/screenshots/admin-*.png.

use oauthd::admin::{users, Origin};

use crate::helpers::{assert_error, run_on, Backend, Browser, TestApp};

const ROOT_PASSWORD: &str = "root password 1";
const ALICE_PASSWORD: &str = "alice password 1";

async fn sign_in(browser: &Browser, app: &TestApp, username: &str, password: &str, path: &str) {
    browser.goto(&app.url(path)).await;
    browser.wait_for_url("the sign-in page", |u| u.path() == "/login").await;
    browser.fill("#username", username).await;
    browser.fill("#password", password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url(path, |u| u.path() == path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_disables_a_client_and_looks_a_token_up_and_others_meet_the_403_page() {
    run_on(
        Backend::Sqlite,
        |_| {},
        |app: TestApp| async move {
            let Some(browser) = Browser::start("admin").await else { return };
            app.create_user("root", ROOT_PASSWORD).await;
            users::set_admin(&app.auth, &Origin::cli(), "root", true).await.unwrap();
            app.create_user("alice", ALICE_PASSWORD).await;
            let client = app.standard_client().await;
            let gateway = app.resource_server().await;
            let (access, _) = app.token_pair(&client).await;

            sign_in(&browser, &app, "root", ROOT_PASSWORD, "/admin/clients").await;
            assert!(browser.text("main").await.contains(&client.id));
            browser.screenshot("clients").await;

            browser.click(&format!("a[href='/admin/clients/{}']", client.id)).await;
            browser.find("#disable").await;
            browser.screenshot("client").await;
            browser.click("#disable").await;
            browser.wait_for_url("the disabled client", |u| u.query() == Some("done=disabled")).await;
            assert!(browser.text(".notice.success").await.contains("was disabled"));
            browser.screenshot("client-disabled").await;
            assert_eq!(app.introspect(&gateway, &access).await["active"], false, "its token stopped working");
            app.await_client_change(&client.id).await;
            let refused = app.post_token_basic(&client, &[("grant_type", "client_credentials")]).await;
            assert_error(refused, 401, "invalid_client").await;

            browser.goto(&app.url("/admin/clients/new")).await;
            browser.fill("#name", "reporting").await;
            browser.fill("#scopes", "PRODUCTION").await;
            browser.screenshot("client-new").await;
            browser.click("form button[type=submit]").await;
            let secret = browser.find("#client_secret").await.prop("value").await.unwrap().unwrap_or_default();
            assert_eq!(secret.len(), 43, "the new client's secret is shown");
            browser.screenshot("client-created").await;

            browser.goto(&app.url("/admin/users")).await;
            browser.find("#username").await;
            browser.screenshot("users").await;
            browser.goto(&app.url("/admin/users/alice")).await;
            browser.find("#disable").await;
            browser.screenshot("user").await;

            let other = app.standard_client().await;
            let (_, refresh) = app.token_pair(&other).await;
            browser.goto(&app.url("/admin/tokens")).await;
            browser.fill("#token", &refresh).await;
            browser.screenshot("tokens").await;
            browser.click("form button[type=submit]").await;
            assert_eq!(browser.text("#token-state").await, "active");
            assert!(browser.text("main").await.contains(&other.id));
            browser.screenshot("token").await;
            browser.click("#revoke").await;
            browser.wait_for_url("the revocation", |u| u.path() == "/admin/tokens/revoke").await;
            assert_eq!(browser.text("#token-state").await, "revoked");
            browser.screenshot("token-revoked").await;

            browser.goto(&app.url("/admin/events")).await;
            assert!(browser.text("tbody").await.contains("client_disabled"));
            browser.screenshot("events").await;
            browser.resize(390, 844).await;
            browser.screenshot("events-phone").await;
            browser.goto(&app.url(&format!("/admin/clients/{}", client.id))).await;
            browser.screenshot("client-phone").await;
            browser.resize(1280, 900).await;

            browser.goto(&app.url("/logout")).await;
            browser.click("form button[type=submit]").await;
            browser.find("a[href='/login']").await;
            sign_in(&browser, &app, "alice", ALICE_PASSWORD, "/admin/clients").await;
            assert_eq!(browser.text("h1").await, "Administrators only");
            browser.screenshot("forbidden").await;
            browser.close().await;
        },
    )
    .await
}
