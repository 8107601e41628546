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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::GrantType;

    fn live() -> TokenRecord {
        TokenRecord {
            token_digest: Digest::new([1; 32]),
            kind: TokenKind::Refresh,
            family_id: "f".into(),
            scope: "A".into(),
            issued_at: 0,
            expires_at: 100,
            revoked_at: None,
            consumed_at: None,
            access_digest: None,
            successor_digest: None,
            replay_sealed: None,
            replay_until: None,
            first_used_at: None,
            client_id: "c".into(),
            username: None,
            grant_type: GrantType::ClientCredentials,
            family_scope: "A".into(),
            family_expires_at: None,
            family_revoked_at: None,
        }
    }

    #[test]
    fn a_token_is_active_until_the_second_it_expires() {
        assert_eq!(check(&live(), 99), Ok(()));
        assert_eq!(check(&live(), 100), Err(Inactive::Expired), "expires_at is the first inactive second");
        let capped = TokenRecord { family_expires_at: Some(50), ..live() };
        assert_eq!(check(&capped, 49), Ok(()));
        assert_eq!(check(&capped, 50), Err(Inactive::Expired), "the family's absolute end caps it");
    }

    #[test]
    fn revocation_of_the_token_or_its_family_wins_over_everything() {
        let revoked = TokenRecord { revoked_at: Some(1), consumed_at: Some(1), ..live() };
        assert_eq!(check(&revoked, 500), Err(Inactive::Revoked));
        let family = TokenRecord { family_revoked_at: Some(1), consumed_at: Some(1), ..live() };
        assert_eq!(check(&family, 500), Err(Inactive::Revoked));
    }

    #[test]
    fn a_rotated_token_is_consumed_even_after_it_expired() {
        // Reuse detection must see a rotated token presented again, whenever it comes back.
        let rotated = TokenRecord { consumed_at: Some(10), ..live() };
        assert_eq!(check(&rotated, 50), Err(Inactive::Consumed));
        assert_eq!(check(&rotated, 5_000), Err(Inactive::Consumed));
    }
}
