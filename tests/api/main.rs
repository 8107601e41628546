//! The one integration-test binary: black-box tests over HTTP against a server spawned on port 0,
//! each with a fresh database, each run on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Declares, for each listed `async fn`, a test module with a `sqlite` and a `postgres` test.
///
/// The function's parameter says what it is handed, set up on a fresh database
/// ([`helpers::Fixture`]): a running app (`app: TestApp`, the usual case) or whatever else
/// implements `Fixture` (store_contract.rs hands its tests a bare store).
///
/// ```ignore
/// on_both_backends!(
///     a_refresh_rotates_the_token,
///     a_strict_window_refuses_a_replay with no_replay_window,
/// );
///
/// // The test settings (helpers::test_settings).
/// async fn a_refresh_rotates_the_token(app: TestApp) { … }
///
/// // A fn(&mut Settings) in the same module changes them before the app starts.
/// fn no_replay_window(s: &mut Settings) {
///     s.tokens.replay_window_secs = 0;
/// }
///
/// async fn a_strict_window_refuses_a_replay(app: TestApp) { … }
/// ```
///
/// When PostgreSQL is unreachable the `postgres` test passes without running, after one line
/// saying so, unless TEST_POSTGRES=require ([`helpers::run_on`]). A test that needs the backend
/// reads `app.backend`.
macro_rules! on_both_backends {
    (@settings) => {
        |_| {}
    };
    (@settings $settings:ident) => {
        super::$settings
    };
    ($($test:ident $(with $settings:ident)?),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let backend = crate::helpers::Backend::Sqlite;
                crate::helpers::run_on(backend, on_both_backends!(@settings $($settings)?), super::$test).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let backend = crate::helpers::Backend::Postgres;
                crate::helpers::run_on(backend, on_both_backends!(@settings $($settings)?), super::$test).await
            }
        }
    )+};
}

mod helpers;

mod admin_api;
mod admin_pages;
mod applications;
mod authorization_code;
mod browser_admin;
mod browser_authorize;
mod browser_console;
mod browser_sign_in;
mod cached_client;
mod cleanup;
mod cli;
mod client_auth;
mod config;
mod connections;
mod consent;
mod console;
mod discovery;
mod edge;
mod events;
mod grants;
mod hashing;
mod health;
mod healthcheck;
mod instances;
mod introspect;
mod login_throttle;
mod logs;
mod metrics;
mod nul_bytes;
mod policy;
mod properties;
mod refresh;
mod registration;
mod requests;
mod revoke;
mod secret_cache;
mod seed;
mod serving;
mod sessions;
mod store_contract;
mod tls;
