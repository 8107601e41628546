//! oauthd: a standalone OAuth 2.0 authorization server.
//!
//! Layers point one way: [`http`] extracts and answers, [`oauth`] decides, [`store`] persists.

pub mod admin;
pub mod cli;
pub mod clock;
pub mod config;
pub mod healthcheck;
pub mod http;
pub mod janitor;
pub mod metrics;
pub mod oauth;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod web;
