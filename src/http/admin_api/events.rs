//! `/admin/api/v1/events`: security events, newest first, with filters.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use super::{PageView, TAG_EVENTS};
use crate::admin::events::{self, EventListFilter};
use crate::admin::page::PageRequest;
use crate::admin::views::EventView;
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// Only events of this kind (e.g. refresh_token_reuse).
    kind: Option<String>,
    /// Only events naming this client.
    client_id: Option<String>,
    /// Only events naming this user.
    username: Option<String>,
    /// Only events at or after this time (unix seconds).
    since: Option<i64>,
    /// Only events at or before this time (unix seconds).
    until: Option<i64>,
    /// Items per page, 1-200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List security events, newest first.
#[utoipa::path(get, path = "/events", operation_id = "list_events", tag = TAG_EVENTS, params(EventListQuery),
    responses((status = 200, body = PageView<EventView>), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(auth): State<AppState>,
    ApiQuery(q): ApiQuery<EventListQuery>,
) -> Result<Json<PageView<EventView>>, ApiError> {
    let request = PageRequest::new(q.limit, q.cursor)?;
    let filter =
        EventListFilter { kind: q.kind, client_id: q.client_id, username: q.username, since: q.since, until: q.until };
    let page = events::page(&auth, &filter, &request).await?;
    Ok(Json(page.map(|e| EventView::from(&e)).into()))
}
