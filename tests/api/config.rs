//! Configuration errors name the setting and never print secrets.

use std::process::Command;

fn migrate_with(envs: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oauthd"));
    cmd.current_dir(dir.path()).args(args).arg("migrate");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn an_invalid_value_names_the_setting() {
    let (ok, err) = migrate_with(&[("OAUTHD_TOKENS__ACCESS_LIFETIME_SECS", "-5")], &[]);
    assert!(!ok);
    assert!(err.contains("tokens.access_lifetime_secs"), "{err}");
    let (ok, err) = migrate_with(&[("OAUTHD_SERVER__LISTEN", "not an address")], &[]);
    assert!(!ok);
    assert!(err.contains("server.listen"), "{err}");
}

#[test]
fn an_unknown_key_in_the_config_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oauthd.toml");
    std::fs::write(&path, "[tokens]\naccess_lifetime = 5\n").unwrap();
    let (ok, err) = migrate_with(&[], &["--config", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("access_lifetime"), "{err}");
}

#[test]
fn a_bad_database_url_is_named_but_its_password_never_printed() {
    let (ok, err) = migrate_with(&[("OAUTHD_DATABASE__URL", "mysql://root:hunter2@db/x")], &[]);
    assert!(!ok);
    assert!(err.contains("database.url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let (ok, err) = migrate_with(&[("DATABASE_URL", "postgres://root:hunter2@127.0.0.1:1/x")], &[]);
    assert!(!ok, "DATABASE_URL is honoured (and this one is unreachable)");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn the_documented_config_file_loads_and_equals_the_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/oauthd.toml");
    let loaded = oauthd::config::Settings::load(Some(std::path::Path::new(path))).expect("config/oauthd.toml loads");
    let defaults = oauthd::config::Settings::default();
    assert_eq!(format!("{loaded:?}"), format!("{defaults:?}"), "config/oauthd.toml documents the defaults");
}

#[test]
fn migrate_creates_the_default_sqlite_database_under_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oauthd")).current_dir(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("data/oauthd.db").is_file());
}
