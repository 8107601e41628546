//! What a test is handed, and the helpers it talks to oauthd with.
//!
//! Every test runs on SQLite (a temporary file) and on PostgreSQL (a uniquely named database on
//! TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test, dropped afterwards).
//! Without a reachable PostgreSQL the PostgreSQL half is skipped with one line saying so, unless
//! TEST_POSTGRES=require, which makes it a failure (as .ci/run does).
//!
//! A new test is an `async fn a_sentence_saying_what_holds(app: TestApp)` in the file of its
//! endpoint or concern, listed in that file's `on_both_backends!` (main.rs shows the forms), that
//! talks to the app through the helpers here: `app.standard_client()`,
//! `app.post_token_basic(&client, &[…])`, `app.refresh(…)`, `assert_error(r, 400, "invalid_grant")`,
//! `app.oauthd(&["client", "list"]).run_ok()`. A test for one backend only, or whose settings hold
//! a value known at run time, is a plain `#[tokio::test]` calling [`spawn_app`] (or [`run_on`],
//! to keep the PostgreSQL skip).
//!
//! - `database`: [`Backend`] and [`TestDb`], the fresh database.
//! - `app`: [`TestApp`], oauthd spawned in-process on port 0, and its HTTP helpers.
//! - `process`: the real `oauthd` binary as a child process ([`oauthd`], `app.oauthd(…)`,
//!   [`Served`]) and curl.
//! - `seed`: the seed's client (`app.seed_client()`) and its literal credentials.
//! - `admin`: the admin API as an automation client calls it (`app.admin_api()`).
//! - `browser`: headless Chromium over WebDriver for the browser tests ([`Browser::start`],
//!   screenshots under target/screenshots/; skipped without a browser unless TEST_BROWSER=require).
//! - `pages`: the sign-in, consent and other pages as a browser uses them over HTTP
//!   (`app.visitor()`, `app.signed_in(user, password)`: cookie jar, CSRF token, forms).

use std::future::Future;

use oauthd::config::Settings;

mod admin;
mod app;
mod browser;
mod database;
mod pages;
mod process;
mod seed;

pub use admin::{ok, AdminApi};
pub use app::{assert_error, basic, form, machine_spec, sample, spawn_app, TestApp, TestClient};
pub use browser::Browser;
pub use database::{Backend, TestDb};
pub use pages::{Page, Visitor};
pub use process::{curl, oauthd, served_fingerprint, try_curl, CurlAnswer, Run, Served};
pub use seed::{SEED_BASIC, SEED_CLIENT_ID, SEED_CLIENT_SECRET};

/// What a test declared with `on_both_backends!` is handed, set up on a fresh database of the
/// given backend with `configure` applied to the test settings.
pub trait Fixture: Sized {
    /// `None` when the backend is not available (PostgreSQL unreachable and not required).
    fn set_up(backend: Backend, configure: fn(&mut Settings)) -> impl Future<Output = Option<Self>>;
}

impl Fixture for TestApp {
    async fn set_up(backend: Backend, configure: fn(&mut Settings)) -> Option<TestApp> {
        spawn_app(backend, configure).await
    }
}

/// Runs `test` on `backend` with what its parameter asks for, or skips it when the backend is
/// not available ([`TestDb::create`] has said why). The one place a test is skipped.
pub async fn run_on<T: Fixture, F: Future<Output = ()>>(
    backend: Backend,
    configure: fn(&mut Settings),
    test: impl FnOnce(T) -> F,
) {
    if let Some(fixture) = T::set_up(backend, configure).await {
        test(fixture).await
    }
}
