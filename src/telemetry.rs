//! Logging with tracing: human-readable text or JSON lines, filtered by `log.filter` or RUST_LOG.
//! Nothing logged carries a token, secret, password or the Authorization header: spans record
//! method, path, request id, client id, grant type and outcome only.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber. `to_stderr` keeps a command's own output on stdout clean.
pub fn init(settings: &LogSettings, to_stderr: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match (settings.format, to_stderr) {
        (LogFormat::Json, false) => {
            registry.with(fmt::layer().json().flatten_event(true).with_current_span(true)).try_init()
        }
        (LogFormat::Json, true) => registry
            .with(fmt::layer().json().flatten_event(true).with_current_span(true).with_writer(std::io::stderr))
            .try_init(),
        (LogFormat::Text, false) => registry.with(fmt::layer()).try_init(),
        (LogFormat::Text, true) => registry.with(fmt::layer().with_writer(std::io::stderr)).try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    drop(result);
}
