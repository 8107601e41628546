//! Spawning the app on port 0 with a fresh database, HTTP helpers, and child processes.
//!
//! Every test runs on SQLite (a temporary file) and on PostgreSQL (a uniquely named database on
//! TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test, dropped afterwards).
//! Without a reachable PostgreSQL the PostgreSQL half is skipped with one line saying so, unless
//! TEST_POSTGRES=require, which makes it a failure (as .ci/run does).

mod app;
mod database;
mod process;

pub use app::{assert_error, basic, form, sample, spawn_app, spawn_app_with, TestApp, TestClient};
pub use database::{Backend, TestDb};
pub use process::{served_fingerprint, Served};
