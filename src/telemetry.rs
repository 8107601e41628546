//! Logging with tracing: human-readable text or JSON lines, filtered by `log.filter` or RUST_LOG.
//! Nothing logged carries a token, secret, password or the Authorization header: spans record
//! method, path, request id, peer address, client id, grant type and outcome only.
//!
//! Text logs are one line per event: every field's control characters are escaped
//! ([`EscapedFields`]), so a value from a request (a client id, a username) cannot end a line and
//! forge the next one. JSON logs escape them by their format.

use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::FormatFields;
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
        (LogFormat::Text, false) => registry.with(fmt::layer().fmt_fields(EscapedFields::default())).try_init(),
        (LogFormat::Text, true) => {
            registry.with(fmt::layer().fmt_fields(EscapedFields::default()).with_writer(std::io::stderr)).try_init()
        }
    };
    // A second init (tests) keeps the first subscriber.
    drop(result);
}

/// tracing's own text fields, with every control character escaped (`\n`, `\r`, `\t`,
/// `\u{1b}`, …): a field's value can never break the line it is written on.
#[derive(Default)]
pub struct EscapedFields(DefaultFields);

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> std::fmt::Result {
        let mut formatted = String::new();
        self.0.format_fields(Writer::new(&mut formatted), fields)?;
        write_escaped(&mut writer, &formatted)
    }
}

fn write_escaped(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    for c in text.chars() {
        // U+2028/U+2029 end a line in some viewers too.
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            write!(out, "{}", c.escape_default())?;
        } else {
            out.write_char(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        write_escaped(&mut out, text).unwrap();
        out
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escaped("evil\nINFO forged"), "evil\\nINFO forged");
        assert_eq!(escaped("a\rb\tc\u{1b}[31md\u{85}e"), "a\\rb\\tc\\u{1b}[31md\\u{85}e");
        assert_eq!(escaped("plain client-id é ü"), "plain client-id é ü");
        assert_eq!(escaped("x\u{2028}y\u{2029}"), "x\\u{2028}y\\u{2029}");
    }
}
