//! Settings: built-in defaults, then the config file (`--config`), then `DATABASE_URL`, then
//! `OAUTHD_*` environment variables (`OAUTHD_SECTION__KEY`, e.g. `OAUTHD_DATABASE__URL`).
//! Every setting is documented in `config/oauthd.toml`. Unknown keys and bad values fail at start
//! with a message naming the setting; secrets (the database URL may carry a password) never print.

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub tokens: TokenSettings,
    pub security: SecuritySettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port the HTTP listener binds.
    pub listen: SocketAddr,
    /// A request that takes longer is answered 408 and dropped.
    pub request_timeout_secs: u64,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// How long shutdown waits for in-flight requests before giving up.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout_secs: 30,
            body_limit_bytes: 64 * 1024,
            shutdown_grace_secs: 25,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (created on first start) or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`.
    pub url: DatabaseUrl,
    /// Pool size; 0 picks 1 for SQLite (one writer, no SQLITE_BUSY) and 10 for PostgreSQL.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before failing.
    pub acquire_timeout_secs: u64,
    /// Apply pending migrations whenever a command opens the database.
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: DatabaseUrl::new("sqlite://data/oauthd.db"),
            max_connections: 0,
            acquire_timeout_secs: 5,
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Lifetime of an access token (RFC 6749 `expires_in`).
    pub access_lifetime_secs: i64,
    /// Lifetime of each refresh token; a rotation issues a fresh one with a new expiry.
    pub refresh_lifetime_secs: i64,
    /// Absolute lifetime of a whole grant family from its first grant; 0 = unlimited.
    pub family_lifetime_secs: i64,
    /// Revoke the previous access token when its refresh token is rotated.
    pub revoke_access_on_refresh: bool,
    /// Seconds during which a just-rotated refresh token, presented again by the same client with
    /// the same scope, gets the very same response instead of counting as reuse; 0 = strict.
    pub replay_window_secs: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_lifetime_secs: 3600,
            refresh_lifetime_secs: 14 * 24 * 3600,
            family_lifetime_secs: 0,
            revoke_access_on_refresh: true,
            replay_window_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecuritySettings {
    /// argon2id verifications running at once; 0 = one per CPU core.
    pub max_concurrent_hashes: usize,
    /// argon2id verifications allowed to queue behind those; more are refused with 503.
    pub max_queued_hashes: usize,
    /// argon2id memory cost in KiB for new hashes (the argon2 crate's default is 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations for new hashes.
    pub argon2_iterations: u32,
    /// Clients whose verified secret is remembered (as a keyed MAC) so repeat authentications
    /// skip argon2id; also bounds the failure records. 0 disables the cache.
    pub secret_cache_capacity: usize,
    /// Consecutive failed authentications of one client id after which attempts are refused at
    /// once for a backoff (1 s, doubling per further failure); 0 disables the backoff.
    pub client_failure_threshold: u32,
    /// Longest backoff after repeated failures, in seconds.
    pub client_failure_backoff_max_secs: u64,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            max_concurrent_hashes: 0,
            max_queued_hashes: 256,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            secret_cache_capacity: 10_000,
            client_failure_threshold: 5,
            client_failure_backoff_max_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `oauthd=debug,tower_http=info`; RUST_LOG overrides it.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The database URL; it may hold a password, so it never prints.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: &str) -> Self {
        DatabaseUrl(SecretString::from(url.to_owned()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    pub fn is_postgres(&self) -> bool {
        let u = self.expose();
        u.starts_with("postgres://") || u.starts_with("postgresql://")
    }
    pub fn is_sqlite(&self) -> bool {
        self.expose().starts_with("sqlite:")
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.expose().split(':').next().unwrap_or_default();
        write!(f, "{scheme}://[redacted]")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Load(String),
    #[error("invalid configuration: `{setting}` {problem}")]
    Invalid {
        setting: &'static str,
        problem: String,
    },
}

impl Settings {
    /// Loads defaults, the optional file, `DATABASE_URL` and `OAUTHD_*` variables, then validates.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = config_file {
            if !path.is_file() {
                return Err(ConfigError::Load(format!(
                    "config file {} not found",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database.url".into()),
            )
            .merge(Env::prefixed("OAUTHD_").ignore(&["CONFIG"]).split("__"));
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Load(describe(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting, problem: &str| {
            Err(ConfigError::Invalid {
                setting,
                problem: problem.into(),
            })
        };
        if !self.database.url.is_postgres() && !self.database.url.is_sqlite() {
            return invalid("database.url", "must start with postgres:// or sqlite://");
        }
        if self.tokens.access_lifetime_secs <= 0 {
            return invalid("tokens.access_lifetime_secs", "must be greater than 0");
        }
        if self.tokens.refresh_lifetime_secs <= 0 {
            return invalid("tokens.refresh_lifetime_secs", "must be greater than 0");
        }
        if self.tokens.family_lifetime_secs < 0 {
            return invalid(
                "tokens.family_lifetime_secs",
                "must be 0 (unlimited) or more",
            );
        }
        if self.tokens.replay_window_secs < 0 {
            return invalid("tokens.replay_window_secs", "must be 0 (strict) or more");
        }
        if self.server.request_timeout_secs == 0 {
            return invalid("server.request_timeout_secs", "must be greater than 0");
        }
        if self.server.body_limit_bytes < 1024 {
            return invalid("server.body_limit_bytes", "must be at least 1024");
        }
        if self.security.argon2_memory_kib < 8 * 1024 || self.security.argon2_iterations == 0 {
            return invalid(
                "security.argon2_memory_kib",
                "argon2id needs at least 8192 KiB and 1 iteration",
            );
        }
        Ok(())
    }
}

/// figment's message names the key and where it came from, but for a secret it may quote the
/// value: never echo values of `database.url`.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.contains("url") {
                format!("`{key}` has an invalid value")
            } else if key.is_empty() {
                e.to_string()
            } else {
                format!("`{key}`: {e}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
