//! `/admin/api/v1/tokens/…`: look a token up by value, revoke one by value. The token travels in
//! the POST body (never in a URL, which proxies log); it is parsed and digested, never stored,
//! logged or put in an event.

use axum::extract::State;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use super::TAG_TOKENS;
use crate::admin::tokens;
use crate::admin::views::TokenView;
use crate::http::AppState;
use crate::oauth::revocation::Revoked;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// An access token (`oat_…`) or a refresh token (`ort_…`).
    #[schema(value_type = String, format = Password)]
    token: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct TokenRevoked {
    /// grant_family (a refresh token: every token of its grant) or access_token.
    revoked: RevokedWhat,
    /// The token as it was before.
    token: TokenView,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevokedWhat {
    GrantFamily,
    AccessToken,
}

fn unknown() -> ApiError {
    ApiError::not_found("no such token: not an oauthd token, or no longer stored")
}

/// Look a token up: its state, kind, grant family, client, user, scope and expiry.
#[utoipa::path(post, path = "/tokens/lookup", operation_id = "lookup_token", tag = TAG_TOKENS, request_body = TokenBody,
    responses((status = 200, body = TokenView), (status = 404, body = ErrorBody)))]
pub async fn lookup(
    State(auth): State<AppState>,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Json<TokenView>, ApiError> {
    let found = tokens::lookup(&auth, body.token.expose_secret()).await?;
    found.map(Json).ok_or_else(unknown)
}

/// Revoke a token, whoever it was issued to: a refresh token with its whole grant family, an
/// access token alone.
#[utoipa::path(post, path = "/tokens/revoke", operation_id = "revoke_token", tag = TAG_TOKENS, request_body = TokenBody,
    responses((status = 200, body = TokenRevoked), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Json<TokenRevoked>, ApiError> {
    let done = tokens::revoke(&auth, &caller.origin, body.token.expose_secret()).await?.ok_or_else(unknown)?;
    let revoked = match done.revoked {
        Revoked::Family => RevokedWhat::GrantFamily,
        Revoked::AccessToken => RevokedWhat::AccessToken,
        Revoked::Unknown => return Err(unknown()),
    };
    Ok(Json(TokenRevoked { revoked, token: done.token }))
}
