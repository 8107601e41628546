//! The database each test gets: a SQLite file in a temporary directory, or a uniquely named
//! PostgreSQL database on TEST_POSTGRES_URL, dropped afterwards.

use std::sync::Once;

use sqlx::{Connection, Executor, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_base_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn postgres_required() -> bool {
    std::env::var("TEST_POSTGRES").is_ok_and(|v| v == "require")
}

/// A database that exists for one test.
pub enum TestDb {
    /// Holds the directory until the test ends.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        name: String,
    },
}

impl TestDb {
    /// A fresh, empty SQLite database (a file in a temporary directory) and its URL.
    pub fn sqlite() -> (TestDb, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/oauthd.db", dir.path().display());
        (TestDb::Sqlite(dir), url)
    }

    /// A fresh, empty database; `None` when PostgreSQL is wanted but not reachable (and not required).
    pub async fn create(backend: Backend) -> Option<(TestDb, String)> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite()),
            Backend::Postgres => {
                let base = postgres_base_url();
                let mut conn = match PgConnection::connect(&base).await {
                    Ok(c) => c,
                    Err(e) if !postgres_required() => {
                        static SKIPPED: Once = Once::new();
                        SKIPPED.call_once(|| {
                            eprintln!(
                                "PostgreSQL tests skipped: cannot reach {base} ({e}); start PostgreSQL or set TEST_POSTGRES_URL, and TEST_POSTGRES=require to fail instead of skipping"
                            )
                        });
                        return None;
                    }
                    Err(e) => {
                        panic!("TEST_POSTGRES=require but PostgreSQL at {base} is unreachable: {e}")
                    }
                };
                let name = format!("oauthd_t_{}", uuid::Uuid::new_v4().simple());
                conn.execute(format!(r#"create database "{name}""#).as_str()).await.expect("create test database");
                let url = format!("{}/{name}", base.rsplit_once('/').expect("database in URL").0);
                Some((TestDb::Postgres { name }, url))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name } = self {
            let name = name.clone();
            let dropper = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    if let Ok(mut conn) = PgConnection::connect(&postgres_base_url()).await {
                        let _ =
                            conn.execute(format!(r#"drop database if exists "{name}" with (force)"#).as_str()).await;
                    }
                });
            });
            let _ = dropper.join();
        }
    }
}
