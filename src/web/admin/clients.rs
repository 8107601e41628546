//! Every client: the list (filters, pages), creation (the secret shown once), one client's page
//! with disable / enable, revoke every token, delete. Each action is one `admin::clients` call.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use secrecy::ExposeSecret;

use super::{admin_error_page, encode, field, fields, query_fields, refusal, Administrator, Tab};
use crate::admin::clients::{self, ClientListFilter, ClientSpec};
use crate::admin::page::PageRequest;
use crate::admin::views::ClientView;
use crate::http::AppState;
use crate::oauth::GrantType;
use crate::web::session::CsrfForm;
use crate::web::{render, see_other, Chrome};

/// A form or query as its fields (repeated names kept): reading it never fails.
type Fields = Vec<(String, String)>;

pub struct ClientRow {
    pub client: ClientView,
    pub href: String,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ClientsPage {
    chrome: Chrome,
    tab: Tab,
    rows: Vec<ClientRow>,
    disabled: String,
    grant_type: String,
    scope: String,
    /// The grant types to filter by, and whether each is the one chosen.
    grant_types: Vec<(&'static str, bool)>,
    next_href: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

pub async fn list(State(auth): State<AppState>, admin: Administrator, uri: Uri) -> Response {
    let query = query_fields(&uri);
    let value = |name: &str| field(&query, name).unwrap_or_default().to_owned();
    let (disabled, grant_type, scope) = (value("disabled"), value("grant_type"), value("scope"));
    let filter = ClientListFilter {
        disabled: match disabled.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        grant_type: (!grant_type.is_empty()).then(|| grant_type.clone()),
        scope: (!scope.is_empty()).then(|| scope.clone()),
        owner: None,
    };
    let notice = match field(&query, "done") {
        Some("deleted") => field(&query, "client").map(|id| format!("Client {id} was deleted with its tokens.")),
        _ => None,
    };
    let grant_types = GrantType::ALL.iter().map(|g| (g.as_str(), g.as_str() == grant_type)).collect();
    let mut page = ClientsPage {
        chrome: admin.chrome(&auth),
        tab: Tab::Clients,
        rows: Vec::new(),
        disabled,
        grant_type,
        scope,
        grant_types,
        next_href: None,
        notice,
        error: None,
    };
    let listed = match PageRequest::new(None, field(&query, "cursor").map(str::to_owned)) {
        Ok(request) => clients::page(&auth, &filter, &request).await,
        Err(error) => Err(error),
    };
    match listed {
        Ok(found) => {
            page.rows = found.items.iter().map(|c| row(&auth, c)).collect();
            page.next_href = found.next_cursor.map(|cursor| {
                format!(
                    "/admin/clients?disabled={}&grant_type={}&scope={}&cursor={}",
                    encode(&page.disabled),
                    encode(&page.grant_type),
                    encode(&page.scope),
                    encode(&cursor)
                )
            });
            render(StatusCode::OK, &page)
        }
        Err(error) => match refusal(&auth, error) {
            Ok(message) => {
                page.error = Some(message);
                render(StatusCode::BAD_REQUEST, &page)
            }
            Err(response) => *response,
        },
    }
}

fn row(auth: &AppState, client: &crate::store::ClientRecord) -> ClientRow {
    ClientRow {
        client: ClientView::new(&auth.settings.tokens, client),
        href: format!("/admin/clients/{}", encode(&client.client_id)),
    }
}

#[derive(Template)]
#[template(path = "admin/client_new.html")]
struct NewClientPage {
    chrome: Chrome,
    tab: Tab,
    csrf: String,
    name: String,
    grant_types: Vec<(&'static str, bool)>,
    scopes: String,
    redirect_uris: String,
    public: bool,
    introspect: bool,
    first_party: bool,
    error: Option<String>,
}

impl NewClientPage {
    fn from_form(admin: &Administrator, auth: &AppState, form: &Fields) -> NewClientPage {
        let chosen = fields(form, "grant_type");
        NewClientPage {
            chrome: admin.chrome(auth),
            tab: Tab::Clients,
            csrf: admin.csrf(),
            name: field(form, "name").unwrap_or_default().to_owned(),
            grant_types: GrantType::ALL.iter().map(|g| (g.as_str(), chosen.contains(&g.as_str()))).collect(),
            scopes: field(form, "scopes").unwrap_or_default().to_owned(),
            redirect_uris: field(form, "redirect_uris").unwrap_or_default().to_owned(),
            public: field(form, "public").is_some(),
            introspect: field(form, "introspect").is_some(),
            first_party: field(form, "first_party").is_some(),
            error: None,
        }
    }
}

pub async fn new(State(auth): State<AppState>, admin: Administrator) -> Response {
    let mut page = NewClientPage::from_form(&admin, &auth, &Vec::new());
    page.grant_types = GrantType::ALL.iter().map(|g| (g.as_str(), *g == GrantType::ClientCredentials)).collect();
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin/client_created.html")]
struct CreatedPage {
    chrome: Chrome,
    tab: Tab,
    client: ClientView,
    href: String,
    /// Shown this once; none for a public client.
    secret: Option<String>,
}

/// Creates a client through `admin::clients::create` — every registration rule is there — and
/// shows its secret this once (the answer to the POST is never cached, and the secret is not
/// kept).
pub async fn create(
    State(auth): State<AppState>,
    admin: Administrator,
    CsrfForm { form, .. }: CsrfForm<Fields>,
) -> Response {
    let spec = ClientSpec {
        name: field(&form, "name").unwrap_or_default().to_owned(),
        grant_types: fields(&form, "grant_type").into_iter().map(str::to_owned).collect(),
        scopes: field(&form, "scopes").unwrap_or_default().split_whitespace().map(str::to_owned).collect(),
        redirect_uris: field(&form, "redirect_uris")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        public: field(&form, "public").is_some(),
        introspect: field(&form, "introspect").is_some(),
        first_party: field(&form, "first_party").is_some(),
        ..ClientSpec::default()
    };
    match clients::create(&auth, spec).await {
        Ok(created) => {
            let page = CreatedPage {
                chrome: admin.chrome(&auth),
                tab: Tab::Clients,
                href: format!("/admin/clients/{}", encode(&created.client.client_id)),
                client: ClientView::new(&auth.settings.tokens, &created.client),
                secret: created.client_secret.map(|s| s.expose_secret().to_owned()),
            };
            render(StatusCode::CREATED, &page)
        }
        Err(error) => match refusal(&auth, error) {
            Ok(message) => {
                let mut page = NewClientPage::from_form(&admin, &auth, &form);
                page.error = Some(message);
                render(StatusCode::UNPROCESSABLE_ENTITY, &page)
            }
            Err(response) => *response,
        },
    }
}

#[derive(Template)]
#[template(path = "admin/client.html")]
struct ClientPage {
    chrome: Chrome,
    tab: Tab,
    csrf: String,
    client: ClientView,
    href: String,
    events_href: String,
    notice: Option<String>,
}

pub async fn show(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(client_id): Path<String>,
    uri: Uri,
) -> Response {
    let client = match clients::find(&auth, &client_id).await {
        Ok(client) => client,
        Err(error) => return admin_error_page(&auth, &admin, error),
    };
    let query = query_fields(&uri);
    let notice = match field(&query, "done") {
        Some("created") => Some("The client was created.".to_owned()),
        Some("disabled") => Some(
            "The client was disabled: it can no longer authenticate, and every token issued to it was revoked."
                .to_owned(),
        ),
        Some("enabled") => Some("The client was enabled. Tokens revoked before stay revoked.".to_owned()),
        Some("revoked") => Some(format!("Every token of the client was revoked ({} grants).", grants(&query))),
        _ => None,
    };
    let page = ClientPage {
        chrome: admin.chrome(&auth),
        tab: Tab::Clients,
        csrf: admin.csrf(),
        href: format!("/admin/clients/{}", encode(&client.client_id)),
        events_href: format!("/admin/events?client_id={}", encode(&client.client_id)),
        client: ClientView::new(&auth.settings.tokens, &client),
        notice,
    };
    render(StatusCode::OK, &page)
}

/// The number of grants a redirect's query reports (a number, or nothing shown as 0).
fn grants(query: &Fields) -> u64 {
    field(query, "grants").and_then(|n| n.parse().ok()).unwrap_or_default()
}

/// No fields besides the CSRF token.
#[derive(serde::Deserialize)]
pub struct Empty {}

pub async fn disable(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(client_id): Path<String>,
    _: CsrfForm<Empty>,
) -> Response {
    match clients::set_disabled(&auth, &admin.origin, &client_id, true).await {
        Ok(()) => see_other(&format!("/admin/clients/{}?done=disabled", encode(&client_id))),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}

pub async fn enable(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(client_id): Path<String>,
    _: CsrfForm<Empty>,
) -> Response {
    match clients::set_disabled(&auth, &admin.origin, &client_id, false).await {
        Ok(()) => see_other(&format!("/admin/clients/{}?done=enabled", encode(&client_id))),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}

pub async fn revoke_tokens(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(client_id): Path<String>,
    _: CsrfForm<Empty>,
) -> Response {
    match clients::revoke_tokens(&auth, &admin.origin, &client_id).await {
        Ok(grants) => see_other(&format!("/admin/clients/{}?done=revoked&grants={grants}", encode(&client_id))),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}

/// Deletes a client when the form's confirmation box is ticked.
pub async fn delete(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(client_id): Path<String>,
    CsrfForm { form, .. }: CsrfForm<Fields>,
) -> Response {
    if field(&form, "confirm") != Some("yes") {
        let error = crate::admin::AdminError::Invalid(
            "tick the box to confirm: deleting a client deletes every token issued to it".into(),
        );
        return admin_error_page(&auth, &admin, error);
    }
    match clients::delete(&auth, &admin.origin, &client_id).await {
        Ok(()) => see_other(&format!("/admin/clients?done=deleted&client={}", encode(&client_id))),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}
