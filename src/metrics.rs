//! Prometheus metrics (prometheus-client). One [`Metrics`] per running server, held in its state —
//! no global recorder, so every test server counts only its own events.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::oauth::password_hash::{HashGauges, HashQueue};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabel {
    pub grant_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActiveLabel {
    pub active: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabel {
    pub endpoint: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    /// Tokens issued, by the grant that issued them (`refresh_token` for refreshes).
    pub tokens_issued: Family<GrantLabel, Counter>,
    /// refresh_token grants by outcome: rotated, in_place (rotation off), replayed, reuse_detected.
    pub refreshes: Family<OutcomeLabel, Counter>,
    /// Revocations by what was revoked: access_token, refresh_token (a family), unknown.
    pub revocations: Family<KindLabel, Counter>,
    /// Introspections by answer.
    pub introspections: Family<ActiveLabel, Counter>,
    /// Failed client authentications at any endpoint.
    pub client_auth_failures: Counter,
    /// Failed sign-ins (wrong password or unknown user) at the password grant and the sign-in page.
    pub login_failures: Counter,
    /// Sign-in attempts refused by the login throttle, without verifying the password.
    pub login_throttled: Counter,
    /// argon2id verifications running now, by queue (client_secret, password).
    pub hashes_running: Family<QueueLabel, Gauge>,
    /// The most argon2id verifications ever running at once, by queue: never above the bound.
    pub hashes_running_peak: Family<QueueLabel, Gauge>,
    /// Request latency by endpoint and status.
    pub requests: Family<RequestLabel, Histogram>,
    /// Database pool connections by state (idle, in_use), read when scraped.
    pub pool_connections: Family<StateLabel, Gauge>,
    /// Rows deleted by the janitor, by kind.
    pub janitor_deleted: Family<KindLabel, Counter>,
    /// Rows the janitor found still waiting for deletion after its last pass.
    pub janitor_backlog: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("oauthd");
        let tokens_issued = Family::<GrantLabel, Counter>::default();
        registry.register("tokens_issued", "Tokens issued, by grant type", tokens_issued.clone());
        let refreshes = Family::<OutcomeLabel, Counter>::default();
        registry.register("refreshes", "refresh_token grants by outcome", refreshes.clone());
        let revocations = Family::<KindLabel, Counter>::default();
        registry.register("revocations", "Revocations by token kind", revocations.clone());
        let introspections = Family::<ActiveLabel, Counter>::default();
        registry.register("introspections", "Introspections by answer", introspections.clone());
        let client_auth_failures = Counter::default();
        registry.register("client_auth_failures", "Failed client authentications", client_auth_failures.clone());
        let login_failures = Counter::default();
        registry.register("login_failures", "Failed sign-ins", login_failures.clone());
        let login_throttled = Counter::default();
        registry.register("login_throttled", "Sign-in attempts refused by the login throttle", login_throttled.clone());
        let hashes_running = Family::<QueueLabel, Gauge>::default();
        registry.register("hashes_running", "argon2id verifications running now, by queue", hashes_running.clone());
        let hashes_running_peak = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "hashes_running_peak",
            "The most argon2id verifications running at once, by queue",
            hashes_running_peak.clone(),
        );
        let requests = Family::<RequestLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5].into_iter())
        });
        registry.register("http_request_duration_seconds", "Request latency by endpoint and status", requests.clone());
        let pool_connections = Family::<StateLabel, Gauge>::default();
        registry.register("db_pool_connections", "Database pool connections by state", pool_connections.clone());
        let janitor_deleted = Family::<KindLabel, Counter>::default();
        registry.register("janitor_rows_deleted", "Rows deleted by the janitor", janitor_deleted.clone());
        let janitor_backlog = Gauge::default();
        registry.register("janitor_backlog", "Rows left for the janitor after its last pass", janitor_backlog.clone());
        Metrics {
            registry,
            tokens_issued,
            refreshes,
            revocations,
            introspections,
            client_auth_failures,
            login_failures,
            login_throttled,
            hashes_running,
            hashes_running_peak,
            requests,
            pool_connections,
            janitor_deleted,
            janitor_backlog,
        }
    }

    /// The gauges of one argon2id queue, for the hasher to keep up to date.
    pub fn hash_gauges(&self, queue: HashQueue) -> HashGauges {
        let label = QueueLabel { queue: queue.as_str() };
        HashGauges {
            running: self.hashes_running.get_or_create(&label).clone(),
            peak: self.hashes_running_peak.get_or_create(&label).clone(),
        }
    }

    pub fn refresh(&self, outcome: &'static str) {
        self.refreshes.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn issued(&self, grant_type: &'static str) {
        self.tokens_issued.get_or_create(&GrantLabel { grant_type }).inc();
    }

    /// The text exposition, with pool gauges read now.
    pub fn render(&self, pool: (u32, usize)) -> String {
        let (size, idle) = pool;
        self.pool_connections.get_or_create(&StateLabel { state: "idle" }).set(idle as i64);
        self.pool_connections.get_or_create(&StateLabel { state: "in_use" }).set(i64::from(size) - idle as i64);
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
