//! `/admin/api/v1/consents…`: what a user allowed which client on the consent page, and
//! withdrawing it — the same `admin::consents` functions the user console calls.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::{PageView, RevokedGrants, TAG_CONSENTS};
use crate::admin::consents;
use crate::admin::views::ConsentView;
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsentListQuery {
    /// The user whose consents to list (required).
    username: String,
}

/// List the consents a user gave, by client name, with each client's last use. One page: a user
/// consents to few clients (`next_cursor` is always null).
#[utoipa::path(get, path = "/consents", operation_id = "list_consents", tag = TAG_CONSENTS, params(ConsentListQuery),
    responses((status = 200, body = PageView<ConsentView>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(auth): State<AppState>,
    ApiQuery(q): ApiQuery<ConsentListQuery>,
) -> Result<Json<PageView<ConsentView>>, ApiError> {
    let items = consents::authorized(&auth, &q.username).await?.iter().map(ConsentView::from).collect();
    Ok(Json(PageView { items, next_cursor: None }))
}

/// Which consent to withdraw.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRevokeBody {
    pub username: String,
    pub client_id: String,
}

/// Withdraw a consent: every grant the user gave the client is revoked, and the client must ask
/// again. 404 when the user gave the client no consent.
#[utoipa::path(post, path = "/consents/revoke", operation_id = "revoke_consent", tag = TAG_CONSENTS,
    request_body = ConsentRevokeBody,
    responses((status = 200, body = RevokedGrants), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn revoke(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<ConsentRevokeBody>,
) -> Result<Json<RevokedGrants>, ApiError> {
    let revoked_grants = consents::withdraw(&auth, &caller.origin, &body.username, &body.client_id).await?;
    Ok(Json(RevokedGrants { revoked_grants }))
}
