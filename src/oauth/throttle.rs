//! The login throttle: RFC 6749 §4.3.2 "the authorization server MUST protect the endpoint against
//! brute force attacks (e.g., using rate-limitation or generating alerts)". The password grant and
//! the sign-in page both go through it:
//!
//! ```ignore
//! let turn = auth.login_gate(username, peer, now).await?;  // refused while locked, before any argon2id
//! if verified { auth.login_succeeded(turn, username).await }
//! else { auth.login_failed(turn, username, peer, now).await }
//! ```
//!
//! Failures are counted per attempted username — whether or not the user exists, so a lock says
//! nothing about which accounts exist — and per client address (an IPv6 client's /64, since one
//! host commonly holds a whole /64). After `login.account_failure_threshold` consecutive failures of
//! an account, or `login.address_failure_threshold` from an address, its attempts are refused for
//! 1 s, doubling with each further failure up to `login.max_delay_secs`; refused attempts verify
//! nothing and do not count. A success clears the account's count, not the address's (one valid
//! account must not reset an address that is guessing others). Counts are forgotten
//! `login.forget_after_secs` after the last failure, and the janitor deletes them.
//!
//! The counts live in the database (`login_throttle`), so every instance sharing it throttles
//! alike. Within a process, attempts on one account or address take turns ([`turns`]) from the
//! gate until their outcome is counted, so a burst sent before a lock cannot all be verified.
//! The start of each lock is a [`EventKind::LoginLocked`] security event (the username or the
//! address, never the password); failures and refusals are counted in the metrics.
//!
//! Every refusal of guessed credentials — a failed sign-in, a throttled one, and (from
//! `client_auth.rs`) a failed client authentication — is answered only after
//! `login.failure_delay_ms` ([`Authority::delay_failure`]). A lock makes refusals cheap, so
//! without the wait a closed-loop flood would send more of them the better it is refused, and
//! take the CPU legitimate requests need (BENCHMARKS.md, "Credential stuffing"). The wait holds
//! nothing but the request's own connection.
//!
//! A lock refuses the right password too: otherwise guessing would go on through it. The price is
//! that anyone can keep an account locked for `login.max_delay_secs` at a time by failing to sign
//! in to it; the delay's bound keeps that short.

mod turns;

use std::net::IpAddr;

use super::error::OAuthError;
use super::events::{Actor, Origin, SecurityEvent};
use super::secret_cache::backoff_secs;
use super::Authority;
use crate::clock::UnixTime;
use crate::store::{EventKind, ThrottleKind};
pub use turns::{Turn, Turns};

/// Longest username the throttle keeps a count for; no account has a longer one
/// (src/admin/users.rs), so longer attempts count against the address only.
const MAX_USERNAME_BYTES: usize = 255;

/// Why [`Authority::login_gate`] refused a sign-in attempt.
#[derive(Debug)]
pub enum LoginRefused {
    /// The account or the address is locked: try again after this many seconds (at least 1).
    Throttled { retry_after_secs: u64 },
    /// The throttle's state could not be read; the attempt is refused rather than let through.
    Unavailable(OAuthError),
}

/// At /token a throttled attempt is `invalid_grant` (RFC 6749 §5.2), as a wrong password is; it
/// reveals no more, since unknown usernames are throttled just the same.
impl From<LoginRefused> for OAuthError {
    fn from(refused: LoginRefused) -> OAuthError {
        match refused {
            LoginRefused::Throttled { .. } => {
                OAuthError::invalid_grant("too many failed sign-in attempts; try again later")
            }
            LoginRefused::Unavailable(error) => error,
        }
    }
}

/// The address key of a client: its IPv4 address, or the /64 of an IPv6 one.
pub fn address_key(peer: IpAddr) -> String {
    match peer.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

/// The account key of an attempted username, when one could name an account.
fn account_key(username: &str) -> Option<&str> {
    (!username.is_empty() && username.len() <= MAX_USERNAME_BYTES).then_some(username)
}

impl Authority {
    /// Refuses the attempt while the account or the address is locked. Call it before verifying
    /// anything; the [`Turn`] it gives goes to exactly one of [`Authority::login_failed`] or
    /// [`Authority::login_succeeded`]. Until then, other attempts on the same account or address
    /// in this process wait at the gate ([`turns`]).
    ///
    /// Past its threshold, a key allows one attempt per delay, also under concurrency: the attempt
    /// that passes takes the next delay's lock at once, as if it will fail (compare and set on
    /// the row), so attempts sent together at the end of a lock get one try between them.
    pub async fn login_gate(&self, username: &str, peer: Option<IpAddr>, now: UnixTime) -> Result<Turn, LoginRefused> {
        let settings = &self.settings.login;
        let address = peer.map(address_key);
        let account = account_key(username).filter(|_| settings.account_failure_threshold > 0);
        let address_turn = address.as_ref().filter(|_| settings.address_failure_threshold > 0);
        let keys =
            account.map(|a| format!("account:{a}")).into_iter().chain(address_turn.map(|a| format!("address:{a}")));
        let turn = self.turns.take(keys.collect()).await;
        match self.check_gate(username, address.as_deref(), now).await {
            Ok(()) => Ok(turn),
            Err(refused) => {
                drop(turn);
                if matches!(refused, LoginRefused::Throttled { .. }) {
                    self.delay_failure().await;
                }
                Err(refused)
            }
        }
    }

    async fn check_gate(&self, username: &str, address: Option<&str>, now: UnixTime) -> Result<(), LoginRefused> {
        let unavailable = |e: crate::store::StoreError| LoginRefused::Unavailable(OAuthError::from(e));
        let rows = self.store.login_throttles(account_key(username), address).await.map_err(unavailable)?;
        if let Some(until) = rows.iter().filter_map(|r| r.locked_until).filter(|&until| now < until).max() {
            return Err(self.throttled(until - now));
        }
        let settings = &self.settings.login;
        let forget_before = now.saturating_sub(settings.forget_after_secs);
        let max = i64::try_from(settings.max_delay_secs).unwrap_or(i64::MAX);
        for row in rows.iter().filter(|r| r.last_failure_at >= forget_before) {
            let threshold = match row.kind() {
                ThrottleKind::Account => settings.account_failure_threshold,
                ThrottleKind::Address => settings.address_failure_threshold,
            };
            let Some(beyond) = u32::try_from(row.failures).ok().and_then(|f| f.checked_sub(threshold)) else {
                continue;
            };
            if threshold == 0 {
                continue; // this kind of count is turned off
            }
            let until = now.saturating_add(backoff_secs(beyond.saturating_add(1), max));
            if !self.store.claim_login_attempt(row, until).await.map_err(unavailable)? {
                return Err(self.throttled(1));
            }
        }
        Ok(())
    }

    fn throttled(&self, retry_after_secs: i64) -> LoginRefused {
        self.metrics.login_throttled.inc();
        tracing::info!("sign-in refused: too many recent failures for this account or address");
        LoginRefused::Throttled { retry_after_secs: u64::try_from(retry_after_secs).unwrap_or(1).max(1) }
    }

    /// Waits `login.failure_delay_ms` before a refusal of guessed credentials is answered (see the
    /// module documentation). Call it holding no database connection and no hashing permit.
    pub async fn delay_failure(&self) {
        let delay = self.settings.login.failure_delay_ms;
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
    }

    /// Counts a failed attempt against the account and the address, locks either when it reaches
    /// its threshold, and records the start of a lock as a security event; then waits
    /// [`Authority::delay_failure`]. Best effort: a database error is logged (the attempt has
    /// already failed).
    pub async fn login_failed(&self, turn: Turn, username: &str, peer: Option<IpAddr>, now: UnixTime) {
        self.metrics.login_failures.inc();
        let settings = &self.settings.login;
        let address = peer.map(address_key);
        let keys = [
            (ThrottleKind::Account, account_key(username), settings.account_failure_threshold),
            (ThrottleKind::Address, address.as_deref(), settings.address_failure_threshold),
        ];
        for (kind, key, threshold) in keys {
            let Some(key) = key.filter(|_| threshold > 0) else {
                continue;
            };
            if let Err(error) = self.count_failure(kind, key, threshold, username, peer, now).await {
                tracing::error!(%error, kind = kind.as_str(), "a failed sign-in could not be counted");
            }
        }
        drop(turn);
        self.delay_failure().await;
    }

    async fn count_failure(
        &self,
        kind: ThrottleKind,
        key: &str,
        threshold: u32,
        username: &str,
        peer: Option<IpAddr>,
        now: UnixTime,
    ) -> Result<(), OAuthError> {
        let settings = &self.settings.login;
        let forget_before = now.saturating_sub(settings.forget_after_secs);
        let Some(failures) = self.store.count_login_failure(kind, key, now, forget_before).await? else {
            return Ok(());
        };
        let Some(beyond) = u32::try_from(failures).ok().and_then(|f| f.checked_sub(threshold)) else {
            return Ok(());
        };
        let max = i64::try_from(settings.max_delay_secs).unwrap_or(i64::MAX);
        let delay = backoff_secs(beyond, max);
        self.store.lock_login(kind, key, now.saturating_add(delay)).await?;
        if beyond == 0 {
            let event = SecurityEvent::new(EventKind::LoginLocked, &Origin { actor: Actor::System, peer })
                .detail(format!("{} locked after {failures} failed sign-ins", kind.as_str()));
            let event = match kind {
                ThrottleKind::Account => event.user(Some(username)),
                ThrottleKind::Address => event,
            };
            self.record_security_event(event).await;
        }
        Ok(())
    }

    /// Clears the account's failures after a successful sign-in (the address's stay counted).
    pub async fn login_succeeded(&self, turn: Turn, username: &str) {
        let Some(key) = account_key(username) else {
            return;
        };
        if let Err(error) = self.store.clear_login_failures(ThrottleKind::Account, key).await {
            tracing::error!(%error, "the failed sign-ins of an account could not be cleared");
        }
        drop(turn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_address_is_its_own_key_and_an_ipv6_one_counts_by_its_64() {
        assert_eq!(address_key("203.0.113.7".parse().unwrap()), "203.0.113.7");
        assert_eq!(address_key("::ffff:203.0.113.7".parse().unwrap()), "203.0.113.7");
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:ffff::1".parse().unwrap()), "2001:db8:1:2::/64");
    }

    #[test]
    fn only_a_username_an_account_could_have_is_counted() {
        assert_eq!(account_key("alice"), Some("alice"));
        assert_eq!(account_key(""), None);
        assert_eq!(account_key(&"a".repeat(256)), None);
    }
}
