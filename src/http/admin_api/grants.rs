//! `/admin/api/v1/grants…`: the grant families of a client or a user, one family, revoking one.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::{PageView, TAG_GRANTS};
use crate::admin::grants::{self, GrantListFilter};
use crate::admin::page::PageRequest;
use crate::admin::views::GrantView;
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantListQuery {
    /// The client's grants (this or `username` is required).
    client_id: Option<String>,
    /// The user's grants (this or `client_id` is required).
    username: Option<String>,
    /// Only grants that can still be used (true), or only those that cannot (false).
    active: Option<bool>,
    /// Items per page, 1-200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List the grant families of a client or a user, newest first.
#[utoipa::path(get, path = "/grants", operation_id = "list_grants", tag = TAG_GRANTS, params(GrantListQuery),
    responses((status = 200, body = PageView<GrantView>), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(auth): State<AppState>,
    ApiQuery(q): ApiQuery<GrantListQuery>,
) -> Result<Json<PageView<GrantView>>, ApiError> {
    let request = PageRequest::new(q.limit, q.cursor)?;
    let filter = GrantListFilter { client_id: q.client_id, username: q.username, active: q.active };
    let page = grants::page(&auth, &filter, &request).await?;
    Ok(Json(page.map(|f| GrantView::from(&f)).into()))
}

/// Show a grant family.
#[utoipa::path(get, path = "/grants/{family_id}", operation_id = "show_grant", tag = TAG_GRANTS, params(("family_id" = String, Path)),
    responses((status = 200, body = GrantView), (status = 404, body = ErrorBody)))]
pub async fn show(State(auth): State<AppState>, ApiPath(id): ApiPath) -> Result<Json<GrantView>, ApiError> {
    Ok(Json(GrantView::from(&grants::find(&auth, &id).await?)))
}

/// Revoke a grant family: every access and refresh token descended from it.
#[utoipa::path(post, path = "/grants/{family_id}/revoke", operation_id = "revoke_grant", tag = TAG_GRANTS, params(("family_id" = String, Path)),
    responses((status = 200, body = GrantView), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(id): ApiPath,
) -> Result<Json<GrantView>, ApiError> {
    Ok(Json(GrantView::from(&grants::revoke(&auth, &caller.origin, &id).await?)))
}
