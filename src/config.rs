//! Settings: built-in defaults, then the config file (`--config`), then `DATABASE_URL`, then
//! `OAUTHD_*` environment variables (`OAUTHD_SECTION__KEY`, e.g. `OAUTHD_DATABASE__URL`).
//! Every setting is documented in `config/oauthd.toml`. Unknown keys and bad values fail at start
//! with a message naming the setting; secrets (the database URL may carry a password) never print.
//!
//! As container platforms expect, each of those variables also has a `_FILE` form
//! (`DATABASE_URL_FILE`, `OAUTHD_DATABASE__URL_FILE=/run/secrets/db_url`, …) that reads the value
//! from a file, without its trailing newline. No setting name ends in `_file`, so the suffix is
//! never ambiguous.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::str::FromStr;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use ipnet::IpNet;
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
    pub metrics: MetricsSettings,
    pub janitor: JanitorSettings,
    pub tls: TlsSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Serve Prometheus metrics at `/metrics`.
    pub enabled: bool,
    /// Serve them on this separate address instead of the main listener (empty: main listener).
    pub listen: Option<SocketAddr>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings { enabled: true, listen: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port the HTTP listener binds.
    pub listen: SocketAddr,
    /// Scopes advertised as `scopes_supported` in the RFC 8414 metadata (omitted when empty).
    pub scopes_supported: Vec<String>,
    /// A request that takes longer is answered 408 and dropped.
    pub request_timeout_secs: u64,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// How long shutdown waits for in-flight requests before giving up.
    pub shutdown_grace_secs: u64,
    /// The public base URL clients use (`https://auth.example.com`; the RFC 8414 issuer, the `iss`
    /// of introspection); empty = derived from the listener. Plain http only on loopback. When it is https and the listener is plain HTTP, credentials must arrive through
    /// a trusted TLS-terminating proxy.
    pub issuer: String,
    /// Peers (IPs or CIDR networks) whose `X-Forwarded-Proto` header is believed.
    pub trusted_proxies: TrustedProxies,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            scopes_supported: Vec::new(),
            request_timeout_secs: 30,
            body_limit_bytes: 64 * 1024,
            shutdown_grace_secs: 25,
            issuer: String::new(),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// HTTPS on `server.listen`: PEM files (re-read on SIGHUP and when they change) or a
/// self-signed certificate generated at start for local use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first; with `key_path`, turns TLS on.
    pub cert_path: String,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the certificate.
    pub key_path: String,
    /// Generate a self-signed certificate at start (for local use; its SHA-256 is logged).
    pub self_signed: bool,
    /// Names and addresses the self-signed certificate is valid for.
    pub self_signed_hosts: Vec<String>,
    /// How often the PEM files are checked for a change; 0 = only on SIGHUP.
    pub reload_check_secs: u64,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            cert_path: String::new(),
            key_path: String::new(),
            self_signed: false,
            self_signed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            reload_check_secs: 10,
        }
    }
}

impl TlsSettings {
    /// Whether `server.listen` serves HTTPS.
    pub fn enabled(&self) -> bool {
        self.self_signed || !self.cert_path.is_empty()
    }
}

/// IP addresses and networks, written `["127.0.0.1", "10.0.0.0/8"]` in TOML and
/// `[127.0.0.1,10.0.0.0/8]` (or `127.0.0.1,10.0.0.0/8`) in an environment variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|net| net.contains(&peer))
    }

    fn parse_one(s: &str) -> Result<IpNet, String> {
        let s = s.trim();
        IpNet::from_str(s)
            .or_else(|_| IpAddr::from_str(s).map(IpNet::from))
            .map_err(|_| format!("`{s}` is not an IP address or CIDR network"))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<String>),
            One(String),
        }
        let items = match OneOrMany::deserialize(deserializer)? {
            OneOrMany::Many(items) => items,
            OneOrMany::One(s) => s.split(',').filter(|p| !p.trim().is_empty()).map(str::to_owned).collect(),
        };
        items
            .iter()
            .map(|s| TrustedProxies::parse_one(s))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
            .map_err(serde::de::Error::custom)
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
    /// Ping each pooled connection before handing it out (one more round trip per query). On
    /// PostgreSQL a connection reused within 2 s of its last clean statement skips it
    /// (`store::checkout`).
    pub test_before_acquire: bool,
    /// Apply pending migrations whenever a command opens the database.
    pub migrate_on_start: bool,
    /// Client rows a server keeps in memory, coherent with the database (a change reaches every
    /// instance within 1 s, on PostgreSQL within milliseconds); 0 reads every client from the
    /// database.
    pub client_cache_capacity: usize,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: DatabaseUrl::new("sqlite://data/oauthd.db"),
            max_connections: 0,
            acquire_timeout_secs: 5,
            test_before_acquire: false,
            migrate_on_start: true,
            client_cache_capacity: 10_000,
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
    /// Rotate refresh tokens on every use (a client's own policy may turn it off).
    pub rotate_refresh_tokens: bool,
    /// Issue a refresh token with client_credentials grants (to clients allowed refresh_token).
    pub client_credentials_refresh: bool,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_lifetime_secs: 3600,
            refresh_lifetime_secs: 14 * 24 * 3600,
            family_lifetime_secs: 0,
            revoke_access_on_refresh: true,
            replay_window_secs: 10,
            rotate_refresh_tokens: true,
            client_credentials_refresh: true,
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
        LogSettings { format: LogFormat::Text, filter: "info".into() }
    }
}

/// The background janitor that deletes dead tokens and grant families (see `src/janitor.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JanitorSettings {
    /// Run passes in the background while serving; `oauthd cleanup` runs one pass regardless.
    pub enabled: bool,
    /// Seconds between the end of one pass and the start of the next.
    pub interval_secs: u64,
    /// How long a dead row (expired, revoked, or a rotated token of a dead family) is kept after
    /// it died, for audit and debugging. Should exceed `server.request_timeout_secs`.
    pub retention_secs: i64,
    /// Most rows one delete statement removes; the pass loops batch by batch.
    pub batch_size: u32,
}

impl Default for JanitorSettings {
    fn default() -> Self {
        JanitorSettings { enabled: true, interval_secs: 60, retention_secs: 3600, batch_size: 1000 }
    }
}

/// Upper bound of `janitor.batch_size`: a batch binds up to this many family ids as parameters,
/// well under SQLite's 32766 and PostgreSQL's 65535.
pub const MAX_JANITOR_BATCH: u32 = 10_000;

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
    Invalid { setting: &'static str, problem: String },
}

impl Settings {
    /// Loads defaults, the optional file, `DATABASE_URL` and `OAUTHD_*` variables, then validates.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = config_file {
            if !path.is_file() {
                return Err(ConfigError::Load(format!("config file {} not found", path.display())));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let from_files = file_variables()?;
        figment = figment.merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()));
        for (key, value, _) in from_files.iter().filter(|(_, _, db)| *db) {
            figment = figment.merge(Serialized::default(key, value));
        }
        figment = figment.merge(
            Env::prefixed("OAUTHD_")
                .ignore(&["CONFIG"])
                .filter(|key| !key.as_str().to_ascii_uppercase().ends_with("_FILE"))
                .split("__"),
        );
        for (key, value, _) in from_files.iter().filter(|(_, _, db)| !*db) {
            figment = figment.merge(Serialized::default(key, value));
        }
        let settings: Settings = figment.extract().map_err(|e| ConfigError::Load(describe(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting, problem: &str| Err(ConfigError::Invalid { setting, problem: problem.into() });
        validate_issuer(&self.server.issuer)
            .map_err(|problem| ConfigError::Invalid { setting: "server.issuer", problem })?;
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
            return invalid("tokens.family_lifetime_secs", "must be 0 (unlimited) or more");
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
            return invalid("security.argon2_memory_kib", "argon2id needs at least 8192 KiB and 1 iteration");
        }
        if self.janitor.interval_secs == 0 {
            return invalid("janitor.interval_secs", "must be greater than 0");
        }
        if self.janitor.retention_secs < 0 {
            return invalid("janitor.retention_secs", "must be 0 or more");
        }
        if !(1..=MAX_JANITOR_BATCH).contains(&self.janitor.batch_size) {
            return invalid("janitor.batch_size", "must be between 1 and 10000");
        }
        let tls = &self.tls;
        if tls.cert_path.is_empty() != tls.key_path.is_empty() {
            return invalid(
                if tls.cert_path.is_empty() { "tls.cert_path" } else { "tls.key_path" },
                "must be set together with the other (tls.cert_path and tls.key_path)",
            );
        }
        if tls.self_signed && !tls.cert_path.is_empty() {
            return invalid(
                "tls.self_signed",
                "cannot be combined with tls.cert_path: use either files or a generated certificate",
            );
        }
        if tls.self_signed && tls.self_signed_hosts.iter().all(|h| h.trim().is_empty()) {
            return invalid("tls.self_signed_hosts", "must name at least one host");
        }
        Ok(())
    }

    /// Whether the issuer is https while `server.listen` serves plain HTTP: TLS is then
    /// terminated by a proxy in front, and only a trusted one may say a request came over TLS.
    pub fn behind_tls_proxy(&self) -> bool {
        self.server.issuer.starts_with("https://") && !self.tls.enabled()
    }

    /// The public base URL: `server.issuer`, or the listener's own URL.
    pub fn issuer(&self, local: SocketAddr) -> String {
        if self.server.issuer.is_empty() {
            let scheme = if self.tls.enabled() { "https" } else { "http" };
            format!("{scheme}://{local}")
        } else {
            self.server.issuer.trim_end_matches('/').to_owned()
        }
    }
}

/// The `_FILE` variables: `(setting key, value, is DATABASE_URL_FILE)` for each one set.
/// `OAUTHD_TLS__KEY_PATH_FILE` names `tls.key_path`; `DATABASE_URL_FILE` names `database.url`.
fn file_variables() -> Result<Vec<(String, figment::value::Value, bool)>, ConfigError> {
    let mut found = Vec::new();
    for (name, path) in std::env::vars_os() {
        let Some(name) = name.to_str() else {
            continue;
        };
        let upper = name.to_ascii_uppercase();
        let Some(plain) = upper.strip_suffix("_FILE") else {
            continue;
        };
        let (key, is_database_url) = if plain == "DATABASE_URL" {
            ("database.url".to_owned(), true)
        } else if let Some(setting) = plain.strip_prefix("OAUTHD_") {
            (setting.to_ascii_lowercase().replace("__", "."), false)
        } else {
            continue;
        };
        if std::env::var_os(plain).is_some() {
            return Err(ConfigError::Load(format!("both {plain} and {name} are set; use one")));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::Load(format!("{name}: cannot read {}: {e}", Path::new(&path).display())))?;
        let text = text.trim_end_matches(['\n', '\r']);
        // Parsed as figment parses environment variables, so `[a,b]`, numbers and booleans work
        // the same way from a file; the database URL always stays a string.
        let value = if is_database_url || key.ends_with(".url") {
            figment::value::Value::from(text.to_owned())
        } else {
            figment::value::Value::from_str(text).unwrap_or_else(|never| match never {})
        };
        found.push((key, value, is_database_url));
    }
    Ok(found)
}

/// RFC 8414 §2: the issuer is an https URL with no query or fragment. Plain http is accepted for
/// local use only (a loopback host).
fn validate_issuer(issuer: &str) -> Result<(), String> {
    if issuer.is_empty() {
        return Ok(());
    }
    let url =
        url::Url::parse(issuer).map_err(|_| "must be an absolute URL such as https://auth.example.com".to_owned())?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment (RFC 8414 section 2)".into());
    }
    let local = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if local => Ok(()),
        "http" => Err("must be https (plain http is allowed for localhost only)".into()),
        _ => Err("must be an https URL".into()),
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
