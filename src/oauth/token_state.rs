//! Whether a stored token is usable: the one place every endpoint that checks tokens asks
//! (the refresh grant, revocation, and introspection).

use super::client_auth::AuthenticatedClient;
use super::error::OAuthError;
use super::token_format;
use super::Authority;
use crate::clock::UnixTime;
use crate::store::tokens::Digest;
use crate::store::{TokenKind, TokenRecord};

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
    /// anything damaged), then one lookup by digest — on behalf of a client (which the same
    /// round trip confirms, see [`as_client!`](crate::oauth::client_auth::as_client)) or of the operator (`None`).
    pub async fn find_token(
        &self,
        token: &str,
        as_client: Option<&AuthenticatedClient>,
    ) -> Result<Option<(TokenKind, TokenRecord)>, OAuthError> {
        let Some((kind, digest)) = token_format::parse(token) else {
            return Ok(None);
        };
        Ok(self.find_digest(kind, &digest, as_client).await?.map(|r| (kind, r)))
    }

    /// [`Authority::find_token`] for a token already parsed: the record, if it is of `kind`.
    pub async fn find_digest(
        &self,
        kind: TokenKind,
        digest: &Digest,
        as_client: Option<&AuthenticatedClient>,
    ) -> Result<Option<TokenRecord>, OAuthError> {
        let record = match as_client {
            Some(client) => {
                let found = self.store.find_token_as_client(digest, &client.stamp()).await?;
                client.confirm(found.client_current)?;
                found.token
            }
            None => self.store.find_token(digest).await?,
        };
        Ok(record.filter(|r| r.kind() == Some(kind)))
    }

    /// The token's record when it is active now, or why it is not.
    pub async fn active_token(
        &self,
        token: &str,
        as_client: Option<&AuthenticatedClient>,
    ) -> Result<Result<(TokenKind, TokenRecord), Inactive>, OAuthError> {
        let Some((kind, record)) = self.find_token(token, as_client).await? else {
            return Ok(Err(Inactive::Unknown));
        };
        Ok(check(&record, self.clock.now()).map(|()| (kind, record)))
    }
}
