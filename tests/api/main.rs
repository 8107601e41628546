//! The one integration-test binary: black-box tests over HTTP against a server spawned on port 0,
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! each with a fresh database, each run on SQLite and on PostgreSQL.

/// Declares, for each named `async fn(Backend)`, a test module with a `sqlite` and a `postgres` test.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::helpers::Backend::Postgres).await
            }
        }
    )+};
}

mod helpers;

mod cached_client;
mod cleanup;
mod cli;
mod client_auth;
mod config;
mod discovery;
mod grants;
mod health;
mod healthcheck;
mod introspect;
mod metrics;
mod policy;
mod refresh;
mod requests;
mod revoke;
mod secret_cache;
mod seed;
mod store_contract;
mod tls;
