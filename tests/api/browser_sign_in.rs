//! Sign-in and sign-out in a real browser (headless Chromium over WebDriver), on SQLite: the HTTP
//! tests (sessions.rs) hold every rule on both backends; these show that a person can do it, and
//! keep a screenshot of each page under target/screenshots/.

use crate::helpers::{run_on, Backend, Browser, TestApp};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_error_and_signing_out_ends_the_session() {
    run_on(
        Backend::Sqlite,
        |_| {},
        |app: TestApp| async move {
            let Some(browser) = Browser::start("sign_in").await else { return };
            app.create_user("alice", PASSWORD).await;

            browser.goto(&app.url("/")).await;
            browser.wait_for_url("the sign-in page", |u| u.path() == "/login").await;
            browser.find("#username").await;
            browser.screenshot("login").await;

            browser.fill("#username", "alice").await;
            browser.fill("#password", "not the password").await;
            browser.click("button[type=submit]").await;
            let error = browser.text("#password-error").await;
            assert_eq!(error, "The username or password is incorrect.");
            assert_eq!(browser.url().await.path(), "/login", "no redirect after a wrong password");
            assert_eq!(browser.find("#username").await.prop("value").await.unwrap().as_deref(), Some("alice"));
            browser.screenshot("login-error").await;

            browser.fill("#password", PASSWORD).await;
            browser.click("button[type=submit]").await;
            browser.wait_for_url("home", |u| u.path() == "/").await;
            assert!(browser.text("main").await.contains("Signed in as alice"));
            browser.screenshot("home").await;

            browser.click("nav.account a[href='/logout']").await;
            browser.wait_for_url("the sign-out page", |u| u.path() == "/logout").await;
            browser.screenshot("logout").await;
            browser.click("form button[type=submit]").await;
            assert_eq!(browser.text("h1").await, "You are signed out");
            browser.screenshot("signed-out").await;

            browser.goto(&app.url("/")).await;
            browser.wait_for_url("the sign-in page again", |u| u.path() == "/login").await;
            browser.resize(390, 844).await;
            browser.screenshot("login-phone").await;
            browser.close().await;
        },
    )
    .await
}
