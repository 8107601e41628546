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

#[cfg(test)]
mod tests {
    use super::*;

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
