//! Security events, newest first, filtered by kind, client, user and time (UTC), in pages
//! (`admin::events::page`).

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::{encode, field, query_fields, refusal, Administrator, Tab};
use crate::admin::events::{self, EventListFilter};
use crate::admin::page::PageRequest;
use crate::admin::views::EventView;
use crate::admin::AdminError;
use crate::clock::{parse_utc, utc_text};
use crate::http::AppState;
use crate::store::EventKind;
use crate::web::{render, Chrome};

pub struct EventRow {
    pub event: EventView,
    pub occurred_at: String,
    /// `user:alice`, `client:abc`, `cli`, `system`.
    pub actor: String,
}

#[derive(Template)]
#[template(path = "admin/events.html")]
struct EventsPage {
    chrome: Chrome,
    tab: Tab,
    rows: Vec<EventRow>,
    /// The event kinds to filter by, and whether each is the one chosen.
    kinds: Vec<(&'static str, bool)>,
    kind: String,
    client_id: String,
    username: String,
    since: String,
    until: String,
    next_href: Option<String>,
    error: Option<String>,
}

/// A time field of the filter form: empty, or a UTC date and time.
fn time(value: &str, what: &str) -> Result<Option<i64>, AdminError> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_utc(value)
        .map(Some)
        .ok_or_else(|| AdminError::Invalid(format!("{what} must be a date and time, YYYY-MM-DD HH:MM (UTC)")))
}

pub async fn list(State(auth): State<AppState>, admin: Administrator, uri: Uri) -> Response {
    let query = query_fields(&uri);
    let value = |name: &str| field(&query, name).unwrap_or_default().to_owned();
    let mut page = EventsPage {
        chrome: admin.chrome(&auth),
        tab: Tab::Events,
        rows: Vec::new(),
        kinds: EventKind::ALL.iter().map(|k| (k.as_str(), k.as_str() == value("kind"))).collect(),
        kind: value("kind"),
        client_id: value("client_id"),
        username: value("username"),
        since: value("since"),
        until: value("until"),
        next_href: None,
        error: None,
    };
    let some = |s: &String| (!s.is_empty()).then(|| s.clone());
    let listed = async {
        let filter = EventListFilter {
            kind: some(&page.kind),
            client_id: some(&page.client_id),
            username: some(&page.username),
            since: time(&page.since, "since")?,
            // A day or a minute given as the end includes all of it.
            until: time(&page.until, "until")?.map(|t| match page.until.len() {
                10 => t + 86_399,
                16 => t + 59,
                _ => t,
            }),
        };
        let request = PageRequest::new(None, field(&query, "cursor").map(str::to_owned))?;
        events::page(&auth, &filter, &request).await
    }
    .await;
    match listed {
        Ok(found) => {
            page.rows = found
                .items
                .iter()
                .map(|e| {
                    let event = EventView::from(e);
                    let actor = match &event.actor_id {
                        Some(id) => format!("{}:{id}", event.actor_type),
                        None => event.actor_type.clone(),
                    };
                    EventRow { occurred_at: utc_text(event.occurred_at), actor, event }
                })
                .collect();
            page.next_href = found.next_cursor.map(|cursor| {
                format!(
                    "/admin/events?kind={}&client_id={}&username={}&since={}&until={}&cursor={}",
                    encode(&page.kind),
                    encode(&page.client_id),
                    encode(&page.username),
                    encode(&page.since),
                    encode(&page.until),
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
