//! Listing security events, newest first, by kind, client, user and time. Recording them is
//! `oauth::events` (`Authority::record_security_event`); pruning them, the janitor.

use super::page::{Page, PageRequest};
use super::{check_filter_keys, AdminError};
use crate::clock::UnixTime;
use crate::oauth::Authority;
use crate::store::events::EventKey;
use crate::store::{EventFilter, EventKind, SecurityEventRecord};

/// Which events [`page`] lists; `None` matches any. `since` and `until` are unix seconds,
/// inclusive.
#[derive(Debug, Default, Clone)]
pub struct EventListFilter {
    /// An event kind's name (`refresh_token_reuse`, …).
    pub kind: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub since: Option<UnixTime>,
    pub until: Option<UnixTime>,
}

/// A page of security events matching `filter`, newest first.
pub async fn page(
    auth: &Authority,
    filter: &EventListFilter,
    request: &PageRequest,
) -> Result<Page<SecurityEventRecord>, AdminError> {
    let kind = match filter.kind.as_deref() {
        Some(name) => Some(EventKind::parse(name).ok_or_else(|| {
            let known: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            AdminError::Invalid(format!("unknown event kind; known: {}", known.join(", ")))
        })?),
        None => None,
    };
    check_filter_keys(&[("client_id", &filter.client_id), ("username", &filter.username)])?;
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since > until {
            return Err(AdminError::Invalid("since must not be after until".into()));
        }
    }
    let after: Option<EventKey> = request.after()?;
    let store_filter = EventFilter {
        kind,
        client_id: filter.client_id.as_deref(),
        username: filter.username.as_deref(),
        since: filter.since,
        until: filter.until,
    };
    let rows = auth.store.list_security_events(&store_filter, after, request.fetch()).await?;
    Ok(Page::from_rows(rows, request, |e| (e.occurred_at, e.security_event_id)))
}
