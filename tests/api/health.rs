//! Liveness and readiness.

use serde_json::Value;

use crate::helpers::{Backend, TestApp};

on_both_backends!(healthz_and_readyz_answer_when_the_database_does);

async fn healthz_and_readyz_answer_when_the_database_does(app: TestApp) {
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["database"], if app.backend == Backend::Sqlite { "sqlite" } else { "postgres" });
    app.auth.store.close().await;
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503, "readiness follows the database");
}
