//! The refresh_token grant, RFC 6749 §6, with rotation (RFC 9700 §4.14.2) and idempotent replay.
//!
//! Phases:
//! 1. validate — `refresh_token` is REQUIRED; `scope` is optional (§6);
//! 2. authenticate the client and check it may use this grant (done before dispatch: "require
//!    client authentication for confidential clients", §6);
//! 3. load the token by digest (a damaged token fails its checksum without a database read);
//! 4. check ownership — "ensure that the refresh token was issued to the authenticated client";
//! 5. check validity — not revoked, not expired (the token, or its family's absolute lifetime);
//! 6. check scope — "The requested scope MUST NOT include any scope not originally granted";
//! 7. a token already rotated goes to [`replay_or_reuse`]: the very same response again when the
//!    same client asks with the same scope inside the replay window and the successor is untouched,
//!    otherwise reuse — the whole grant family is revoked (RFC 9700 §4.14.2);
//! 8. issue — rotate in one atomic store step: new access token (requested scope) and new refresh
//!    token ("the refresh token scope MUST be identical to that of the refresh token included by
//!    the client"), the old refresh token consumed, its access token revoked (configurable).

use secrecy::SecretString;

use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::events::{Origin, SecurityEvent};
use crate::oauth::issuer::{Expiries, FreshTokens, TokenResponse};
use crate::oauth::params::Params;
use crate::oauth::policy::Policy;
use crate::oauth::scope::Scope;
use crate::oauth::token_format;
use crate::oauth::token_state::{check, Inactive};
use crate::oauth::{replay, Authority, OAuthError};
use crate::store::tokens::{InPlace, Rotation};
use crate::store::{Digest, EventKind, TokenKind, TokenRecord};

pub async fn grant(
    auth: &Authority,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?;
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let Some((TokenKind::Refresh, digest)) = token_format::parse(presented) else {
        return Err(OAuthError::invalid_grant("the refresh token is invalid"));
    };
    let Some(record) = auth.find_digest(TokenKind::Refresh, &digest).await? else {
        return Err(OAuthError::invalid_grant("the refresh token is invalid"));
    };
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("the refresh token was not issued to this client"));
    }
    let requested_text = requested.as_ref().map(Scope::to_string).unwrap_or_default();
    let policy = Policy::for_client(&auth.settings.tokens, client);
    let request = Refresh { auth, client, policy, presented, requested_scope: &requested_text };
    match check(&record, auth.clock.now()) {
        Ok(()) => {}
        Err(Inactive::Consumed) => return request.replay_or_reuse(&record).await,
        Err(inactive) => return Err(refused(inactive)),
    }
    let granted = Scope::parse(&record.family_scope)?;
    let scope = match requested {
        Some(r) if !r.is_subset(&granted) => {
            return Err(OAuthError::invalid_scope("the requested scope exceeds the scope originally granted"));
        }
        Some(r) => r,
        None => granted.clone(),
    };
    if !policy.rotate_refresh_tokens {
        return request.refresh_in_place(&record, digest, scope).await;
    }
    if let Some(rotated) = request.rotate(&record, digest, &scope, &granted).await? {
        return Ok(rotated);
    }
    // Another request rotated this token first: answer as that request's duplicate.
    let record = auth.store.find_token(&digest).await?;
    match record {
        Some(record) if record.consumed_at.is_some() && record.family_revoked_at.is_none() => {
            request.replay_or_reuse(&record).await
        }
        _ => Err(refused(Inactive::Revoked)),
    }
}

fn refused(inactive: Inactive) -> OAuthError {
    OAuthError::invalid_grant(match inactive {
        Inactive::Unknown => "the refresh token is invalid",
        Inactive::Revoked => "the refresh token has been revoked",
        Inactive::Consumed => "the refresh token has already been used",
        Inactive::Expired => "the refresh token has expired",
    })
}

struct Refresh<'a> {
    auth: &'a Authority,
    client: &'a AuthenticatedClient,
    policy: Policy,
    presented: &'a str,
    /// The normalised `scope` parameter, "" when absent: part of what makes a request the same.
    requested_scope: &'a str,
}

impl Refresh<'_> {
    /// The old access token, when the policy revokes it on refresh.
    fn access_to_revoke(&self, record: &TokenRecord) -> Option<Digest> {
        record.access_digest.filter(|_| self.policy.revoke_access_on_refresh)
    }

    /// Rotates the token; `None` when a concurrent request rotated (or revoked) it first.
    async fn rotate(
        &self,
        record: &TokenRecord,
        digest: Digest,
        scope: &Scope,
        granted: &Scope,
    ) -> Result<Option<TokenResponse>, OAuthError> {
        let auth = self.auth;
        let now = auth.clock.now();
        let expiries = Expiries::new(&self.policy, now, record.family_expires_at);
        // "the refresh token scope MUST be identical to that of the refresh token included by the
        // client" (RFC 6749 §6); the access token gets the requested scope.
        let fresh = FreshTokens::mint(now, &expiries, scope.to_string(), Some(granted.to_string()));
        let FreshTokens { answer, access, refresh: Some(refresh) } = fresh else {
            return Err(OAuthError::server_error(anyhow::anyhow!("a rotation minted no refresh token")));
        };
        let window = self.policy.replay_window_secs;
        let sealed = (window > 0)
            .then(|| {
                replay::seal(self.presented, &self.client.client_id, self.requested_scope, &answer, expiries.access)
            })
            .flatten();
        let rotation = Rotation {
            family_id: &record.family_id,
            old_refresh: digest,
            revoke_access: self.access_to_revoke(record),
            new_access: access,
            new_refresh: refresh,
            replay_sealed: sealed.as_deref(),
            replay_until: sealed.as_ref().map(|_| now.saturating_add(window)),
            now,
        };
        if !auth.store.rotate_refresh_token(&rotation).await? {
            return Ok(None);
        }
        tracing::info!(family_id = %record.family_id, "refresh token rotated");
        auth.metrics.refresh("rotated");
        auth.metrics.issued("refresh_token");
        Ok(Some(answer))
    }

    /// Without rotation (a client's policy): a new access token, the same refresh token with its
    /// expiry unchanged.
    async fn refresh_in_place(
        &self,
        record: &TokenRecord,
        digest: Digest,
        scope: Scope,
    ) -> Result<TokenResponse, OAuthError> {
        let auth = self.auth;
        let now = auth.clock.now();
        let expiries = Expiries::new(&self.policy, now, record.family_expires_at);
        let FreshTokens { mut answer, access, .. } = FreshTokens::mint(now, &expiries, scope.to_string(), None);
        let in_place = InPlace {
            family_id: &record.family_id,
            refresh: digest,
            revoke_access: self.access_to_revoke(record),
            new_access: access,
            now,
        };
        if !auth.store.refresh_in_place(&in_place).await? {
            return Err(refused(Inactive::Revoked));
        }
        tracing::info!(family_id = %record.family_id, "access token refreshed without rotation");
        auth.metrics.refresh("in_place");
        auth.metrics.issued("refresh_token");
        answer.refresh_token = Some(SecretString::from(self.presented.to_owned()));
        Ok(answer)
    }

    /// A rotated refresh token presented again. The same response when this is a duplicate of the
    /// rotating request (same client — checked by the caller — same scope, inside the window, the
    /// successor neither rotated nor revoked); otherwise reuse: revoke the family.
    async fn replay_or_reuse(&self, record: &TokenRecord) -> Result<TokenResponse, OAuthError> {
        let auth = self.auth;
        let now = auth.clock.now();
        if let Some(answer) = self.replay(record, now).await? {
            tracing::info!(family_id = %record.family_id, "refresh replayed within the replay window");
            auth.metrics.refresh("replayed");
            return Ok(answer);
        }
        auth.store.revoke_family(&record.family_id, now).await?;
        auth.metrics.refresh("reuse_detected");
        let event = SecurityEvent::new(EventKind::RefreshTokenReuse, &Origin::system())
            .client(&record.client_id)
            .user(record.username.as_deref())
            .family(&record.family_id);
        auth.record_security_event(event).await;
        Err(refused(Inactive::Consumed))
    }

    async fn replay(&self, record: &TokenRecord, now: i64) -> Result<Option<TokenResponse>, OAuthError> {
        let (Some(sealed), Some(until), Some(successor)) =
            (&record.replay_sealed, record.replay_until, &record.successor_digest)
        else {
            return Ok(None);
        };
        if now >= until || record.family_revoked_at.is_some() {
            return Ok(None);
        }
        let Some(successor) = self.auth.store.find_token(successor).await? else {
            return Ok(None);
        };
        if check(&successor, now).is_err() {
            return Ok(None);
        }
        if let Some(access) = &successor.access_digest {
            let access = self.auth.store.find_token(access).await?;
            if !access.is_some_and(|a| check(&a, now).is_ok() && a.first_used_at.is_none()) {
                return Ok(None);
            }
        }
        Ok(replay::open(self.presented, &self.client.client_id, self.requested_scope, sealed, now))
    }
}
