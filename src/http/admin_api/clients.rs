//! `/admin/api/v1/clients…`: list, create, show, change, delete, disable, enable, rotate the
//! secret, revoke every token. Each handler extracts, calls one `admin::clients` function and
//! answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use super::{PageView, RevokedGrants, TAG_CLIENTS};
use crate::admin::clients::{self, ClientChanges, ClientListFilter, ClientSpec};
use crate::admin::page::PageRequest;
use crate::admin::views::{ClientView, CreatedClientView};
use crate::http::AppState;
use crate::store::ClientRecord;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientListQuery {
    /// Items per page, 1-200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only disabled clients (true) or only enabled ones (false).
    disabled: Option<bool>,
    /// Only clients allowed this grant type.
    grant_type: Option<String>,
    /// Only clients allowed this scope.
    scope: Option<String>,
    /// Only clients this user owns (registered in the console, or given to them).
    owner: Option<String>,
}

/// A new client. A confidential client's secret is generated unless `client_secret` imports one
/// (16-512 printable ASCII characters); a public client has none.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    /// A chosen id (to migrate an existing client); generated when absent.
    client_id: Option<String>,
    name: String,
    /// authorization_code, client_credentials, password, refresh_token.
    grant_types: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    /// Scopes granted when a request names none; all of `scopes` when absent.
    default_scopes: Option<Vec<String>>,
    /// An existing secret to import; generated when absent.
    #[schema(value_type = Option<String>)]
    client_secret: Option<SecretString>,
    /// A resource server: may introspect tokens issued to any client.
    #[serde(default)]
    introspect: bool,
    /// Where authorization responses may go (the authorization_code grant needs at least one).
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// A public client (token_endpoint_auth_method none): no secret; authorization_code and
    /// refresh_token only.
    #[serde(default)]
    public: bool,
    /// Authorization requests need PKCE (default true; only a confidential client may do without).
    pkce_required: Option<bool>,
    /// A first-party client: the user's consent is implicit.
    #[serde(default)]
    first_party: bool,
    /// A user who may manage it in the console (an existing username); absent: nobody but operators.
    owner: Option<String>,
}

/// Changes to a client: an absent field stays as it is; a policy value of `null` returns to the
/// server-wide `[tokens]` setting.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    name: Option<String>,
    grant_types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    default_scopes: Option<Vec<String>>,
    introspect: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    access_lifetime_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    refresh_lifetime_secs: Option<Option<i64>>,
    /// 0 = unlimited.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    family_lifetime_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    rotate_refresh_tokens: Option<Option<bool>>,
    /// 0 = strict rotation.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    replay_window_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    client_credentials_refresh: Option<Option<bool>>,
    /// Replaces the registered redirect URIs.
    redirect_uris: Option<Vec<String>>,
    pkce_required: Option<bool>,
    first_party: Option<bool>,
}

/// A field that is present, `null` or a value: `Some(None)` or `Some(Some(v))`; absent fields are
/// `None` through `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretBody {
    /// Also revoke every token issued to the client (default false: issued tokens stay valid).
    #[serde(default)]
    revoke_tokens: bool,
}

fn view(auth: &AppState, c: &ClientRecord) -> ClientView {
    ClientView::new(&auth.settings.tokens, c)
}

fn created(auth: &AppState, c: &ClientRecord, secret: Option<&SecretString>) -> CreatedClientView {
    CreatedClientView { client: view(auth, c), client_secret: secret.map(|s| s.expose_secret().to_owned()) }
}

/// List clients, by client id.
#[utoipa::path(get, path = "/clients", operation_id = "list_clients", tag = TAG_CLIENTS, params(ClientListQuery),
    responses((status = 200, body = PageView<ClientView>), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(auth): State<AppState>,
    ApiQuery(q): ApiQuery<ClientListQuery>,
) -> Result<Json<PageView<ClientView>>, ApiError> {
    let request = PageRequest::new(q.limit, q.cursor)?;
    let filter = ClientListFilter { disabled: q.disabled, grant_type: q.grant_type, scope: q.scope, owner: q.owner };
    let page = clients::page(&auth, &filter, &request).await?;
    Ok(Json(page.map(|c| view(&auth, &c)).into()))
}

/// Create a client; the answer holds its secret, shown this once.
#[utoipa::path(post, path = "/clients", operation_id = "create_client", tag = TAG_CLIENTS, request_body = NewClientBody,
    responses((status = 201, body = CreatedClientView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(auth): State<AppState>,
    ApiJson(body): ApiJson<NewClientBody>,
) -> Result<(StatusCode, Json<CreatedClientView>), ApiError> {
    let spec = ClientSpec {
        client_id: body.client_id,
        name: body.name,
        grant_types: body.grant_types,
        scopes: body.scopes,
        default_scopes: body.default_scopes,
        secret: body.client_secret,
        introspect: body.introspect,
        redirect_uris: body.redirect_uris,
        public: body.public,
        pkce_optional: body.pkce_required == Some(false),
        first_party: body.first_party,
        owner: body.owner,
    };
    let new = clients::create(&auth, spec).await?;
    Ok((StatusCode::CREATED, Json(created(&auth, &new.client, new.client_secret.as_ref()))))
}

/// Show a client with the token policy in force for it.
#[utoipa::path(get, path = "/clients/{client_id}", operation_id = "show_client", tag = TAG_CLIENTS, params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn show(State(auth): State<AppState>, ApiPath(id): ApiPath) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(view(&auth, &clients::find(&auth, &id).await?)))
}

/// Change a client's name, grant types, scopes, redirect URIs, PKCE policy, first-party or
/// resource-server flag, or token policy. Tokens already issued keep their expiry.
#[utoipa::path(patch, path = "/clients/{client_id}", operation_id = "update_client", tag = TAG_CLIENTS, params(("client_id" = String, Path)),
    request_body = ClientPatch,
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(auth): State<AppState>,
    ApiPath(id): ApiPath,
    ApiJson(patch): ApiJson<ClientPatch>,
) -> Result<Json<ClientView>, ApiError> {
    let changes = ClientChanges {
        name: patch.name,
        grant_types: patch.grant_types,
        scopes: patch.scopes,
        default_scopes: patch.default_scopes,
        introspect: patch.introspect,
        access_lifetime_secs: patch.access_lifetime_secs,
        refresh_lifetime_secs: patch.refresh_lifetime_secs,
        family_lifetime_secs: patch.family_lifetime_secs,
        rotate_refresh_tokens: patch.rotate_refresh_tokens,
        replay_window_secs: patch.replay_window_secs,
        client_credentials_refresh: patch.client_credentials_refresh,
        redirect_uris: patch.redirect_uris,
        pkce_required: patch.pkce_required,
        first_party: patch.first_party,
    };
    Ok(Json(view(&auth, &clients::update(&auth, &id, changes).await?)))
}

/// Delete a client and every token issued to it.
#[utoipa::path(delete, path = "/clients/{client_id}", operation_id = "delete_client", tag = TAG_CLIENTS, params(("client_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(id): ApiPath,
) -> Result<StatusCode, ApiError> {
    clients::delete(&auth, &caller.origin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disable a client: it can no longer authenticate, and every token issued to it is revoked.
#[utoipa::path(post, path = "/clients/{client_id}/disable", operation_id = "disable_client", tag = TAG_CLIENTS, params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn disable(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(id): ApiPath,
) -> Result<Json<ClientView>, ApiError> {
    clients::set_disabled(&auth, &caller.origin, &id, true).await?;
    Ok(Json(view(&auth, &clients::find(&auth, &id).await?)))
}

/// Enable a disabled client (its revoked tokens stay revoked).
#[utoipa::path(post, path = "/clients/{client_id}/enable", operation_id = "enable_client", tag = TAG_CLIENTS, params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn enable(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(id): ApiPath,
) -> Result<Json<ClientView>, ApiError> {
    clients::set_disabled(&auth, &caller.origin, &id, false).await?;
    Ok(Json(view(&auth, &clients::find(&auth, &id).await?)))
}

/// Give a client a new secret, shown this once; the old one stops working at once.
#[utoipa::path(post, path = "/clients/{client_id}/rotate-secret", operation_id = "rotate_client_secret", tag = TAG_CLIENTS,
    params(("client_id" = String, Path)), request_body(content = Option<RotateSecretBody>),
    responses((status = 200, body = CreatedClientView), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(id): ApiPath,
    OptionalJson(body): OptionalJson<RotateSecretBody>,
) -> Result<Json<CreatedClientView>, ApiError> {
    let secret = clients::rotate_secret(&auth, &caller.origin, &id, body.revoke_tokens).await?;
    Ok(Json(created(&auth, &clients::find(&auth, &id).await?, Some(&secret))))
}

/// Revoke every token issued to a client (after a leaked secret).
#[utoipa::path(post, path = "/clients/{client_id}/revoke-tokens", operation_id = "revoke_client_tokens", tag = TAG_CLIENTS,
    params(("client_id" = String, Path)),
    responses((status = 200, body = RevokedGrants), (status = 404, body = ErrorBody)))]
pub async fn revoke_tokens(
    State(auth): State<AppState>,
    caller: AdminCaller,
    ApiPath(id): ApiPath,
) -> Result<Json<RevokedGrants>, ApiError> {
    let revoked_grants = clients::revoke_tokens(&auth, &caller.origin, &id).await?;
    Ok(Json(RevokedGrants { revoked_grants }))
}
