//! The refresh_token grant, RFC 6749 §6, with rotation (RFC 9700 §4.14.2) and idempotent replay.
//!
//! Phases:
//! 1. validate — `refresh_token` is REQUIRED; `scope` is optional (§6);
//! 2. authenticate the client and check it may use this grant (done before dispatch: "require
//!    client authentication for confidential clients", §6);
//! 3. load the token by digest (a damaged token fails its checksum without a database read) — the
//!    same round trip confirms a client whose secret was verified before;
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
use crate::oauth::issuer::{response, Expiries, TokenResponse};
use crate::oauth::params::Params;
use crate::oauth::policy::Policy;
use crate::oauth::scope::Scope;
use crate::oauth::token_format::{self, mint};
use crate::oauth::token_state::{check, Inactive};
use crate::oauth::{replay, Authority, OAuthError};
use crate::store::tokens::Rotation;
use crate::store::{NewToken, TokenKind, TokenRecord};

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
    let record = auth.find_digest(TokenKind::Refresh, &digest, Some(client)).await?;
    let Some(record) = record else {
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
        return request.refresh_in_place(&record, &digest, scope).await;
    }
    if let Some(rotated) = request.rotate(&record, &digest, &scope, &granted).await? {
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
    /// Rotates the token; `None` when a concurrent request rotated (or revoked) it first.
    async fn rotate(
        &self,
        record: &TokenRecord,
        digest: &[u8; 32],
        scope: &Scope,
        granted: &Scope,
    ) -> Result<Option<TokenResponse>, OAuthError> {
        let auth = self.auth;
        let now = auth.clock.now();
        let expiries = Expiries::new(&self.policy, now, record.family_expires_at);
        let access_scope = scope.to_string();
        let refresh_scope = granted.to_string();
        let access = mint(TokenKind::Access);
        let refresh = mint(TokenKind::Refresh);
        let window = self.policy.replay_window_secs;
        let (access_digest, refresh_digest) = (access.digest, refresh.digest);
        let answer = response(access, expiries.access - now, Some(refresh), access_scope.clone());
        let sealed = (window > 0)
            .then(|| {
                replay::seal(self.presented, &self.client.client_id, self.requested_scope, &answer, expiries.access)
            })
            .flatten();
        let rotation = Rotation {
            family_id: &record.family_id,
            old_refresh: digest,
            revoke_access: record.access_digest.as_deref().filter(|_| self.policy.revoke_access_on_refresh),
            new_access: NewToken {
                digest: &access_digest,
                kind: TokenKind::Access,
                scope: &access_scope,
                issued_at: now,
                expires_at: expiries.access,
                access_digest: None,
            },
            new_refresh: NewToken {
                digest: &refresh_digest,
                kind: TokenKind::Refresh,
                scope: &refresh_scope,
                issued_at: now,
                expires_at: expiries.refresh,
                access_digest: Some(&access_digest),
            },
            replay_sealed: sealed.as_deref(),
            replay_until: sealed.as_ref().map(|_| now + window),
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
        digest: &[u8; 32],
        scope: Scope,
    ) -> Result<TokenResponse, OAuthError> {
        let auth = self.auth;
        let now = auth.clock.now();
        let expiries = Expiries::new(&self.policy, now, record.family_expires_at);
        let access = mint(TokenKind::Access);
        let access_scope = scope.to_string();
        let new_access = NewToken {
            digest: &access.digest,
            kind: TokenKind::Access,
            scope: &access_scope,
            issued_at: now,
            expires_at: expiries.access,
            access_digest: None,
        };
        let revoke = record.access_digest.as_deref().filter(|_| self.policy.revoke_access_on_refresh);
        if !auth.store.refresh_in_place(&record.family_id, digest, revoke, &new_access, now).await? {
            return Err(refused(Inactive::Revoked));
        }
        tracing::info!(family_id = %record.family_id, "access token refreshed without rotation");
        auth.metrics.refresh("in_place");
        auth.metrics.issued("refresh_token");
        let same = SecretString::from(self.presented.to_owned());
        Ok(TokenResponse {
            access_token: access.token,
            expires_in: expiries.access - now,
            refresh_token: Some(same),
            scope: access_scope,
        })
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
        tracing::warn!(
            security_event = "refresh_token_reuse",
            client_id = %record.client_id,
            family_id = %record.family_id,
            "a rotated refresh token was presented again; its grant family is revoked"
        );
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
        let Ok(successor) = <[u8; 32]>::try_from(successor.as_slice()) else {
            return Ok(None);
        };
        let Some(successor) = self.auth.store.find_token(&successor).await? else {
            return Ok(None);
        };
        if check(&successor, now).is_err() {
            return Ok(None);
        }
        if let Some(access) = successor.access_digest.as_deref().and_then(|d| <[u8; 32]>::try_from(d).ok()) {
            let access = self.auth.store.find_token(&access).await?;
            if !access.is_some_and(|a| check(&a, now).is_ok() && a.first_used_at.is_none()) {
                return Ok(None);
            }
        }
        Ok(replay::open(self.presented, &self.client.client_id, self.requested_scope, sealed, now))
    }
}
