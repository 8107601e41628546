//! Whether a stored token is usable: the one place every endpoint that checks tokens asks
//! (the refresh grant, revocation, and introspection).

use super::error::OAuthError;
use super::token_format;
use super::Authority;
use crate::clock::UnixTime;
use crate::store::{Digest, TokenKind, TokenRecord};

/// Why a token is not active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    /// Not an oauthd token, a damaged one, or one the database does not hold.
    Unknown,
    /// Revoked itself, or its grant family was revoked.
    Revoked,
    /// A refresh token that was already rotated.
    Consumed,
    /// Past its own expiry or its family's absolute lifetime.
    Expired,
}

/// Checks a loaded token at `now`. Revocation wins over consumption, consumption over expiry:
/// a rotated token presented again must reach reuse detection even after it expired.
pub fn check(record: &TokenRecord, now: UnixTime) -> Result<(), Inactive> {
    if record.revoked_at.is_some() || record.family_revoked_at.is_some() {
        return Err(Inactive::Revoked);
    }
    if record.consumed_at.is_some() {
        return Err(Inactive::Consumed);
    }
    if record.expires_at <= now || record.family_expires_at.is_some_and(|end| end <= now) {
        return Err(Inactive::Expired);
    }
    Ok(())
}

impl Authority {
    /// Finds a token by its text: a format and checksum check first (no database read for
    /// anything damaged), then one lookup by digest.
    pub async fn find_token(&self, token: &str) -> Result<Option<(TokenKind, TokenRecord)>, OAuthError> {
        let Some((kind, digest)) = token_format::parse(token) else {
            return Ok(None);
        };
        Ok(self.find_digest(kind, &digest).await?.map(|r| (kind, r)))
    }

    /// [`Authority::find_token`] for a token already parsed: the record, if it is of `kind`.
    pub async fn find_digest(&self, kind: TokenKind, digest: &Digest) -> Result<Option<TokenRecord>, OAuthError> {
        Ok(self.store.find_token(digest).await?.filter(|r| r.kind == kind))
    }

    /// The token's record when it is active now, or why it is not.
    pub async fn active_token(&self, token: &str) -> Result<Result<(TokenKind, TokenRecord), Inactive>, OAuthError> {
        let Some((kind, record)) = self.find_token(token).await? else {
            return Ok(Err(Inactive::Unknown));
        };
        Ok(check(&record, self.clock.now()).map(|()| (kind, record)))
    }
}
