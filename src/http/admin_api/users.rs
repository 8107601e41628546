//! `/admin/api/v1/users…`: list, create, show, change (password, administrator flag), delete,
//! disable, enable, revoke every token. Each handler extracts, calls one `admin::users` function
//! and answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{PageView, RevokedGrants, TAG_USERS};
use crate::admin::page::PageRequest;
use crate::admin::users::{self, UserChanges};
use crate::admin::views::UserView;
use crate::http::AppState;
use crate::store::UserFilter;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Items per page, 1-200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only administrators (true) or only the others (false).
    admin: Option<bool>,
    /// Only disabled users (true) or only enabled ones (false).
    disabled: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// 1-255 characters without control characters.
    username: String,
    /// Stored as an argon2id hash only.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// An administrator (the console's admin pages).
    #[serde(default)]
    admin: bool,
}

/// Changes to a user; an absent field stays as it is. Setting a password keeps the user's tokens
/// valid: revoke them too after a reset.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<SecretString>,
    admin: Option<bool>,
}

/// List users, by username.
#[utoipa::path(get, path = "/users", operation_id = "list_users", tag = TAG_USERS, params(UserListQuery),
    responses((status = 200, body = PageView<UserView>), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(auth): State<AppState>,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> Result<Json<PageView<UserView>>, ApiError> {
    let request = PageRequest::new(q.limit, q.cursor)?;
    let page = users::page(&auth, UserFilter { admin: q.admin, disabled: q.disabled }, &request).await?;
    Ok(Json(page.map(|u| UserView::from(&u)).into()))
}

/// Create a user.
#[utoipa::path(post, path = "/users", operation_id = "create_user", tag = TAG_USERS, request_body = NewUserBody,
    responses((status = 201, body = UserView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    users::create(&auth, &body.username, &body.password).await?;
    if body.admin {
        users::set_admin(&auth, &caller.origin, &body.username, true).await?;
    }
    Ok((StatusCode::CREATED, Json(UserView::from(&users::find(&auth, &body.username).await?))))
}

/// Show a user.
#[utoipa::path(get, path = "/users/{username}", operation_id = "show_user", tag = TAG_USERS, params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn show(State(auth): State<AppState>, ApiPath(username): ApiPath) -> Result<Json<UserView>, ApiError> {
    Ok(Json(UserView::from(&users::find(&auth, &username).await?)))
}

/// Set a user's password or administrator flag.
#[utoipa::path(patch, path = "/users/{username}", operation_id = "update_user", tag = TAG_USERS, params(("username" = String, Path)),
    request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(username): ApiPath,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    let changes = UserChanges { password: patch.password, admin: patch.admin };
    Ok(Json(UserView::from(&users::update(&auth, &caller.origin, &username, changes).await?)))
}

/// Delete a user and every token issued for them.
#[utoipa::path(delete, path = "/users/{username}", operation_id = "delete_user", tag = TAG_USERS, params(("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(username): ApiPath,
) -> Result<StatusCode, ApiError> {
    users::delete(&auth, &caller.origin, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disable a user: they can no longer authenticate, and every token issued for them is revoked.
#[utoipa::path(post, path = "/users/{username}/disable", operation_id = "disable_user", tag = TAG_USERS, params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn disable(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(username): ApiPath,
) -> Result<Json<UserView>, ApiError> {
    users::set_disabled(&auth, &caller.origin, &username, true).await?;
    Ok(Json(UserView::from(&users::find(&auth, &username).await?)))
}

/// Enable a disabled user (their revoked tokens stay revoked).
#[utoipa::path(post, path = "/users/{username}/enable", operation_id = "enable_user", tag = TAG_USERS, params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn enable(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(username): ApiPath,
) -> Result<Json<UserView>, ApiError> {
    users::set_disabled(&auth, &caller.origin, &username, false).await?;
    Ok(Json(UserView::from(&users::find(&auth, &username).await?)))
}

/// Revoke every token issued for a user (after a password reset).
#[utoipa::path(post, path = "/users/{username}/revoke-tokens", operation_id = "revoke_user_tokens", tag = TAG_USERS, params(("username" = String, Path)),
    responses((status = 200, body = RevokedGrants), (status = 404, body = ErrorBody)))]
pub async fn revoke_tokens(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(username): ApiPath,
) -> Result<Json<RevokedGrants>, ApiError> {
    let revoked_grants = users::revoke_tokens(&auth, &caller.origin, &username).await?;
    Ok(Json(RevokedGrants { revoked_grants }))
}
