//! Liveness and readiness.

use serde_json::Value;

use crate::helpers::{spawn_app, Backend};

on_both_backends!(healthz_and_readyz_answer_when_the_database_does);

async fn healthz_and_readyz_answer_when_the_database_does(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["database"], if backend == Backend::Sqlite { "sqlite" } else { "postgres" });
    app.auth.store.close().await;
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503, "readiness follows the database");
}
