//! Configuration errors name the setting and never print secrets.

use crate::helpers::{oauthd, Run};

/// `oauthd ARGS migrate` in an empty directory with `envs` set: (exited 0, stderr).
fn migrate_with(envs: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let ran = oauthd(args).arg("migrate").current_dir(dir.path()).envs(envs.iter().copied()).run();
    (ran.success, ran.stderr)
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
    oauthd(&["migrate"]).current_dir(dir.path()).run_ok();
    assert!(dir.path().join("data/oauthd.db").is_file());
}

mod file_variables {
    //! `*_FILE` variables read a setting's value from a file, as container secrets are mounted.

    use crate::helpers::{oauthd, Run, TestApp, TestClient};

    on_both_backends!(database_url_file_reads_the_url_from_a_secret_file);

    async fn database_url_file_reads_the_url_from_a_secret_file(app: TestApp) {
        let secrets = tempfile::tempdir().unwrap();
        let path = secrets.path().join("database_url");
        std::fs::write(&path, format!("{}\n", app.database_url)).unwrap();
        for variable in ["DATABASE_URL_FILE", "OAUTHD_DATABASE__URL_FILE"] {
            let ran = oauthd(&["client", "create", "--name", "from-file", "--json"])
                .args(["--grant-type", "client_credentials", "--scope", "PRODUCTION"])
                .env(variable, &path)
                .run();
            assert!(ran.success, "{variable}: {}", ran.stderr);
            let created = ran.json();
            let client = TestClient::from_json(&created);
            // Created in the test's database, where the running server finds it.
            app.client_credentials(&client, "PRODUCTION").await;
        }
    }

    fn migrate_with_file(variable: &str, content: &str, also: &[(&str, &str)]) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value");
        std::fs::write(&path, content).unwrap();
        let mut envs = vec![(variable, path.to_str().unwrap())];
        envs.extend_from_slice(also);
        super::migrate_with(&envs, &[])
    }

    #[test]
    fn a_file_value_is_parsed_and_validated_like_the_variable() {
        let (ok, err) = migrate_with_file("OAUTHD_TOKENS__ACCESS_LIFETIME_SECS_FILE", "-5\n", &[]);
        assert!(!ok);
        assert!(err.contains("tokens.access_lifetime_secs"), "{err}");
        let (ok, err) = migrate_with_file("OAUTHD_SERVER__TRUSTED_PROXIES_FILE", "[127.0.0.1,10.0.0.0/8]\n", &[]);
        assert!(ok, "{err}");
    }

    #[test]
    fn a_variable_and_its_file_form_together_are_refused() {
        let (ok, err) = migrate_with_file("OAUTHD_LOG__FILTER_FILE", "info\n", &[("OAUTHD_LOG__FILTER", "debug")]);
        assert!(!ok);
        assert!(err.contains("OAUTHD_LOG__FILTER_FILE"), "{err}");
    }

    #[test]
    fn an_unreadable_file_names_the_variable_and_a_secret_file_is_never_echoed() {
        let (ok, err) = super::migrate_with(&[("OAUTHD_DATABASE__URL_FILE", "/nonexistent/database_url")], &[]);
        assert!(!ok);
        assert!(err.contains("OAUTHD_DATABASE__URL_FILE"), "{err}");
        let (ok, err) = migrate_with_file("DATABASE_URL_FILE", "mysql://root:hunter2@db/x\n", &[]);
        assert!(!ok);
        assert!(err.contains("database.url"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn no_setting_name_ends_in_file_so_the_suffix_is_never_ambiguous() {
        let documented = include_str!("../../config/oauthd.toml");
        let keys: Vec<&str> = documented
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with('[') && l.contains(" = "))
            .filter_map(|l| l.split(" = ").next())
            .collect();
        assert!(keys.contains(&"cert_path"));
        for key in keys {
            assert!(!key.ends_with("_file"), "{key}");
        }
    }
}

#[test]
fn tls_and_issuer_settings_are_validated_with_their_names() {
    for (envs, setting) in [
        (vec![("OAUTHD_TLS__CERT_PATH", "/x/cert.pem")], "tls.key_path"),
        (
            vec![
                ("OAUTHD_TLS__CERT_PATH", "/x/cert.pem"),
                ("OAUTHD_TLS__KEY_PATH", "/x/key.pem"),
                ("OAUTHD_TLS__SELF_SIGNED", "true"),
            ],
            "tls.self_signed",
        ),
        (vec![("OAUTHD_SERVER__ISSUER", "auth.example.com")], "server.issuer"),
        (vec![("OAUTHD_SERVER__ISSUER", "https://a.example?x=1")], "server.issuer"),
        (vec![("OAUTHD_SERVER__TRUSTED_PROXIES", "[10.0.0.0/8,not-an-ip]")], "server.trusted_proxies"),
    ] {
        let (ok, err) = migrate_with(&envs, &[]);
        assert!(!ok, "{envs:?}");
        assert!(err.contains(setting), "{envs:?}: {err}");
    }
    let (ok, err) = migrate_with(&[("OAUTHD_SERVER__TRUSTED_PROXIES", "10.0.0.1, ::1")], &[]);
    assert!(ok, "a comma-separated list without brackets: {err}");
}
