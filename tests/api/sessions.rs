//! The pages' foundations over HTTP: the session cookie, sign-in and sign-out, session lifetimes
//! (manual clock), CSRF tokens, and the security headers of every page.

use oauthd::admin::{users, Origin};
use oauthd::config::Settings;
use oauthd::janitor::run_once;

use crate::helpers::{Page, TestApp};

on_both_backends!(
    the_session_cookie_is_httponly_and_samesite_lax_and_not_secure_over_plain_http,
    over_https_the_session_cookie_is_secure_and_host_prefixed with https,
    signing_in_changes_the_session_id_and_the_old_one_signs_nobody_in,
    a_wrong_password_and_an_unknown_user_get_the_same_answer,
    a_disabled_user_cannot_sign_in_and_their_session_ends,
    sign_in_returns_to_a_path_on_this_server_and_never_elsewhere,
    a_form_without_its_sessions_csrf_token_is_refused,
    a_session_ends_after_its_idle_lifetime with short_sessions,
    a_session_ends_after_its_absolute_lifetime_however_it_is_used with short_sessions,
    signing_out_asks_first_then_ends_the_session,
    every_page_forbids_framing_caching_and_foreign_content,
    the_stylesheet_is_served_by_oauthd,
    the_janitor_deletes_ended_sessions with short_sessions,
    pages_show_the_configured_product_name_and_logo with branded,
);

const PASSWORD: &str = "correct horse battery staple";

fn https(s: &mut Settings) {
    s.tls.self_signed = true;
}

fn short_sessions(s: &mut Settings) {
    s.sessions.idle_secs = 300;
    s.sessions.absolute_secs = 1000;
    s.janitor.enabled = false;
}

fn branded(s: &mut Settings) {
    s.ui.product_name = "Acme Sign-in".into();
    s.ui.logo_url = "https://cdn.acme.example/logo.svg".into();
}

fn session_cookie(page: &Page) -> String {
    let cookies = page.set_cookies();
    assert_eq!(cookies.len(), 1, "one cookie: {cookies:?}");
    cookies[0].to_owned()
}

async fn the_session_cookie_is_httponly_and_samesite_lax_and_not_secure_over_plain_http(app: TestApp) {
    let page = app.visitor().get("/login").await;
    assert_eq!(page.status, 200);
    let cookie = session_cookie(&page);
    assert!(cookie.starts_with("oauthd_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert!(!cookie.contains("Max-Age") && !cookie.contains("Expires"), "a browser-session cookie: {cookie}");
    let id = cookie.split(';').next().unwrap().trim_start_matches("oauthd_session=");
    assert_eq!(id.len(), 43, "256 bits in base64url");
}

async fn over_https_the_session_cookie_is_secure_and_host_prefixed(app: TestApp) {
    assert!(app.address.starts_with("https://"));
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.visitor();
    let page = visitor.get("/login").await;
    let cookie = session_cookie(&page);
    assert!(cookie.starts_with("__Host-oauthd_session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "__Host- cookies have no Domain: {cookie}");
    let signed = visitor.submit(&page, "/login", &[("username", "alice"), ("password", PASSWORD)]).await;
    assert_eq!(signed.redirected(), "/");
    assert!(session_cookie(&signed).contains("Secure"));
    assert_eq!(visitor.get("/").await.status, 200, "signed in over https");
}

async fn signing_in_changes_the_session_id_and_the_old_one_signs_nobody_in(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.visitor();
    let form = visitor.get("/login").await;
    let before = visitor.cookie.clone().unwrap();
    let signed = visitor.submit(&form, "/login", &[("username", "alice"), ("password", PASSWORD)]).await;
    assert_eq!(signed.redirected(), "/");
    let after = visitor.cookie.clone().unwrap();
    assert_ne!(before, after, "a new id at sign-in");
    let home = visitor.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("alice"), "{}", home.body);

    // A visitor holding the id from before sign-in (planted, or stolen from the login page) is
    // nobody: sent to sign in.
    let mut fixated = app.visitor();
    fixated.cookie = Some(before);
    assert!(fixated.get("/").await.redirected().starts_with("/login"));
}

async fn a_wrong_password_and_an_unknown_user_get_the_same_answer(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut answers = Vec::new();
    for (username, password) in [("alice", "wrong password"), ("nobody", "wrong password"), ("alice", "")] {
        let mut visitor = app.visitor();
        let page = visitor.sign_in(username, password, "/").await;
        assert_eq!(page.status, 401, "{username}");
        assert!(page.header("location").is_none(), "no redirect on failure");
        assert!(visitor.cookie.is_some(), "still the anonymous session");
        // The form comes back with the username kept and the password not.
        assert!(page.body.contains(&format!("value=\"{username}\"")), "{}", page.body);
        assert!(!page.body.contains("wrong password"));
        answers.push(page.body.replace(&format!("value=\"{username}\""), "").replace(&page.csrf(), ""));
    }
    assert!(answers[0].contains("The username or password is incorrect."), "{}", answers[0]);
    assert_eq!(answers[0], answers[1], "an unknown user is answered as a wrong password");
}

async fn a_disabled_user_cannot_sign_in_and_their_session_ends(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    users::set_disabled(&app.auth, &Origin::cli(), "alice", true).await.unwrap();
    assert!(visitor.get("/").await.redirected().starts_with("/login"), "the session ended");
    let page = app.visitor().sign_in("alice", PASSWORD, "/").await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("The username or password is incorrect."));
}

async fn sign_in_returns_to_a_path_on_this_server_and_never_elsewhere(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.visitor();
    let page = visitor.get("/").await;
    assert_eq!(page.redirected(), "/login?return_to=%2F", "a page for the signed-in sends others to sign in");
    let back = visitor.sign_in("alice", PASSWORD, "/logout?x=1").await;
    assert_eq!(back.redirected(), "/logout?x=1");
    assert!(visitor.follow(&back).await.body.contains("Sign out?"), "signed in, back where they asked to go");
    for elsewhere in ["https://evil.example/", "//evil.example/x", "/\\evil.example"] {
        let page = app.visitor().sign_in("alice", PASSWORD, elsewhere).await;
        assert_eq!(page.redirected(), "/", "{elsewhere}");
    }
    // Already signed in: the sign-in page sends you on.
    assert_eq!(visitor.get("/login?return_to=/x").await.redirected(), "/x");
}

async fn a_form_without_its_sessions_csrf_token_is_refused(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.visitor();
    let form = visitor.get("/login").await;
    let good = form.csrf();
    assert_eq!(good.len(), 43);
    let credentials = [("username", "alice"), ("password", PASSWORD)];
    for csrf in [None, Some(""), Some("x"), Some(&good[..42])] {
        let mut pairs = credentials.to_vec();
        pairs.extend(csrf.map(|c| ("csrf", c)));
        let page = visitor.post("/login", &pairs).await;
        assert_eq!(page.status, 403, "{csrf:?}");
        assert!(page.body.contains("This form has expired"));
    }
    // Another visitor's token is no good either, nor is a good token without its cookie.
    let mut other = app.visitor();
    let other_form = other.get("/login").await;
    assert_eq!(visitor.submit(&other_form, "/login", &credentials).await.status, 403);
    let mut cookieless = app.visitor();
    assert_eq!(cookieless.submit(&form, "/login", &credentials).await.status, 403);

    // Signed in: sign-out needs the token too, and the session survives a forged one.
    let signed = visitor.submit(&form, "/login", &credentials).await;
    assert_eq!(signed.redirected(), "/");
    assert_eq!(visitor.post("/logout", &[]).await.status, 403);
    assert_eq!(
        visitor.post("/logout", &[("csrf", &good)]).await.status,
        403,
        "the token of the session before sign-in"
    );
    assert_eq!(visitor.get("/").await.status, 200, "still signed in");
}

async fn a_session_ends_after_its_idle_lifetime(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    app.clock.advance(299);
    assert_eq!(visitor.get("/").await.status, 200, "used within 300 s");
    app.clock.advance(299);
    assert_eq!(visitor.get("/").await.status, 200, "each use restarts the idle time");
    app.clock.advance(300);
    assert!(visitor.get("/").await.redirected().starts_with("/login"), "300 s unused");
    app.clock.advance(-300);
    assert!(visitor.get("/").await.redirected().starts_with("/login"), "an ended session is gone for good");
}

async fn a_session_ends_after_its_absolute_lifetime_however_it_is_used(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    for _ in 0..4 {
        app.clock.advance(240);
        assert_eq!(visitor.get("/").await.status, 200);
    }
    app.clock.advance(39);
    assert_eq!(visitor.get("/").await.status, 200, "999 s after sign-in");
    app.clock.advance(1);
    assert!(visitor.get("/").await.redirected().starts_with("/login"), "1000 s after sign-in");
}

async fn signing_out_asks_first_then_ends_the_session(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.signed_in("alice", PASSWORD).await;
    let held = visitor.cookie.clone();
    let confirm = visitor.get("/logout").await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Sign out?"));
    assert_eq!(visitor.get("/").await.status, 200, "GET /logout alone signs nobody out");
    let done = visitor.submit(&confirm, "/logout", &[]).await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("You are signed out"));
    let cleared = session_cookie(&done);
    assert!(cleared.contains("Max-Age=0"), "the cookie is removed: {cleared}");
    assert!(visitor.cookie.is_none());
    // The session is gone on the server too: its id no longer works.
    let mut replayed = app.visitor();
    replayed.cookie = held;
    assert!(replayed.get("/").await.redirected().starts_with("/login"));
    assert!(replayed.get("/logout").await.body.contains("You are signed out"));
}

async fn every_page_forbids_framing_caching_and_foreign_content(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    let mut visitor = app.visitor();
    let mut pages = vec![visitor.get("/login").await, visitor.get("/logout").await, visitor.get("/").await];
    pages.push(visitor.get("/authorize?client_id=nobody").await);
    pages.push(visitor.sign_in("alice", "wrong", "/").await);
    pages.push(visitor.post("/login", &[]).await);
    for page in &pages {
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{page:?}");
        let csp = page.header("content-security-policy").unwrap();
        for directive in ["default-src 'none'", "frame-ancestors 'none'", "style-src 'self'", "base-uri 'none'"] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(!csp.contains("script-src") && !csp.contains("unsafe"), "{csp}");
        assert_eq!(page.header("cache-control"), Some("no-store"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        if page.status != 303 {
            assert!(page.header("content-type").unwrap().starts_with("text/html"));
            assert!(page.body.contains("<link rel=\"stylesheet\" href=\"/static/oauthd.css\">"));
            assert!(!page.body.contains("<script"), "no JavaScript");
        }
    }
    let form = &pages[0];
    for labelled in ["<label for=\"username\">", "<label for=\"password\">", "id=\"username\"", "id=\"password\""] {
        assert!(form.body.contains(labelled), "{labelled}");
    }
}

async fn the_stylesheet_is_served_by_oauthd(app: TestApp) {
    let page = app.visitor().get("/static/oauthd.css").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(page.body.contains(":focus-visible"), "visible focus");
    assert!(page.body.contains("@media"), "a layout for phones");
    assert!(!page.body.contains("http://") && !page.body.contains("https://") && !page.body.contains("@import"));
}

async fn the_janitor_deletes_ended_sessions(app: TestApp) {
    app.create_user("alice", PASSWORD).await;
    // Signing in replaced the anonymous session of the sign-in page: alice's is the one left.
    let _alice = app.signed_in("alice", PASSWORD).await;
    app.clock.advance(200);
    let _anonymous = app.visitor().get("/login").await;
    app.clock.advance(150);
    // alice's has been idle 350 s, the anonymous one 150 s.
    assert_eq!(run_once(&app.auth).await.unwrap().sessions, 1);
    assert_eq!(run_once(&app.auth).await.unwrap().sessions, 0);
    app.clock.advance(200);
    assert_eq!(run_once(&app.auth).await.unwrap().sessions, 1);
}

async fn pages_show_the_configured_product_name_and_logo(app: TestApp) {
    let page = app.visitor().get("/login").await;
    assert!(page.body.contains("<title>Sign in · Acme Sign-in</title>"), "{}", page.body);
    assert!(page.body.contains("src=\"https://cdn.acme.example/logo.svg\""));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("img-src 'self' https://cdn.acme.example;"), "{csp}");
}
