//! The admin API: JSON under `/admin/api/v1/` for automation — clients, users, grant families,
//! tokens (looked up and revoked by value) and security events. Handlers are thin: each extracts,
//! calls one `admin::` function (the functions the CLI and the console call, where every rule
//! lives) and answers. Authentication and the audit trail are one middleware ([`auth`]); errors
//! have one shape ([`error`]).
//!
//! Routes are registered through utoipa-axum from each handler's `#[utoipa::path]`, so the OpenAPI
//! document served at `/admin/api/v1/openapi.json` is generated from the very annotations that
//! route the requests. The document itself is public (it holds no data); every other route needs a
//! bearer token with the admin scope.
//!
//! Served on the main listener, or only on `admin.listen` when that is set (`http::admin_router`);
//! either way behind the same layers, TLS rule included. Consents (issue 12) have no route yet.

mod auth;
mod clients;
mod consents;
mod error;
mod events;
mod extract;
mod grants;
mod tokens;
mod users;

use std::sync::Arc;

use axum::extract::{Extension, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::AdminCaller;
pub use error::{ApiError, ErrorBody};

use super::AppState;
use crate::admin::page::Page;

/// Where the admin API lives.
pub const BASE: &str = "/admin/api/v1";

const TAG_CLIENTS: &str = "clients";
const TAG_USERS: &str = "users";
const TAG_GRANTS: &str = "grants";
const TAG_TOKENS: &str = "tokens";
const TAG_EVENTS: &str = "events";
const TAG_CONSENTS: &str = "consents";

/// The name of the bearer security scheme in the document.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "oauthd admin API",
        version = "1",
        description = "Manage oauthd's clients, users, grants and tokens, and read its security events. \
            Every operation but this document needs `Authorization: Bearer <access token>` whose scope \
            holds the admin scope (config `admin.scope`, default `oauthd:admin`); errors are \
            `{\"error\", \"error_description\"}` with a stable `error` code."
    ),
    tags(
        (name = "clients", description = "OAuth clients: their grant types, scopes, policy and secret"),
        (name = "users", description = "Resource owners and administrators"),
        (name = "grants", description = "Grant families: one successful grant and every token descended from it"),
        (name = "tokens", description = "Any token, looked up or revoked by value (in the body, never the URL)"),
        (name = "consents", description = "What users allowed clients on the consent page, and withdrawing it"),
        (name = "events", description = "Security events, newest first"),
        (name = "meta", description = "This document"),
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// One page of a list: at most `limit` items, and the cursor of the next page when there is one.
#[derive(Serialize, ToSchema)]
pub struct PageView<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for PageView<T> {
    fn from(page: Page<T>) -> PageView<T> {
        PageView { items: page.items, next_cursor: page.next_cursor }
    }
}

/// How many grant families a revocation of "every token" revoked.
#[derive(Serialize, ToSchema)]
pub struct RevokedGrants {
    pub revoked_grants: u64,
}

/// The OpenAPI document, generated from the routes.
#[derive(Clone)]
struct Document(Arc<OpenApiDocument>);

/// This document: the admin API in OpenAPI 3.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "meta",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
async fn openapi_json(Extension(Document(document)): Extension<Document>) -> Response {
    Json(document.as_ref()).into_response()
}

/// The admin routes with their OpenAPI document, before the main router's layers and state.
pub fn routes(state: &AppState) -> Router<AppState> {
    let (router, document) = api(state).split_for_parts();
    router
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(Extension(Document(Arc::new(document))))
        .layer(axum::middleware::from_fn(no_store))
}

/// The OpenAPI document alone (for tests and tooling).
pub fn document(state: &AppState) -> OpenApiDocument {
    api(state).split_for_parts().1
}

fn api(state: &AppState) -> OpenApiRouter<AppState> {
    let protected = OpenApiRouter::new()
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::show, clients::update, clients::delete))
        .routes(routes!(clients::disable))
        .routes(routes!(clients::enable))
        .routes(routes!(clients::rotate_secret))
        .routes(routes!(clients::revoke_tokens))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::show, users::update, users::delete))
        .routes(routes!(users::disable))
        .routes(routes!(users::enable))
        .routes(routes!(users::revoke_tokens))
        .routes(routes!(grants::list))
        .routes(routes!(grants::show))
        .routes(routes!(grants::revoke))
        .routes(routes!(tokens::lookup))
        .routes(routes!(tokens::revoke))
        .routes(routes!(consents::list))
        .routes(routes!(consents::revoke))
        .routes(routes!(events::list))
        // Every route above, and none below, authenticates and is audited.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate));
    let public = OpenApiRouter::new().routes(routes!(openapi_json));
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(BASE, protected.merge(public));
    let document = api.get_openapi_mut();
    let protected_paths: Vec<String> =
        document.paths.paths.keys().filter(|path| !path.ends_with("/openapi.json")).cloned().collect();
    for path in protected_paths {
        if let Some(item) = document.paths.paths.get_mut(&path) {
            for operation in operations(item) {
                operation.security =
                    Some(vec![utoipa::openapi::security::SecurityRequirement::new(BEARER, Vec::<String>::new())]);
            }
        }
    }
    document.components.get_or_insert_with(Default::default).add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An oauthd access token whose scope holds the admin scope"))
                .build(),
        ),
    );
    api
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
}

/// Admin answers may hold secrets (a new client secret) and are about live state: never cached.
async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
