//! Small helpers for `std::sync`.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`. A poisoned lock only means another thread panicked while holding it; what it
/// guards (caches, queues, maps of what is in flight) stays usable, so the guard is taken anyway.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
