//! The only place that reads the wall clock. Everything else takes the time as a parameter
//! (unix seconds) from a [`Clock`], so tests drive expiry with a manual clock instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Unix time in whole seconds.
pub type UnixTime = i64;

#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    System,
    /// A clock that moves only when told to; for tests.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at the current wall-clock time.
    pub fn manual() -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(system_now())))
    }

    pub fn now(&self) -> UnixTime {
        match self {
            Clock::System => system_now(),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; a system clock cannot be moved and ignores this.
    pub fn advance(&self, seconds: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}

fn system_now() -> UnixTime {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// Measures how long something took (the monotonic clock, for reports and logs; never for
/// decisions about tokens).
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// `2026-11-29 13:45:07 UTC`: a time as the pages show it (UTC, proleptic Gregorian calendar).
pub fn utc_text(t: UnixTime) -> String {
    let (date, seconds) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(date);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// A time as an HTML `datetime-local` field holds it, `2026-11-29T13:45:07` (read as UTC).
pub fn utc_field(t: UnixTime) -> String {
    let (date, seconds) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(date);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// Reads a UTC time typed or picked in a form: `YYYY-MM-DD`, then optionally `T` (or a space)
/// and `HH:MM` or `HH:MM:SS` — what a `datetime-local` field sends. `None` for anything else,
/// a date that does not exist included.
pub fn parse_utc(text: &str) -> Option<UnixTime> {
    let number = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, time) = match text.find(['T', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (number(y)?, number(m)?, number(d)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let seconds = match time {
        None => 0,
        Some(time) => {
            let fields: Vec<&str> = time.split(':').collect();
            if !(2..=3).contains(&fields.len()) || fields.iter().any(|f| f.len() != 2) {
                return None;
            }
            let (h, min) = (number(fields[0])?, number(fields[1])?);
            let s = match fields.get(2) {
                Some(s) => number(s)?,
                None => 0,
            };
            if h > 23 || min > 59 || s > 59 {
                return None;
            }
            h * 3600 + min * 60 + s
        }
    };
    Some(days_from_civil(y, m, d) * 86_400 + seconds)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date (Howard Hinnant's `days_from_civil`, "chrono-Compatible
/// Low-Level Date Algorithms"): two small functions rather than a date crate for one format.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_text(1_764_423_907), "2025-11-29 13:45:07 UTC");
        assert_eq!(utc_text(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(utc_field(1_764_423_907), "2025-11-29T13:45:07");
    }

    #[test]
    fn form_times_are_read_as_utc() {
        assert_eq!(parse_utc("1970-01-01"), Some(0));
        assert_eq!(parse_utc("2025-11-29T13:45"), Some(1_764_423_900));
        assert_eq!(parse_utc("2025-11-29 13:45:07"), Some(1_764_423_907));
        assert_eq!(parse_utc("2000-02-29T00:00"), Some(951_782_400));
    }

    #[test]
    fn impossible_or_malformed_times_are_refused() {
        for text in [
            "",
            "2025",
            "2025-13-01",
            "2025-02-29",
            "1900-02-29",
            "2025-04-31",
            "2025-11-29T24:00",
            "2025-11-29T12:60",
            "2025-11-29T12",
            "2025-11-29T1:05",
            "+025-11-29",
            "2025-11-29T12:00:00:00",
            "2025-1-29",
            "2025-11-29Z",
            "٢٠٢٥-11-29",
        ] {
            assert_eq!(parse_utc(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_shown_time_reads_back_to_itself() {
        for t in [0, 59, 86_399, 951_782_400, 1_764_423_907, 4_102_444_799, -86_401] {
            assert_eq!(parse_utc(&utc_field(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(3600);
        assert_eq!(clock.now(), start + 3600);
        clock.advance(1);
        assert_eq!(clock.now(), start + 3601);
    }

    #[test]
    fn a_manual_clock_starts_at_the_wall_clock_time() {
        let wall = Clock::System.now();
        let manual = Clock::manual().now();
        assert!((manual - wall).abs() <= 5, "manual {manual}, wall {wall}");
    }

    #[test]
    fn clones_of_a_manual_clock_share_its_time() {
        let clock = Clock::manual();
        let clone = clock.clone();
        clone.advance(60);
        assert_eq!(clock.now(), clone.now());
    }

    #[test]
    fn the_system_clock_ignores_advance() {
        let clock = Clock::System;
        let before = clock.now();
        clock.advance(86_400);
        let after = clock.now();
        assert!(after - before < 60, "before {before}, after {after}");
    }

    #[test]
    fn the_default_clock_is_the_system_clock() {
        assert!(matches!(Clock::default(), Clock::System));
    }

    #[test]
    fn the_system_clock_reads_a_time_after_2020() {
        assert!(Clock::System.now() > 1_577_836_800);
    }
}
