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

mod issuer;
use crate::oauth::password_hash;
pub use issuer::Issuer;

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
    pub admin: AdminSettings,
    pub console: ConsoleSettings,
    pub ui: UiSettings,
    pub sessions: SessionSettings,
    pub users: UserSettings,
    pub login: LoginSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Serve Prometheus metrics at `/metrics`.
    pub enabled: bool,
    /// Serve them on this separate address instead of the main listener (empty: main listener).
    pub listen: Option<SocketAddr>,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <this token>`
    /// (compared in constant time); unset, it is public on its listener.
    pub bearer_token: Option<SecretString>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings { enabled: true, listen: None, bearer_token: None }
    }
}

/// Shortest accepted `metrics.bearer_token`.
pub const MIN_METRICS_TOKEN_LEN: usize = 16;

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
    /// of introspection); empty = derived from the listener. Plain http only on loopback (or with
    /// `allow_insecure_http`); never a wildcard address. When it is https and the listener is
    /// plain HTTP, credentials must arrive through a trusted TLS-terminating proxy.
    #[serde(deserialize_with = "issuer::deserialize_optional")]
    pub issuer: Option<Issuer>,
    /// Peers (IPs or CIDR networks) whose `X-Forwarded-Proto` header is believed.
    pub trusted_proxies: TrustedProxies,
    /// Serve plain HTTP on a non-loopback address without declaring a TLS-terminating proxy
    /// (development only; a warning is logged at start).
    pub allow_insecure_http: bool,
    /// A connection must deliver a request's headers within this many seconds of its first byte
    /// (or of being accepted, for its first request), or it is closed.
    pub header_read_timeout_secs: u64,
    /// A keep-alive connection with no request in flight is closed after this many seconds.
    pub idle_timeout_secs: u64,
    /// Connections served at once; further ones wait in the kernel's accept queue.
    pub max_connections: usize,
}

/// Upper bounds of the connection settings: `server.header_read_timeout_secs`,
/// `server.idle_timeout_secs`, `server.max_connections`.
pub const MAX_HEADER_READ_TIMEOUT_SECS: u64 = 300;
pub const MAX_IDLE_TIMEOUT_SECS: u64 = 3600;
pub const MAX_CONNECTIONS: usize = 100_000;

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            scopes_supported: Vec::new(),
            request_timeout_secs: 30,
            body_limit_bytes: 64 * 1024,
            shutdown_grace_secs: 25,
            issuer: None,
            trusted_proxies: TrustedProxies::default(),
            allow_insecure_http: false,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 1024,
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
    /// Keep the self-signed certificate in this directory (`self-signed.pem`, `self-signed.key`):
    /// generated on first start, read on the next ones, so its fingerprint stays. Empty: a new one
    /// at every start, kept in memory only.
    pub self_signed_dir: String,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            cert_path: String::new(),
            key_path: String::new(),
            self_signed: false,
            self_signed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            reload_check_secs: 10,
            self_signed_dir: String::new(),
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
    /// Pool size; 0 picks 1 for SQLite (one writer, no SQLITE_BUSY) and 20 for PostgreSQL.
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
    /// Lifetime of an authorization code (RFC 6749 §4.1.2: "A maximum authorization code lifetime
    /// of 10 minutes is RECOMMENDED"); 1 to 600.
    pub code_lifetime_secs: i64,
    /// The replay window of public clients (no secret), 0 to 60; their own `--replay-window`
    /// still wins. See `DEFAULT_PUBLIC_REPLAY_WINDOW_SECS`.
    pub public_replay_window_secs: i64,
}

/// Public clients' replay window by default: 2 s. The window exists for the same refresh sent
/// twice — two tabs of a single-page app refreshing at once, a retry after a lost response — and
/// those arrive within a round trip or two of each other. A public client has no secret, so inside
/// the window a copied, just-rotated refresh token alone is enough to receive the live pair
/// without setting off reuse detection; a fifth of the confidential default keeps that exposure
/// to about one request's time.
pub const DEFAULT_PUBLIC_REPLAY_WINDOW_SECS: i64 = 2;

/// Upper bound of every replay window: `tokens.replay_window_secs`,
/// `tokens.public_replay_window_secs` and each client's own. Inside the window a holder of a
/// just-rotated refresh token (and, for a confidential client, its secret) receives the live pair
/// without setting off reuse detection; README's security notes say why 60 s.
pub const MAX_REPLAY_WINDOW_SECS: i64 = 60;

/// Upper bound of `tokens.code_lifetime_secs`: RFC 6749 §4.1.2's recommended maximum.
pub const MAX_CODE_LIFETIME_SECS: i64 = 600;

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
            code_lifetime_secs: 60,
            public_replay_window_secs: DEFAULT_PUBLIC_REPLAY_WINDOW_SECS,
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
    /// How long a security event is kept before the janitor deletes it (`security_event` table).
    pub event_retention_secs: i64,
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
            event_retention_secs: DEFAULT_EVENT_RETENTION_SECS,
        }
    }
}

/// Security events are kept 90 days by default.
pub const DEFAULT_EVENT_RETENTION_SECS: i64 = 90 * 24 * 3600;

/// The password policy of `user create`, `user set-password`/`update` and the admin API's user
/// routes (src/admin/users.rs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserSettings {
    /// Shortest password accepted, in characters (at most [`MAX_PASSWORD_BYTES`]).
    pub min_password_length: usize,
}

impl Default for UserSettings {
    fn default() -> Self {
        UserSettings { min_password_length: 12 }
    }
}

/// Longest password accepted, in bytes: what argon2id is asked to hash stays bounded.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Upper bound of every lifetime and retention: 10 years. Unix time plus this stays far inside
/// an i64 (and inside what both databases store).
pub const MAX_LIFETIME_SECS: i64 = 10 * 365 * 24 * 3600;

/// Upper bounds of `security.max_concurrent_hashes` and `security.max_queued_hashes` (each
/// argon2id queue holds up to their sum; tokio's semaphores hold far more, but memory would not).
pub const MAX_CONCURRENT_HASHES: usize = 1024;
pub const MAX_QUEUED_HASHES: usize = 65_536;

/// OWASP's argon2id floor (Password Storage Cheat Sheet): m=47104 (46 MiB) with t=1, m=19456
/// (19 MiB) with t=2, m=12288 with t=3, m=9216 with t=4, m=7168 with t=5 or more; p=1.
pub fn owasp_memory_floor_kib(iterations: u32) -> u32 {
    match iterations {
        0 | 1 => 47_104,
        2 => 19_456,
        3 => 12_288,
        4 => 9_216,
        _ => 7_168,
    }
}

/// Upper bound of `login.max_delay_secs`: a day.
pub const MAX_LOGIN_DELAY_SECS: i64 = 24 * 3600;

/// Upper bound of `login.failure_delay_ms`: five seconds.
pub const MAX_FAILURE_DELAY_MS: u64 = 5000;

/// The login throttle of the password grant and the sign-in page (src/oauth/throttle.rs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginSettings {
    /// Consecutive failed sign-ins to one username (existing or not) after which its attempts are
    /// refused for a delay: 1 s, doubling with each further failure; 0 turns this off.
    pub account_failure_threshold: u32,
    /// The same for one client address (an IPv6 client's /64), across usernames; 0 turns it off.
    pub address_failure_threshold: u32,
    /// Longest delay, in seconds.
    pub max_delay_secs: u64,
    /// Failures are forgotten this long after the last one.
    pub forget_after_secs: i64,
    /// Every failed client authentication and every failed or throttled sign-in is answered only
    /// after this many milliseconds (0: at once). The wait holds no database connection and no
    /// hashing slot; it caps what one connection of a guessing flood can try per second, so
    /// refusals that cost the server little cannot be sent fast enough to crowd out legitimate
    /// traffic (BENCHMARKS.md, "Credential stuffing").
    pub failure_delay_ms: u64,
}

impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings {
            account_failure_threshold: 5,
            address_failure_threshold: 20,
            max_delay_secs: 300,
            forget_after_secs: 3600,
            failure_delay_ms: 250,
        }
    }
}

/// The admin API (`/admin/api/v1/`, see `src/http/admin_api.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// The scope an access token must carry to call the admin API (one RFC 6749 scope token).
    pub scope: String,
    /// Serve the admin API on this separate address, and not on `server.listen` (as Hydra's admin
    /// port); unset: on the main listener.
    pub listen: Option<SocketAddr>,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings { scope: "oauthd:admin".into(), listen: None }
    }
}

/// The self-service console: what a signed-in user may give the applications they register
/// (`src/admin/applications.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// The scopes a user may give their own applications (and so request for their tokens); never
    /// `admin.scope`.
    pub allowed_scopes: Vec<String>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings { allowed_scopes: vec!["PRODUCTION".into(), "SANDBOX".into()] }
    }
}

/// The pages people see: sign-in, consent, sign-out (`src/web.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiSettings {
    /// The product name in every page's header and title.
    pub product_name: String,
    /// An https URL (or a path on this server) of a logo shown beside the name; empty: none.
    pub logo_url: String,
    /// What each scope lets an application do, shown on the consent page (`{ PRODUCTION = "…" }`);
    /// a scope without a description is shown by its name.
    pub scope_descriptions: std::collections::BTreeMap<String, String>,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings { product_name: "oauthd".into(), logo_url: String::new(), scope_descriptions: Default::default() }
    }
}

/// Sign-in sessions of the pages: server-side rows referenced by a cookie.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session unused for this long ends; 60 to 86400.
    pub idle_secs: i64,
    /// A session ends this long after sign-in whatever its use; at least `idle_secs`, at most
    /// 30 days.
    pub absolute_secs: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings { idle_secs: 30 * 60, absolute_secs: 12 * 3600 }
    }
}

/// Upper bounds of the session lifetimes.
pub const MAX_SESSION_IDLE_SECS: i64 = 24 * 3600;
pub const MAX_SESSION_ABSOLUTE_SECS: i64 = 30 * 24 * 3600;

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
    /// Seconds between the end of one pass and the start of the next, give or take a tenth.
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
        if let Some(issuer) = &self.server.issuer {
            if !issuer.is_https() && !issuer.is_loopback() && !self.server.allow_insecure_http {
                return invalid(
                    "server.issuer",
                    "must be https (plain http is allowed for localhost only, or with server.allow_insecure_http)",
                );
            }
        }
        if !self.database.url.is_postgres() && !self.database.url.is_sqlite() {
            return invalid("database.url", "must start with postgres:// or sqlite://");
        }
        // Upper bounds keep `now + lifetime` far from overflowing (MAX_LIFETIME_SECS).
        if !(1..=MAX_LIFETIME_SECS).contains(&self.tokens.access_lifetime_secs) {
            return invalid("tokens.access_lifetime_secs", "must be between 1 and 315360000 (10 years)");
        }
        if !(1..=MAX_LIFETIME_SECS).contains(&self.tokens.refresh_lifetime_secs) {
            return invalid("tokens.refresh_lifetime_secs", "must be between 1 and 315360000 (10 years)");
        }
        if !(0..=MAX_LIFETIME_SECS).contains(&self.tokens.family_lifetime_secs) {
            return invalid("tokens.family_lifetime_secs", "must be 0 (unlimited) to 315360000 (10 years)");
        }
        if !(0..=MAX_REPLAY_WINDOW_SECS).contains(&self.tokens.replay_window_secs) {
            return invalid("tokens.replay_window_secs", "must be between 0 (strict) and 60");
        }
        if !(1..=MAX_CODE_LIFETIME_SECS).contains(&self.tokens.code_lifetime_secs) {
            return invalid("tokens.code_lifetime_secs", "must be between 1 and 600 (RFC 6749 section 4.1.2)");
        }
        if !(0..=MAX_REPLAY_WINDOW_SECS).contains(&self.tokens.public_replay_window_secs) {
            return invalid("tokens.public_replay_window_secs", "must be between 0 (strict) and 60");
        }
        if self.server.request_timeout_secs == 0 {
            return invalid("server.request_timeout_secs", "must be greater than 0");
        }
        if self.server.body_limit_bytes < 1024 {
            return invalid("server.body_limit_bytes", "must be at least 1024");
        }
        if !(1..=MAX_HEADER_READ_TIMEOUT_SECS).contains(&self.server.header_read_timeout_secs) {
            return invalid("server.header_read_timeout_secs", "must be between 1 and 300");
        }
        if !(1..=MAX_IDLE_TIMEOUT_SECS).contains(&self.server.idle_timeout_secs) {
            return invalid("server.idle_timeout_secs", "must be between 1 and 3600");
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.server.max_connections) {
            return invalid("server.max_connections", "must be between 1 and 100000");
        }
        if let Some(token) = &self.metrics.bearer_token {
            let token = token.expose_secret();
            if token.len() < MIN_METRICS_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return invalid("metrics.bearer_token", "must be at least 16 visible ASCII characters, without spaces");
            }
        }
        let (memory, iterations) = (self.security.argon2_memory_kib, self.security.argon2_iterations);
        if !(1..=password_hash::MAX_ITERATIONS).contains(&iterations) {
            return invalid("security.argon2_iterations", "must be between 1 and 10");
        }
        if memory < owasp_memory_floor_kib(iterations) || memory > password_hash::MAX_MEMORY_KIB {
            return invalid(
                "security.argon2_memory_kib",
                "must meet OWASP's argon2id floor for security.argon2_iterations (47104 KiB for 1 \
                 iteration, 19456 for 2, 12288 for 3, 9216 for 4, 7168 for 5 or more) and be at most \
                 262144 (256 MiB)",
            );
        }
        if !(1..=MAX_CONCURRENT_HASHES).contains(&self.security.max_concurrent_hashes)
            && self.security.max_concurrent_hashes != 0
        {
            return invalid("security.max_concurrent_hashes", "must be between 0 (one per core) and 1024");
        }
        if self.security.max_queued_hashes > MAX_QUEUED_HASHES {
            return invalid("security.max_queued_hashes", "must be at most 65536");
        }
        if self.security.client_failure_backoff_max_secs > MAX_LOGIN_DELAY_SECS as u64 {
            return invalid("security.client_failure_backoff_max_secs", "must be at most 86400 (a day)");
        }
        if self.janitor.interval_secs == 0 {
            return invalid("janitor.interval_secs", "must be greater than 0");
        }
        if !(0..=MAX_LIFETIME_SECS).contains(&self.janitor.retention_secs) {
            return invalid("janitor.retention_secs", "must be between 0 and 315360000 (10 years)");
        }
        if !(1..=MAX_JANITOR_BATCH).contains(&self.janitor.batch_size) {
            return invalid("janitor.batch_size", "must be between 1 and 10000");
        }
        // [users] and [login]: the password policy and the login throttle.
        if !(1..=MAX_PASSWORD_BYTES).contains(&self.users.min_password_length) {
            return invalid("users.min_password_length", "must be between 1 and 1024");
        }
        if self.login.max_delay_secs > MAX_LOGIN_DELAY_SECS as u64 {
            return invalid("login.max_delay_secs", "must be at most 86400 (a day)");
        }
        if !(1..=MAX_LOGIN_DELAY_SECS * 30).contains(&self.login.forget_after_secs) {
            return invalid("login.forget_after_secs", "must be between 1 and 2592000 (30 days)");
        }
        if self.login.failure_delay_ms > MAX_FAILURE_DELAY_MS
            || self.login.failure_delay_ms >= self.server.request_timeout_secs.saturating_mul(1000)
        {
            return invalid(
                "login.failure_delay_ms",
                "must be at most 5000 and shorter than server.request_timeout_secs",
            );
        }
        // [admin] and security.event_retention_secs (the admin API and security events).
        if !(1..=MAX_LIFETIME_SECS).contains(&self.security.event_retention_secs) {
            return invalid("security.event_retention_secs", "must be between 1 and 315360000 (10 years)");
        }
        if !is_scope_token(&self.admin.scope) {
            return invalid("admin.scope", "must be one scope token (RFC 6749 section 3.3), e.g. oauthd:admin");
        }
        if self.admin.listen.is_some() && self.admin.listen == self.metrics.listen {
            return invalid("admin.listen", "must differ from metrics.listen");
        }
        if !self.console.allowed_scopes.iter().all(|s| is_scope_token(s)) {
            return invalid("console.allowed_scopes", "must hold scope tokens (RFC 6749 section 3.3)");
        }
        // A user's own application holding the admin scope would call the admin API as itself.
        if self.console.allowed_scopes.contains(&self.admin.scope) {
            return invalid(
                "console.allowed_scopes",
                "must not hold admin.scope: users would grant themselves the admin API",
            );
        }
        // [ui] and [sessions] (the pages, src/web.rs).
        if !(60..=MAX_SESSION_IDLE_SECS).contains(&self.sessions.idle_secs) {
            return invalid("sessions.idle_secs", "must be between 60 and 86400");
        }
        if !(self.sessions.idle_secs..=MAX_SESSION_ABSOLUTE_SECS).contains(&self.sessions.absolute_secs) {
            return invalid("sessions.absolute_secs", "must be between sessions.idle_secs and 2592000 (30 days)");
        }
        if self.ui.product_name.trim().is_empty() || self.ui.product_name.chars().count() > 60 {
            return invalid("ui.product_name", "must be 1 to 60 characters");
        }
        if !self.ui.logo_url.is_empty() && !is_logo_url(&self.ui.logo_url) {
            return invalid("ui.logo_url", "must be an https URL or a path starting with /");
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

    /// The rules of serving on `server.listen`, checked when the server starts (commands that
    /// only open the database do not care where the server listens). Returns the warning to log
    /// when plain HTTP is served on a non-loopback address by the operator's explicit choice.
    ///
    /// Off loopback, oauthd serves plain HTTP only when TLS is terminated in front of it and that
    /// is declared (an https issuer and trusted proxies), or `server.allow_insecure_http` is set:
    /// RFC 6749 §3.2, the token endpoint "MUST require the use of TLS".
    pub fn check_serving(&self) -> Result<Option<String>, ConfigError> {
        let listen = self.server.listen;
        if listen.ip().is_unspecified() && self.server.issuer.is_none() {
            return Err(ConfigError::Invalid {
                setting: "server.issuer",
                problem: format!(
                    "must be set when server.listen is a wildcard address ({listen}): the URL clients use, e.g. https://auth.example.com"
                ),
            });
        }
        if listen.ip().to_canonical().is_loopback() || self.tls.enabled() {
            return Ok(None);
        }
        if self.behind_tls_proxy() && !self.server.trusted_proxies.0.is_empty() {
            return Ok(None);
        }
        if self.server.allow_insecure_http {
            return Ok(Some(format!(
                "serving plain HTTP on {listen} (server.allow_insecure_http): client secrets, passwords and tokens cross the network in cleartext; use it for development only"
            )));
        }
        Err(ConfigError::Invalid {
            setting: "server.listen",
            problem: format!(
                "{listen} is not a loopback address and would serve plain HTTP: configure [tls], or declare a TLS-terminating proxy (an https server.issuer and server.trusted_proxies), or set server.allow_insecure_http = true"
            ),
        })
    }

    /// Whether the issuer is https while `server.listen` serves plain HTTP: TLS is then
    /// terminated by a proxy in front, and only a trusted one may say a request came over TLS.
    pub fn behind_tls_proxy(&self) -> bool {
        self.server.issuer.as_ref().is_some_and(Issuer::is_https) && !self.tls.enabled()
    }

    /// The public base URL: `server.issuer`, or the listener's own URL.
    pub fn issuer(&self, local: SocketAddr) -> Issuer {
        match &self.server.issuer {
            Some(issuer) => issuer.clone(),
            None => Issuer::of_listener(self.tls.enabled(), local),
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

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// A logo the pages may show: an absolute https URL, or a path on this server.
fn is_logo_url(url: &str) -> bool {
    if url.starts_with('/') && !url.starts_with("//") {
        return !url.contains(['"', '\\', ' ']);
    }
    url::Url::parse(url).is_ok_and(|u| u.scheme() == "https" && u.host().is_some())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings that pass validation, behind a TLS proxy when `issuer` is https.
    fn with_issuer(issuer: &str) -> Settings {
        let mut s = Settings::default();
        s.server.issuer = (!issuer.is_empty()).then(|| issuer.parse().unwrap());
        s
    }

    /// `[server]` settings as a config file (or variables) would give them.
    fn server_from(toml: &str) -> Result<Settings, String> {
        let settings: Settings = Figment::new()
            .merge(Toml::string(&format!("[server]\n{toml}")))
            .extract()
            .map_err(|e| ConfigError::Load(describe(e)).to_string())?;
        settings.validate().map_err(|e| e.to_string())?;
        Ok(settings)
    }

    fn proxies(json: &str) -> Result<TrustedProxies, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn nets(items: &[&str]) -> TrustedProxies {
        TrustedProxies(items.iter().map(|s| TrustedProxies::parse_one(s).unwrap()).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The setting `validate` names after `change` is applied to valid settings.
    fn rejected(change: impl FnOnce(&mut Settings)) -> &'static str {
        let mut s = Settings::default();
        change(&mut s);
        match s.validate() {
            Err(ConfigError::Invalid { setting, .. }) => setting,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    fn accepted(change: impl FnOnce(&mut Settings)) -> bool {
        let mut s = Settings::default();
        change(&mut s);
        s.validate().is_ok()
    }

    // server.issuer (the Issuer type's own rules are tested in config/issuer.rs)

    #[test]
    fn an_empty_issuer_is_accepted_and_derived_from_the_listener() {
        let s = server_from("issuer = \"\"").unwrap();
        assert!(s.server.issuer.is_none());
        assert_eq!(s.issuer("127.0.0.1:8080".parse().unwrap()).as_str(), "http://127.0.0.1:8080");
    }

    #[test]
    fn a_bad_issuer_in_the_config_is_refused_naming_the_setting() {
        for bad in ["auth.example.com", "https://a.example/?x=1", "https://0.0.0.0:8443", "ftp://a.example"] {
            let err = server_from(&format!("issuer = \"{bad}\"")).unwrap_err();
            assert!(err.contains("server.issuer"), "{bad}: {err}");
        }
    }

    #[test]
    fn plain_http_is_refused_for_other_hosts_unless_insecure_http_is_allowed() {
        let err = server_from("issuer = \"http://auth.example.com\"").unwrap_err();
        assert!(err.contains("server.issuer"), "{err}");
        assert!(server_from("issuer = \"http://auth.example.com\"\nallow_insecure_http = true").is_ok());
        assert!(server_from("issuer = \"http://localhost:8080\"").is_ok());
    }

    #[test]
    fn an_https_issuer_on_a_plain_listener_is_behind_a_tls_proxy() {
        assert!(with_issuer("https://auth.example.com").behind_tls_proxy());
        assert!(!with_issuer("http://localhost:8080").behind_tls_proxy());
        assert!(!with_issuer("").behind_tls_proxy());
    }

    #[test]
    fn an_https_issuer_on_a_tls_listener_is_not_behind_a_proxy() {
        let mut s = with_issuer("https://auth.example.com");
        s.tls.self_signed = true;
        assert!(!s.behind_tls_proxy());
    }

    #[test]
    fn an_uppercase_https_issuer_that_validates_puts_oauthd_behind_a_tls_proxy() {
        // Finding 9: validation accepted `HTTPS://` as https while the proxy rule compared the
        // text case-sensitively, so the TLS requirement was not enforced.
        for written in ["HTTPS://auth.example.com", "Https://auth.example.com"] {
            let s = server_from(&format!("issuer = \"{written}\"")).unwrap();
            assert!(s.behind_tls_proxy(), "{written}");
            assert_eq!(s.issuer("127.0.0.1:8080".parse().unwrap()).as_str(), "https://auth.example.com");
        }
    }

    #[test]
    fn an_issuer_with_surrounding_spaces_that_validates_puts_oauthd_behind_a_tls_proxy() {
        for written in [" https://auth.example.com", "https://auth.example.com ", "\thttps://auth.example.com"] {
            let s = server_from(&format!("issuer = \"{written}\"")).unwrap();
            assert!(s.behind_tls_proxy(), "{written:?}");
            assert_eq!(s.issuer("127.0.0.1:8080".parse().unwrap()).as_str(), "https://auth.example.com");
        }
    }

    // check_serving: where plain HTTP may be served

    fn serving(change: impl FnOnce(&mut Settings)) -> Result<Option<String>, &'static str> {
        let mut s = Settings::default();
        change(&mut s);
        s.check_serving().map_err(|e| match e {
            ConfigError::Invalid { setting, .. } => setting,
            ConfigError::Load(_) => "load",
        })
    }

    #[test]
    fn plain_http_on_loopback_is_served_without_a_warning() {
        assert_eq!(serving(|_| {}), Ok(None));
        assert_eq!(serving(|s| s.server.listen = "[::1]:8080".parse().unwrap()), Ok(None));
    }

    #[test]
    fn plain_http_on_another_address_is_refused() {
        for listen in ["10.0.0.5:8080", "0.0.0.0:8080", "[::]:8080"] {
            let refused = serving(|s| {
                s.server.listen = listen.parse().unwrap();
                s.server.issuer = Some("https://auth.example.com".parse().unwrap());
            });
            assert_eq!(refused, Err("server.listen"), "{listen}: an https issuer alone declares no proxy");
        }
    }

    #[test]
    fn a_wildcard_listener_needs_an_issuer() {
        let no_issuer = |s: &mut Settings| {
            s.server.listen = "0.0.0.0:8443".parse().unwrap();
            s.tls.self_signed = true;
        };
        assert_eq!(serving(no_issuer), Err("server.issuer"));
    }

    #[test]
    fn tls_on_the_listener_may_serve_any_address() {
        assert_eq!(
            serving(|s| {
                s.server.listen = "0.0.0.0:8443".parse().unwrap();
                s.server.issuer = Some("https://auth.example.com".parse().unwrap());
                s.tls.self_signed = true;
            }),
            Ok(None)
        );
    }

    #[test]
    fn a_declared_tls_proxy_may_be_served_plain_http_on_any_address() {
        let declared = |s: &mut Settings| {
            s.server.listen = "0.0.0.0:8080".parse().unwrap();
            s.server.issuer = Some("https://auth.example.com".parse().unwrap());
            s.server.trusted_proxies = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        };
        assert_eq!(serving(declared), Ok(None));
    }

    #[test]
    fn insecure_http_is_served_off_loopback_only_when_allowed_and_then_with_a_warning() {
        let warning = serving(|s| {
            s.server.listen = "0.0.0.0:8080".parse().unwrap();
            s.server.issuer = Some("http://auth.example.com".parse().unwrap());
            s.server.allow_insecure_http = true;
        })
        .unwrap()
        .unwrap();
        assert!(warning.contains("cleartext"), "{warning}");
    }

    #[test]
    fn the_public_issuer_drops_trailing_slashes() {
        let local = SocketAddr::from(([127, 0, 0, 1], 8080));
        assert_eq!(with_issuer("https://auth.example.com/").issuer(local).as_str(), "https://auth.example.com");
        assert_eq!(with_issuer("").issuer(local).as_str(), "http://127.0.0.1:8080");
    }

    // TrustedProxies parsing

    #[test]
    fn trusted_proxies_parse_from_a_comma_separated_string() {
        assert_eq!(proxies(r#""127.0.0.1,10.0.0.0/8""#).unwrap(), nets(&["127.0.0.1/32", "10.0.0.0/8"]));
    }

    #[test]
    fn spaces_around_trusted_proxy_items_are_ignored() {
        assert_eq!(proxies(r#"" 127.0.0.1 ,  10.0.0.0/8 ""#).unwrap(), nets(&["127.0.0.1", "10.0.0.0/8"]));
        assert_eq!(proxies(r#"[" ::1 ", "fd00::/8 "]"#).unwrap(), nets(&["::1", "fd00::/8"]));
    }

    #[test]
    fn empty_items_in_a_trusted_proxy_string_are_skipped() {
        assert_eq!(proxies(r#"",127.0.0.1,, ,10.0.0.0/8,""#).unwrap(), nets(&["127.0.0.1", "10.0.0.0/8"]));
        assert_eq!(proxies(r#""""#).unwrap(), TrustedProxies::default());
        assert_eq!(proxies(r#"" , ""#).unwrap(), TrustedProxies::default());
    }

    #[test]
    fn trusted_proxies_parse_from_a_list() {
        assert_eq!(
            proxies(r#"["127.0.0.1", "::1", "10.0.0.0/8"]"#).unwrap(),
            nets(&["127.0.0.1", "::1", "10.0.0.0/8"])
        );
        assert_eq!(proxies("[]").unwrap(), TrustedProxies::default());
    }

    #[test]
    fn trusted_proxies_parse_from_an_environment_style_list() {
        let value = figment::value::Value::from_str("[127.0.0.1,10.0.0.0/8]").unwrap();
        let parsed: TrustedProxies = value.deserialize().unwrap();
        assert_eq!(parsed, nets(&["127.0.0.1", "10.0.0.0/8"]));
    }

    #[test]
    fn a_bad_trusted_proxy_item_is_an_error_naming_it() {
        for bad in [r#""10.0.0.0/33""#, r#""127.0.0.1,proxy.local""#, r#"["::1", "300.0.0.1"]"#, r#""10.0.0.0/""#] {
            let err = proxies(bad).unwrap_err().to_string();
            assert!(err.contains("is not an IP address or CIDR network"), "{bad}: {err}");
        }
        let err = proxies(r#""127.0.0.1,proxy.local""#).unwrap_err().to_string();
        assert!(err.contains("`proxy.local`"), "{err}");
    }

    #[test]
    fn an_empty_item_in_a_trusted_proxy_list_is_an_error() {
        assert!(proxies(r#"["127.0.0.1", ""]"#).is_err());
    }

    #[test]
    fn a_trusted_proxy_of_another_type_is_an_error() {
        assert!(proxies("42").is_err());
        assert!(proxies("[1, 2]").is_err());
    }

    // TrustedProxies::contains

    #[test]
    fn no_trusted_proxies_trust_no_peer() {
        let none = TrustedProxies::default();
        assert!(!none.contains(ip("127.0.0.1")));
        assert!(!none.contains(ip("::1")));
    }

    #[test]
    fn a_single_ipv4_address_trusts_only_itself() {
        let t = nets(&["127.0.0.1"]);
        assert!(t.contains(ip("127.0.0.1")));
        assert!(!t.contains(ip("127.0.0.2")));
        assert!(!t.contains(ip("127.0.0.0")));
    }

    #[test]
    fn an_ipv4_network_trusts_exactly_its_range() {
        let t = nets(&["10.0.0.0/8", "192.168.1.0/24"]);
        for inside in ["10.0.0.0", "10.0.0.1", "10.255.255.255", "192.168.1.0", "192.168.1.255"] {
            assert!(t.contains(ip(inside)), "{inside}");
        }
        for outside in ["9.255.255.255", "11.0.0.0", "192.168.0.255", "192.168.2.0"] {
            assert!(!t.contains(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn an_ipv6_address_and_network_trust_exactly_their_range() {
        let t = nets(&["::1", "fd00::/8"]);
        for inside in ["::1", "fd00::", "fd12:3456::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"] {
            assert!(t.contains(ip(inside)), "{inside}");
        }
        for outside in ["::2", "fc00::1", "fe00::", "2001:db8::1"] {
            assert!(!t.contains(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn an_ipv4_mapped_ipv6_peer_matches_its_ipv4_network() {
        let t = nets(&["10.0.0.0/8", "127.0.0.1"]);
        assert!(t.contains(ip("::ffff:10.0.0.1")));
        assert!(t.contains(ip("::ffff:127.0.0.1")));
        assert!(!t.contains(ip("::ffff:11.0.0.1")));
    }

    #[test]
    fn address_families_do_not_mix() {
        assert!(!nets(&["::/0"]).contains(ip("10.0.0.1")));
        assert!(!nets(&["0.0.0.0/0"]).contains(ip("::1")));
        assert!(nets(&["0.0.0.0/0"]).contains(ip("203.0.113.7")));
    }

    // Settings::validate

    #[test]
    fn the_default_settings_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn a_bad_issuer_is_rejected() {
        assert_eq!(rejected(|s| s.server.issuer = Some("http://auth.example.com".parse().unwrap())), "server.issuer");
    }

    #[test]
    fn connection_settings_outside_their_bounds_are_rejected() {
        assert_eq!(rejected(|s| s.server.header_read_timeout_secs = 0), "server.header_read_timeout_secs");
        assert_eq!(rejected(|s| s.server.header_read_timeout_secs = 301), "server.header_read_timeout_secs");
        assert_eq!(rejected(|s| s.server.idle_timeout_secs = 0), "server.idle_timeout_secs");
        assert_eq!(rejected(|s| s.server.idle_timeout_secs = 3601), "server.idle_timeout_secs");
        assert_eq!(rejected(|s| s.server.max_connections = 0), "server.max_connections");
        assert_eq!(rejected(|s| s.server.max_connections = MAX_CONNECTIONS + 1), "server.max_connections");
        assert!(accepted(|s| {
            s.server.header_read_timeout_secs = 300;
            s.server.idle_timeout_secs = 3600;
            s.server.max_connections = MAX_CONNECTIONS;
        }));
    }

    #[test]
    fn a_short_or_spaced_metrics_token_is_rejected() {
        for bad in ["", "short", "sixteen chars xx", "0123456789abcde"] {
            let token = |s: &mut Settings| s.metrics.bearer_token = Some(SecretString::from(bad.to_owned()));
            assert_eq!(rejected(token), "metrics.bearer_token", "{bad:?}");
        }
        assert!(accepted(|s| s.metrics.bearer_token = Some(SecretString::from("0123456789abcdef".to_owned()))));
    }

    #[test]
    fn a_database_url_of_another_kind_is_rejected() {
        assert_eq!(rejected(|s| s.database.url = DatabaseUrl::new("mysql://db/oauthd")), "database.url");
        assert!(accepted(|s| s.database.url = DatabaseUrl::new("postgres://u@h/db")));
        assert!(accepted(|s| s.database.url = DatabaseUrl::new("postgresql://u@h/db")));
    }

    #[test]
    fn a_zero_access_lifetime_is_rejected() {
        assert_eq!(rejected(|s| s.tokens.access_lifetime_secs = 0), "tokens.access_lifetime_secs");
    }

    #[test]
    fn a_zero_refresh_lifetime_is_rejected() {
        assert_eq!(rejected(|s| s.tokens.refresh_lifetime_secs = 0), "tokens.refresh_lifetime_secs");
    }

    #[test]
    fn a_negative_family_lifetime_is_rejected_and_zero_means_unlimited() {
        assert_eq!(rejected(|s| s.tokens.family_lifetime_secs = -1), "tokens.family_lifetime_secs");
        assert!(accepted(|s| s.tokens.family_lifetime_secs = 0));
    }

    #[test]
    fn a_negative_replay_window_is_rejected_and_zero_means_strict() {
        assert_eq!(rejected(|s| s.tokens.replay_window_secs = -1), "tokens.replay_window_secs");
        assert!(accepted(|s| s.tokens.replay_window_secs = 0));
    }

    #[test]
    fn a_zero_request_timeout_is_rejected() {
        assert_eq!(rejected(|s| s.server.request_timeout_secs = 0), "server.request_timeout_secs");
    }

    #[test]
    fn a_body_limit_under_1024_bytes_is_rejected() {
        assert_eq!(rejected(|s| s.server.body_limit_bytes = 1023), "server.body_limit_bytes");
        assert!(accepted(|s| s.server.body_limit_bytes = 1024));
    }

    #[test]
    fn argon2_parameters_below_owasps_floor_are_rejected() {
        for (iterations, floor) in [(1, 47_104), (2, 19_456), (3, 12_288), (4, 9_216), (5, 7_168), (10, 7_168)] {
            let set = |s: &mut Settings, memory| {
                s.security.argon2_iterations = iterations;
                s.security.argon2_memory_kib = memory;
            };
            assert_eq!(rejected(|s| set(s, floor - 1)), "security.argon2_memory_kib", "t={iterations}");
            assert!(accepted(|s| set(s, floor)), "t={iterations} m={floor}");
        }
    }

    #[test]
    fn argon2_parameters_above_what_a_stored_hash_may_ask_are_rejected() {
        assert_eq!(rejected(|s| s.security.argon2_iterations = 0), "security.argon2_iterations");
        assert_eq!(rejected(|s| s.security.argon2_iterations = 11), "security.argon2_iterations");
        assert_eq!(rejected(|s| s.security.argon2_memory_kib = 256 * 1024 + 1), "security.argon2_memory_kib");
        assert!(accepted(|s| s.security.argon2_memory_kib = 256 * 1024));
    }

    #[test]
    fn hash_queues_are_bounded() {
        assert_eq!(rejected(|s| s.security.max_concurrent_hashes = 1025), "security.max_concurrent_hashes");
        assert_eq!(rejected(|s| s.security.max_queued_hashes = usize::MAX), "security.max_queued_hashes");
        assert!(accepted(|s| s.security.max_concurrent_hashes = 0), "0 is one per core");
        assert!(accepted(|s| {
            s.security.max_concurrent_hashes = MAX_CONCURRENT_HASHES;
            s.security.max_queued_hashes = MAX_QUEUED_HASHES;
        }));
    }

    #[test]
    fn lifetimes_and_retentions_are_bounded_so_now_plus_them_cannot_overflow() {
        assert_eq!(rejected(|s| s.tokens.access_lifetime_secs = i64::MAX), "tokens.access_lifetime_secs");
        assert_eq!(
            rejected(|s| s.tokens.refresh_lifetime_secs = MAX_LIFETIME_SECS + 1),
            "tokens.refresh_lifetime_secs"
        );
        assert_eq!(rejected(|s| s.tokens.family_lifetime_secs = i64::MAX), "tokens.family_lifetime_secs");
        assert_eq!(rejected(|s| s.janitor.retention_secs = i64::MAX), "janitor.retention_secs");
        assert_eq!(rejected(|s| s.security.event_retention_secs = i64::MAX), "security.event_retention_secs");
        assert!(accepted(|s| s.tokens.refresh_lifetime_secs = MAX_LIFETIME_SECS));
    }

    #[test]
    fn a_replay_window_over_60_seconds_is_rejected() {
        assert_eq!(rejected(|s| s.tokens.replay_window_secs = 61), "tokens.replay_window_secs");
        assert!(accepted(|s| s.tokens.replay_window_secs = 60));
    }

    #[test]
    fn the_password_policy_and_the_login_throttle_are_bounded() {
        assert_eq!(Settings::default().users.min_password_length, 12);
        assert_eq!(rejected(|s| s.users.min_password_length = 0), "users.min_password_length");
        assert_eq!(rejected(|s| s.users.min_password_length = 1025), "users.min_password_length");
        assert_eq!(rejected(|s| s.login.max_delay_secs = u64::MAX), "login.max_delay_secs");
        assert_eq!(rejected(|s| s.login.forget_after_secs = 0), "login.forget_after_secs");
        assert_eq!(Settings::default().login.failure_delay_ms, 250);
        assert_eq!(rejected(|s| s.login.failure_delay_ms = 5001), "login.failure_delay_ms");
        assert!(accepted(|s| s.login.failure_delay_ms = 5000));
        assert_eq!(
            rejected(|s| {
                s.server.request_timeout_secs = 1;
                s.login.failure_delay_ms = 1000;
            }),
            "login.failure_delay_ms"
        );
        assert!(accepted(|s| s.login.failure_delay_ms = 0));
    }

    #[test]
    fn a_zero_janitor_interval_is_rejected() {
        assert_eq!(rejected(|s| s.janitor.interval_secs = 0), "janitor.interval_secs");
    }

    #[test]
    fn a_negative_janitor_retention_is_rejected() {
        assert_eq!(rejected(|s| s.janitor.retention_secs = -1), "janitor.retention_secs");
        assert!(accepted(|s| s.janitor.retention_secs = 0));
    }

    #[test]
    fn a_janitor_batch_size_outside_1_to_10000_is_rejected() {
        assert_eq!(rejected(|s| s.janitor.batch_size = 0), "janitor.batch_size");
        assert_eq!(rejected(|s| s.janitor.batch_size = MAX_JANITOR_BATCH + 1), "janitor.batch_size");
        assert!(accepted(|s| s.janitor.batch_size = 1));
        assert!(accepted(|s| s.janitor.batch_size = MAX_JANITOR_BATCH));
    }

    #[test]
    fn a_security_event_retention_of_zero_or_less_is_rejected() {
        assert_eq!(rejected(|s| s.security.event_retention_secs = 0), "security.event_retention_secs");
        assert_eq!(rejected(|s| s.security.event_retention_secs = -1), "security.event_retention_secs");
        assert!(accepted(|s| s.security.event_retention_secs = 1));
    }

    #[test]
    fn an_admin_scope_that_is_not_one_scope_token_is_rejected() {
        for bad in ["", "two words", "quote\"", "back\\slash", "tab\there"] {
            assert_eq!(rejected(|s| s.admin.scope = bad.into()), "admin.scope", "{bad:?}");
        }
        assert!(accepted(|s| s.admin.scope = "https://api.example.com/admin".into()));
    }

    #[test]
    fn the_admin_and_metrics_listeners_must_differ() {
        let address: SocketAddr = "127.0.0.1:9090".parse().unwrap();
        let same = |s: &mut Settings| {
            s.admin.listen = Some(address);
            s.metrics.listen = Some(address);
        };
        assert_eq!(rejected(same), "admin.listen");
        assert!(accepted(|s| s.admin.listen = Some(address)));
    }

    #[test]
    fn console_scopes_must_be_scope_tokens_and_never_the_admin_scope() {
        assert_eq!(rejected(|s| s.console.allowed_scopes = vec!["two words".into()]), "console.allowed_scopes");
        assert_eq!(rejected(|s| s.console.allowed_scopes.push("oauthd:admin".into())), "console.allowed_scopes");
        let moved = |s: &mut Settings| {
            s.admin.scope = "ops".into();
            s.console.allowed_scopes.push("oauthd:admin".into());
        };
        assert!(accepted(moved));
        assert!(accepted(|s| s.console.allowed_scopes.clear()));
    }

    #[test]
    fn a_tls_certificate_without_its_key_is_rejected() {
        assert_eq!(rejected(|s| s.tls.cert_path = "cert.pem".into()), "tls.key_path");
    }

    #[test]
    fn a_tls_key_without_its_certificate_is_rejected() {
        assert_eq!(rejected(|s| s.tls.key_path = "key.pem".into()), "tls.cert_path");
    }

    #[test]
    fn a_self_signed_certificate_and_certificate_files_together_are_rejected() {
        let both = |s: &mut Settings| {
            s.tls.cert_path = "cert.pem".into();
            s.tls.key_path = "key.pem".into();
            s.tls.self_signed = true;
        };
        assert_eq!(rejected(both), "tls.self_signed");
    }

    #[test]
    fn a_self_signed_certificate_without_a_host_is_rejected() {
        let no_hosts = |s: &mut Settings| {
            s.tls.self_signed = true;
            s.tls.self_signed_hosts = vec![String::new(), "  ".into()];
        };
        assert_eq!(rejected(no_hosts), "tls.self_signed_hosts");
        assert_eq!(
            rejected(|s| {
                s.tls.self_signed = true;
                s.tls.self_signed_hosts = Vec::new();
            }),
            "tls.self_signed_hosts"
        );
    }

    #[test]
    fn the_database_url_never_prints() {
        let url = DatabaseUrl::new("postgres://oauthd:hunter2@db/oauthd");
        let shown = format!(
            "{url:?} {:?}",
            Settings { database: DatabaseSettings { url: url.clone(), ..Default::default() }, ..Default::default() }
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://[redacted]"), "{shown}");
    }
}
