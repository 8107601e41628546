//! One sign-in attempt at a time per account and per address, and one client-secret check at a
//! time per client id (`client_auth.rs`), in this process.
//!
//! The throttle counts failures in the database after each verification, so attempts sent
//! together before a lock would all pass the gate and all be verified: a burst of N guesses got N
//! tries whatever the threshold. Taking a turn per key from the gate until the outcome is counted
//! makes a burst's attempts pass one after another, each seeing the failures before it; past the
//! threshold the rest are refused unverified. Instances sharing a database each take their own
//! turns, so a burst spread over K instances gets at most K tries at a time.
//!
//! An entry lives only while an attempt holds or awaits it; the last one out removes it, so the
//! map never holds more keys than attempts in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::sync::lock;
use tokio::sync::OwnedMutexGuard;

type Entry = Arc<tokio::sync::Mutex<()>>;

/// The keys with an attempt in flight in this process.
#[derive(Default)]
pub struct Turns {
    keys: Mutex<HashMap<String, Entry>>,
}

/// An attempt's turn on its keys: held from the gate until the outcome is counted, released when
/// dropped (which [`super::Authority::login_failed`] and [`super::Authority::login_succeeded`] do
/// before they wait or return).
pub struct Turn {
    guards: Vec<OwnedMutexGuard<()>>,
    keys: Vec<String>,
    turns: Arc<Turns>,
}

impl Turns {
    /// Waits for the turn on every key, in the order given (always account, then address, so two
    /// attempts never wait on each other).
    pub async fn take(self: &Arc<Self>, keys: Vec<String>) -> Turn {
        // Built first, so that a cancelled wait still removes the entries it added (Drop).
        let mut turn = Turn { guards: Vec::with_capacity(keys.len()), keys, turns: Arc::clone(self) };
        for index in 0..turn.keys.len() {
            let entry = Arc::clone(lock(&self.keys).entry(turn.keys[index].clone()).or_default());
            turn.guards.push(entry.lock_owned().await);
        }
        turn
    }

    /// Keys with an attempt in flight, for the tests.
    pub fn len(&self) -> usize {
        lock(&self.keys).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.guards.clear();
        let mut keys = lock(&self.turns.keys);
        for key in &self.keys {
            // Only the map holds it: nobody holds or awaits this key (clones are made under the
            // map's lock, so none can appear in between).
            if keys.get(key).is_some_and(|entry| Arc::strong_count(entry) == 1) {
                keys.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_attempt_on_a_key_waits_for_the_first_and_entries_go_when_idle() {
        let turns = Arc::new(Turns::default());
        let first = turns.take(vec!["account:alice".into(), "address:1".into()]).await;
        let waiting = tokio::spawn({
            let turns = Arc::clone(&turns);
            async move { turns.take(vec!["account:bob".into(), "address:1".into()]).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the shared address key is taken");
        drop(first);
        let second = waiting.await.unwrap();
        assert_eq!(turns.len(), 2, "alice's entry went with her turn");
        drop(second);
        assert!(turns.is_empty());
    }

    #[tokio::test]
    async fn a_cancelled_wait_leaves_no_entry() {
        let turns = Arc::new(Turns::default());
        let first = turns.take(vec!["account:alice".into()]).await;
        let waiting = tokio::spawn({
            let turns = Arc::clone(&turns);
            async move { turns.take(vec!["address:9".into(), "account:alice".into()]).await }
        });
        tokio::task::yield_now().await;
        waiting.abort();
        let _ = waiting.await;
        drop(first);
        assert!(turns.is_empty(), "no entry outlives its attempts");
    }
}
