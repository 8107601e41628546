//! Every user: the list (filters, pages) with the creation form, one user's page with disable /
//! enable, reset password, administrator flag, revoke every token, delete. Each action is one
//! `admin::users` call, which keeps every rule (the password policy, an administrator not locking
//! themselves out) and records the event.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use secrecy::SecretString;

use super::clients::Empty;
use super::{admin_error_page, encode, field, query_fields, refusal, Administrator, Tab};
use crate::admin::page::PageRequest;
use crate::admin::users;
use crate::admin::views::UserView;
use crate::admin::AdminError;
use crate::http::AppState;
use crate::store::UserFilter;
use crate::web::session::CsrfForm;
use crate::web::{render, see_other, Chrome};

type Fields = Vec<(String, String)>;

pub struct UserRow {
    pub user: UserView,
    pub href: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    tab: Tab,
    csrf: String,
    rows: Vec<UserRow>,
    admin_filter: String,
    disabled: String,
    next_href: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    /// The creation form's username (kept after a refusal) and its refusal.
    new_username: String,
    new_admin: bool,
    create_error: Option<String>,
}

fn yes_no(value: &str) -> Option<bool> {
    match value {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

async fn users_page(
    auth: &AppState,
    admin: &Administrator,
    query: &Fields,
    status: StatusCode,
    create: Option<(&Fields, String)>,
) -> Response {
    let value = |name: &str| field(query, name).unwrap_or_default().to_owned();
    let (admin_filter, disabled) = (value("admin"), value("disabled"));
    let notice = match field(query, "done") {
        Some("deleted") => field(query, "user").map(|name| format!("User {name} was deleted with their tokens.")),
        _ => None,
    };
    let mut page = UsersPage {
        chrome: admin.chrome(auth),
        tab: Tab::Users,
        csrf: admin.csrf(),
        rows: Vec::new(),
        admin_filter,
        disabled,
        next_href: None,
        notice,
        error: None,
        new_username: String::new(),
        new_admin: false,
        create_error: None,
    };
    if let Some((form, error)) = create {
        page.new_username = field(form, "username").unwrap_or_default().to_owned();
        page.new_admin = field(form, "admin").is_some();
        page.create_error = Some(error);
    }
    let filter = UserFilter { admin: yes_no(&page.admin_filter), disabled: yes_no(&page.disabled) };
    let listed = match PageRequest::new(None, field(query, "cursor").map(str::to_owned)) {
        Ok(request) => users::page(auth, filter, &request).await,
        Err(error) => Err(error),
    };
    match listed {
        Ok(found) => {
            page.rows = found
                .items
                .iter()
                .map(|u| UserRow { user: UserView::from(u), href: format!("/admin/users/{}", encode(&u.username)) })
                .collect();
            page.next_href = found.next_cursor.map(|cursor| {
                format!(
                    "/admin/users?admin={}&disabled={}&cursor={}",
                    encode(&page.admin_filter),
                    encode(&page.disabled),
                    encode(&cursor)
                )
            });
            render(status, &page)
        }
        Err(error) => match refusal(auth, error) {
            Ok(message) => {
                page.error = Some(message);
                render(StatusCode::BAD_REQUEST, &page)
            }
            Err(response) => *response,
        },
    }
}

pub async fn list(State(auth): State<AppState>, admin: Administrator, uri: Uri) -> Response {
    users_page(&auth, &admin, &query_fields(&uri), StatusCode::OK, None).await
}

/// Creates a user (`admin::users::create`: its password policy), an administrator when the box
/// is ticked.
pub async fn create(
    State(auth): State<AppState>,
    admin: Administrator,
    CsrfForm { form, .. }: CsrfForm<Fields>,
) -> Response {
    let username = field(&form, "username").unwrap_or_default().to_owned();
    let password =
        SecretString::from(form.iter().find(|(n, _)| n == "password").map(|(_, v)| v.clone()).unwrap_or_default());
    let mut created = users::create(&auth, &username, &password).await;
    if created.is_ok() && field(&form, "admin").is_some() {
        created = users::set_admin(&auth, &admin.origin, &username, true).await;
    }
    match created {
        Ok(()) => see_other(&format!("/admin/users/{}?done=created", encode(&username))),
        Err(error) => match refusal(&auth, error) {
            Ok(message) => {
                users_page(&auth, &admin, &Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, Some((&form, message))).await
            }
            Err(response) => *response,
        },
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    chrome: Chrome,
    tab: Tab,
    csrf: String,
    user: UserView,
    href: String,
    /// The administrator is looking at their own account.
    own: bool,
    notice: Option<String>,
    password_error: Option<String>,
}

async fn user_page(
    auth: &AppState,
    admin: &Administrator,
    username: &str,
    notice: Option<String>,
    password_error: Option<String>,
) -> Response {
    let user = match users::find(auth, username).await {
        Ok(user) => user,
        Err(error) => return admin_error_page(auth, admin, error),
    };
    let status = if password_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = UserPage {
        chrome: admin.chrome(auth),
        tab: Tab::Users,
        csrf: admin.csrf(),
        href: format!("/admin/users/{}", encode(&user.username)),
        own: user.username == admin.user.username,
        user: UserView::from(&user),
        notice,
        password_error,
    };
    render(status, &page)
}

pub async fn show(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    uri: Uri,
) -> Response {
    let query = query_fields(&uri);
    let grants = field(&query, "grants").and_then(|n| n.parse::<u64>().ok()).unwrap_or_default();
    let notice = match field(&query, "done") {
        Some("created") => Some("The user was created.".to_owned()),
        Some("disabled") => Some(
            "The user was disabled: they can no longer sign in, and every token issued for them was revoked."
                .to_owned(),
        ),
        Some("enabled") => Some("The user was enabled. Tokens revoked before stay revoked.".to_owned()),
        Some("password") => Some("The password was set. Tokens already issued stay valid until revoked.".to_owned()),
        Some("admin") => Some("The user is now an administrator.".to_owned()),
        Some("not-admin") => Some("The user is no longer an administrator.".to_owned()),
        Some("revoked") => Some(format!("Every token of the user was revoked ({grants} grants).")),
        _ => None,
    };
    user_page(&auth, &admin, &username, notice, None).await
}

fn back(username: &str, done: &str) -> Response {
    see_other(&format!("/admin/users/{}?done={done}", encode(username)))
}

pub async fn disable(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    _: CsrfForm<Empty>,
) -> Response {
    match users::set_disabled(&auth, &admin.origin, &username, true).await {
        Ok(()) => back(&username, "disabled"),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}

pub async fn enable(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    _: CsrfForm<Empty>,
) -> Response {
    match users::set_disabled(&auth, &admin.origin, &username, false).await {
        Ok(()) => back(&username, "enabled"),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}

#[derive(serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default = "empty_secret")]
    password: SecretString,
}

fn empty_secret() -> SecretString {
    SecretString::from(String::new())
}

/// Sets a user's password (`admin::users::set_password`: the password policy); a refusal is shown
/// by the field.
pub async fn set_password(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    CsrfForm { form, .. }: CsrfForm<PasswordForm>,
) -> Response {
    match users::set_password(&auth, &admin.origin, &username, &form.password).await {
        Ok(()) => back(&username, "password"),
        Err(AdminError::Invalid(why)) => user_page(&auth, &admin, &username, None, Some(why)).await,
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}

/// Makes a user an administrator (`admin=yes`) or no longer one.
pub async fn set_admin(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    CsrfForm { form, .. }: CsrfForm<Fields>,
) -> Response {
    let make = field(&form, "admin") == Some("yes");
    match users::set_admin(&auth, &admin.origin, &username, make).await {
        Ok(()) => back(&username, if make { "admin" } else { "not-admin" }),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}

pub async fn revoke_tokens(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    _: CsrfForm<Empty>,
) -> Response {
    match users::revoke_tokens(&auth, &admin.origin, &username).await {
        Ok(grants) => see_other(&format!("/admin/users/{}?done=revoked&grants={grants}", encode(&username))),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}

/// Deletes a user when the form's confirmation box is ticked.
pub async fn delete(
    State(auth): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    CsrfForm { form, .. }: CsrfForm<Fields>,
) -> Response {
    if field(&form, "confirm") != Some("yes") {
        let error =
            AdminError::Invalid("tick the box to confirm: deleting a user deletes every token issued for them".into());
        return admin_error_page(&auth, &admin, error);
    }
    match users::delete(&auth, &admin.origin, &username).await {
        Ok(()) => see_other(&format!("/admin/users?done=deleted&user={}", encode(&username))),
        Err(error) => admin_error_page(&auth, &admin, error),
    }
}
