//! The user console in a real browser (headless Chromium over WebDriver), on SQLite: the HTTP tests
//! (console.rs) hold every rule on both backends; this one shows that a person can go from signing
//! in to a working, then revoked, token pair — running the refresh command the page displays — and
//! keeps a screenshot of each page under target/screenshots/.

use serde_json::json;

use crate::helpers::{curl, run_on, Backend, Browser, TestApp};

const PASSWORD: &str = "correct horse battery staple";

/// Splits a displayed command into its arguments as a shell would (words and double-quoted
/// strings; the console's commands hold nothing else).
fn shell_words(command: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in command.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_registers_an_application_generates_tokens_refreshes_with_the_shown_command_and_revokes_them() {
    run_on(
        Backend::Sqlite,
        |_| {},
        |app: TestApp| async move {
            let Some(browser) = Browser::start("console").await else { return };
            app.create_user("alice", PASSWORD).await;
            app.create_user("bob", PASSWORD).await;
            let value = |css: &'static str| {
                let browser = &browser;
                async move { browser.find(css).await.prop("value").await.unwrap().unwrap_or_default() }
            };

            browser.goto(&app.url("/console")).await;
            browser.wait_for_url("the sign-in page", |u| u.path() == "/login").await;
            browser.fill("#username", "alice").await;
            browser.fill("#password", PASSWORD).await;
            browser.click("button[type=submit]").await;
            browser.wait_for_url("the console", |u| u.path() == "/console").await;
            assert!(browser.text("main").await.contains("You have no applications yet"));
            browser.screenshot("applications-empty").await;

            browser.click("a[href='/console/applications/new']").await;
            browser.wait_for_url("the registration form", |u| u.path() == "/console/applications/new").await;
            browser.fill("#name", "Billing service").await;
            // The form starts with authorization_code and refresh_token: a service wants its own tokens.
            browser.click("input[value=authorization_code]").await;
            browser.click("input[value=client_credentials]").await;
            browser.screenshot("register").await;
            browser.click("form button[type=submit]").await;
            let client_id = value("#client_id").await;
            let secret = value("#client_secret").await;
            assert_eq!(secret.len(), 43, "the secret is on the page");
            assert!(browser.text("#secret-warning").await.contains("shown only this once"));
            browser.screenshot("registered").await;
            let answer = app
                .client_credentials(
                    &crate::helpers::TestClient { id: client_id.clone(), secret: secret.clone() },
                    "PRODUCTION",
                )
                .await;
            assert_eq!(answer["scope"], "PRODUCTION", "the key and secret read on the page work");

            browser.click("a.button[href^='/console/applications/']").await;
            browser.wait_for_url("the application", |u| u.path().ends_with(&client_id)).await;
            assert!(!browser.text("main").await.contains(&secret), "never shown again");
            browser.screenshot("application").await;
            browser.fill("#client_secret", &secret).await;
            browser.click("form[action$='/tokens'] button[type=submit]").await;
            let access = value("#access_token").await;
            let refresh = value("#refresh_token").await;
            let command = value("#refresh_command").await;
            assert!(access.starts_with("oat_") && refresh.starts_with("ort_"));
            browser.screenshot("tokens").await;

            // The refresh command exactly as the page shows it, run by the real curl.
            let words = shell_words(&command);
            assert_eq!(words[0], "curl", "{command}");
            let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
            let refreshed = curl(&args);
            assert_eq!(refreshed.status, 200, "{command}: {}", refreshed.body);
            let new_access = refreshed.json()["access_token"].as_str().unwrap().to_owned();
            let gateway = app.resource_server().await;
            assert_eq!(app.introspect(&gateway, &new_access).await["username"], "alice");

            // Revoke from the page: the refreshed pair stops working.
            browser.goto(&app.url(&format!("/console/applications/{client_id}"))).await;
            browser.click("#revoke-tokens").await;
            browser.wait_for_url("back on the application", |u| u.query() == Some("revoked")).await;
            assert!(browser.text("main").await.contains("Every token of this application is revoked"));
            browser.screenshot("revoked").await;
            assert_eq!(app.introspect(&gateway, &new_access).await["active"], json!(false));

            browser.goto(&app.url("/console/applications")).await;
            assert!(browser.text("main").await.contains("Billing service"));
            browser.screenshot("applications").await;
            browser.click("nav.console a[href='/console/authorized']").await;
            browser.wait_for_url("authorized applications", |u| u.path() == "/console/authorized").await;
            browser.screenshot("authorized").await;
            browser.click("nav.console a[href='/console/sessions']").await;
            browser.wait_for_url("sessions", |u| u.path() == "/console/sessions").await;
            assert!(browser.text("main").await.contains("(this browser)"));
            browser.screenshot("sessions").await;
            browser.resize(390, 844).await;
            browser.goto(&app.url(&format!("/console/applications/{client_id}"))).await;
            browser.screenshot("application-phone").await;
            browser.resize(1280, 900).await;

            // Bob sees none of it: not in his list, and alice's page is not found.
            browser.goto(&app.url("/logout")).await;
            browser.click("form button[type=submit]").await;
            assert_eq!(browser.text("h1").await, "You are signed out");
            browser.goto(&app.url("/login")).await;
            browser.fill("#username", "bob").await;
            browser.fill("#password", PASSWORD).await;
            browser.click("button[type=submit]").await;
            browser.wait_for_url("home", |u| u.path() == "/").await;
            browser.goto(&app.url("/console/applications")).await;
            let list = browser.text("main").await;
            assert!(list.contains("You have no applications yet") && !list.contains("Billing service"));
            browser.goto(&app.url(&format!("/console/applications/{client_id}"))).await;
            assert_eq!(browser.text("h1").await, "Not found");
            browser.screenshot("not-found-for-bob").await;
            browser.close().await;
        },
    )
    .await
}
