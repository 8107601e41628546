//! Applications: the signed-in user's own clients — listed, registered, shown, changed, deleted,
//! given a new secret. `admin::applications` decides; a refusal it explains is shown on the form
//! that caused it, with what the user typed.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::ExposeSecret;

use super::form::Fields;
use super::{failed, owner, Peer, Section};
use crate::admin::applications::{self, ApplicationChanges, ApplicationSpec};
use crate::admin::page::PageRequest;
use crate::admin::AdminError;
use crate::http::AppState;
use crate::store::{ClientRecord, GrantType};
use crate::web::session::{CsrfForm, SignedIn};
use crate::web::{render, see_other, Chrome};

/// An application as its pages show it.
pub struct AppView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub grant_types: Vec<&'static str>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub disabled: bool,
}

impl AppView {
    pub fn new(c: &ClientRecord) -> AppView {
        AppView {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            public: c.public,
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: c.scopes.clone(),
            redirect_uris: c.redirect_uris.clone(),
            disabled: c.disabled_at.is_some(),
        }
    }

    pub fn kind(&self) -> &'static str {
        if self.public {
            "Public (no secret)"
        } else {
            "Confidential"
        }
    }

    pub fn may_use(&self, grant: &str) -> bool {
        self.grant_types.contains(&grant)
    }

    pub fn holds(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn redirect_text(&self) -> String {
        self.redirect_uris.join("\n")
    }

    /// The application's page.
    pub fn href(&self) -> String {
        format!("/console/applications/{}", path_segment(&self.client_id))
    }
}

/// A choice on a form: a value, its label, whether it is ticked.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// What the registration and edit forms hold (as typed, when shown again after a refusal).
pub struct AppForm {
    pub name: String,
    pub grants: Vec<Choice>,
    pub scopes: Vec<Choice>,
    pub redirect_uris: String,
    pub public: bool,
}

const GRANT_LABELS: [(GrantType, &str); 4] = [
    (GrantType::AuthorizationCode, "Authorization code (users sign in here and consent)"),
    (GrantType::RefreshToken, "Refresh token"),
    (GrantType::ClientCredentials, "Client credentials (the application's own tokens)"),
    (GrantType::Password, "Password (the application collects the user's password)"),
];

impl AppForm {
    /// The form with `grants` and `scopes` ticked; the scopes offered are those the operator
    /// allows and any the application already holds.
    fn new(
        auth: &AppState,
        name: &str,
        grants: &[String],
        scopes: &[String],
        redirect_uris: String,
        public: bool,
    ) -> AppForm {
        let mut offered = auth.settings.console.allowed_scopes.clone();
        offered.extend(scopes.iter().filter(|s| !auth.settings.console.allowed_scopes.contains(s)).cloned());
        AppForm {
            name: name.to_owned(),
            grants: GRANT_LABELS
                .iter()
                .map(|(g, label)| Choice {
                    value: g.as_str().to_owned(),
                    label: (*label).to_owned(),
                    checked: grants.iter().any(|x| x == g.as_str()),
                })
                .collect(),
            scopes: offered
                .into_iter()
                .map(|s| Choice { checked: scopes.contains(&s), label: s.clone(), value: s })
                .collect(),
            redirect_uris,
            public,
        }
    }

    fn blank(auth: &AppState) -> AppForm {
        let grants = ["authorization_code".to_owned(), "refresh_token".to_owned()];
        AppForm::new(auth, "", &grants, &auth.settings.console.allowed_scopes, String::new(), false)
    }

    fn of(auth: &AppState, app: &AppView) -> AppForm {
        let grants: Vec<String> = app.grant_types.iter().map(|g| (*g).to_owned()).collect();
        AppForm::new(auth, &app.name, &grants, &app.scopes, app.redirect_text(), app.public)
    }

    fn typed(auth: &AppState, fields: &Fields) -> AppForm {
        let redirect = fields.lines("redirect_uris").join("\n");
        AppForm::new(
            auth,
            &fields.one("name"),
            &fields.all("grant_type"),
            &fields.all("scope"),
            redirect,
            fields.has("public"),
        )
    }
}

#[derive(Template)]
#[template(path = "console/applications.html")]
struct ListPage {
    chrome: Chrome,
    section: Section,
    apps: Vec<AppView>,
    /// More than one page of them: the list shows the first.
    more: bool,
}

pub async fn list(State(auth): State<AppState>, signed_in: SignedIn, peer: Peer) -> Response {
    let owner = owner(&signed_in.user.username, peer);
    let request = PageRequest::new(Some(crate::admin::page::MAX_LIMIT), None).unwrap_or_default();
    let page = match applications::page(&auth, &owner, &request).await {
        Ok(page) => page,
        Err(error) => return failed(&auth.settings, error),
    };
    let chrome = Chrome::new(&auth.settings, Some(&signed_in.user));
    let more = page.next_cursor.is_some();
    let apps = page.items.iter().map(AppView::new).collect();
    render(StatusCode::OK, &ListPage { chrome, section: Section::Applications, apps, more })
}

#[derive(Template)]
#[template(path = "console/new.html")]
struct NewPage {
    chrome: Chrome,
    section: Section,
    csrf: String,
    form: AppForm,
    error: Option<String>,
}

pub async fn new(State(auth): State<AppState>, signed_in: SignedIn) -> Response {
    let page = NewPage {
        chrome: Chrome::new(&auth.settings, Some(&signed_in.user)),
        section: Section::Applications,
        csrf: signed_in.session.csrf_token(),
        form: AppForm::blank(&auth),
        error: None,
    };
    render(StatusCode::OK, &page)
}

/// The key and a secret, shown once: after registering, and after regenerating the secret.
#[derive(Template)]
#[template(path = "console/secret.html")]
struct SecretPage {
    chrome: Chrome,
    section: Section,
    app: AppView,
    secret: Option<String>,
    /// Registered just now (rather than a regenerated secret).
    created: bool,
}

pub async fn create(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    peer: Peer,
    CsrfForm { session, form }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(form);
    let owner = owner(&signed_in.user.username, peer);
    let spec = ApplicationSpec {
        name: fields.one("name"),
        grant_types: fields.all("grant_type"),
        redirect_uris: fields.lines("redirect_uris"),
        public: fields.has("public"),
        scopes: fields.all("scope"),
    };
    let chrome = Chrome::new(&auth.settings, Some(&signed_in.user));
    match applications::create(&auth, &owner, spec).await {
        Ok(created) => {
            let page = SecretPage {
                chrome,
                section: Section::Applications,
                app: AppView::new(&created.client),
                secret: created.client_secret.map(|s| s.expose_secret().to_owned()),
                created: true,
            };
            render(StatusCode::CREATED, &page)
        }
        Err(AdminError::Invalid(message)) => {
            let page = NewPage {
                chrome,
                section: Section::Applications,
                csrf: session.csrf_token(),
                form: AppForm::typed(&auth, &fields),
                error: Some(message),
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(error) => failed(&auth.settings, error),
    }
}

#[derive(Template)]
#[template(path = "console/application.html")]
struct AppPage {
    chrome: Chrome,
    section: Section,
    csrf: String,
    app: AppView,
    form: AppForm,
    /// A refusal of the edit form.
    error: Option<String>,
    /// A refusal of the token form.
    token_error: Option<String>,
    /// What the last change did ("Saved.").
    status: Option<&'static str>,
}

impl AppPage {
    pub fn may_issue_for_itself(&self) -> bool {
        self.app.may_use(GrantType::ClientCredentials.as_str())
    }
}

/// The application's page with `error` on the edit form or `token_error` on the token form (and
/// what was typed in the edit form), or saying its tokens were just revoked.
pub(super) async fn page_of(
    auth: &AppState,
    signed_in: &SignedIn,
    owner: &applications::Owner,
    client_id: &str,
    status: StatusCode,
    notes: (Option<String>, Option<String>, Option<&Fields>, Option<&'static str>),
) -> Response {
    let app = match applications::find(auth, owner, client_id).await {
        Ok(client) => AppView::new(&client),
        Err(error) => return failed(&auth.settings, error),
    };
    let (error, token_error, typed, note) = notes;
    let form = match typed {
        Some(fields) => AppForm::typed(auth, fields),
        None => AppForm::of(auth, &app),
    };
    let page = AppPage {
        chrome: Chrome::new(&auth.settings, Some(&signed_in.user)),
        section: Section::Applications,
        csrf: signed_in.session.csrf_token(),
        form,
        app,
        error,
        token_error,
        status: note,
    };
    render(status, &page)
}

pub async fn show(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    peer: Peer,
    Path(client_id): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let owner = owner(&signed_in.user.username, peer);
    // What the change this page follows did (post/redirect/get).
    let status = match uri.query() {
        Some("saved") => Some("Saved."),
        Some("revoked") => Some("Every token of this application is revoked."),
        _ => None,
    };
    page_of(&auth, &signed_in, &owner, &client_id, StatusCode::OK, (None, None, None, status)).await
}

pub async fn update(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    peer: Peer,
    Path(client_id): Path<String>,
    CsrfForm { form, .. }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(form);
    let owner = owner(&signed_in.user.username, peer);
    let changes = ApplicationChanges {
        name: Some(fields.one("name")),
        grant_types: Some(fields.all("grant_type")),
        redirect_uris: Some(fields.lines("redirect_uris")),
        scopes: Some(fields.all("scope")),
    };
    match applications::update(&auth, &owner, &client_id, changes).await {
        Ok(_) => see_other(&format!("/console/applications/{}?saved", path_segment(&client_id))),
        Err(AdminError::Invalid(message)) => {
            let errors = (Some(message), None, Some(&fields), None);
            page_of(&auth, &signed_in, &owner, &client_id, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
        Err(error) => failed(&auth.settings, error),
    }
}

pub async fn delete(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    peer: Peer,
    Path(client_id): Path<String>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let owner = owner(&signed_in.user.username, peer);
    match applications::delete(&auth, &owner, &client_id).await {
        Ok(()) => see_other("/console/applications"),
        Err(error) => failed(&auth.settings, error),
    }
}

pub async fn rotate_secret(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    peer: Peer,
    Path(client_id): Path<String>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let owner = owner(&signed_in.user.username, peer);
    let secret = match applications::rotate_secret(&auth, &owner, &client_id).await {
        Ok(secret) => secret,
        Err(error) => return failed(&auth.settings, error),
    };
    let app = match applications::find(&auth, &owner, &client_id).await {
        Ok(client) => AppView::new(&client),
        Err(error) => return failed(&auth.settings, error),
    };
    let page = SecretPage {
        chrome: Chrome::new(&auth.settings, Some(&signed_in.user)),
        section: Section::Applications,
        app,
        secret: Some(secret.expose_secret().to_owned()),
        created: false,
    };
    render(StatusCode::OK, &page)
}

pub async fn revoke_tokens(
    State(auth): State<AppState>,
    signed_in: SignedIn,
    peer: Peer,
    Path(client_id): Path<String>,
    _form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let owner = owner(&signed_in.user.username, peer);
    match applications::revoke_tokens(&auth, &owner, &client_id).await {
        Ok(_) => see_other(&format!("/console/applications/{}?revoked", path_segment(&client_id))),
        Err(error) => failed(&auth.settings, error),
    }
}

/// A client id as one path segment (ids are printable ASCII, but may hold `/` or `?`).
pub fn path_segment(client_id: &str) -> String {
    url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>().replace('+', "%20")
}
