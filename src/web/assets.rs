//! The one stylesheet, compiled into the binary and served by oauthd itself (no CDN: the pages
//! work offline and behind firewalls).

use axum::http::header;
use axum::response::IntoResponse;

pub const STYLESHEET: &str = "/static/oauthd.css";

pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/oauthd.css"),
    )
}
