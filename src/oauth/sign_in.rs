//! Signing a user in to the pages with username and password (the users the password grant
//! knows, argon2id).
//!
//! Phases: pass the login throttle ([`super::throttle`], shared with the password grant: failures
//! per account and per address, "try again in N s" while locked, before any argon2id), verify the
//! password (an unknown user costs the same dummy verification as a wrong password), refuse a
//! disabled user as a wrong password, count the outcome with the throttle, and answer every
//! refusal the same way, so the page never tells whether an account exists.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};

use super::throttle::LoginRefused;
use super::{Authority, OAuthError};

/// Longest username looked up; a longer one is refused after the same dummy verification.
const MAX_USERNAME: usize = 256;

/// Why a sign-in was refused.
#[derive(Debug)]
pub enum SignInError {
    /// Unknown user, wrong password or disabled user: one answer for all three.
    Invalid,
    /// Too many failures for this account or address: try again after this many seconds.
    Locked { retry_after_secs: u64 },
    /// The server could not decide (database, or too many verifications at once).
    Failed(OAuthError),
}

impl From<OAuthError> for SignInError {
    fn from(error: OAuthError) -> Self {
        SignInError::Failed(error)
    }
}

impl From<LoginRefused> for SignInError {
    fn from(refused: LoginRefused) -> Self {
        match refused {
            LoginRefused::Throttled { retry_after_secs } => SignInError::Locked { retry_after_secs },
            LoginRefused::Unavailable(error) => SignInError::Failed(error),
        }
    }
}

impl Authority {
    /// Checks `username` and `password` from `peer`; returns the username as stored.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        username: &str,
        password: &SecretString,
        peer: Option<IpAddr>,
    ) -> Result<String, SignInError> {
        let now = self.clock.now();
        let turn = self.login_gate(username, peer, now).await?;
        let user = if username.len() <= MAX_USERNAME {
            self.store.find_user(username).await.map_err(OAuthError::from)?
        } else {
            None
        };
        let phc = user.as_ref().map(|u| u.password_hash.as_str());
        let matched = self.hasher.verify_password(password.expose_secret(), phc).await?;
        match user {
            Some(user) if matched && user.disabled_at.is_none() => {
                self.login_succeeded(turn, username).await;
                Ok(user.username)
            }
            _ => {
                tracing::info!("sign-in refused");
                self.login_failed(turn, username, peer, now).await;
                Err(SignInError::Invalid)
            }
        }
    }
}
