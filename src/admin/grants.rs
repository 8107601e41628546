//! Grant families: list a client's or a user's, show one, revoke one (every access and refresh
//! token descended from it).

use super::page::{Page, PageRequest};
use super::{check_filter_keys, check_key, AdminError, Origin};
use crate::oauth::events::SecurityEvent;
use crate::oauth::Authority;
use crate::store::families::FamilyKey;
use crate::store::{EventKind, FamilyFilter, FamilyRecord};

/// Which families [`page`] lists: those of a client, of a user, or both; `active` (when given)
/// keeps only families that can still be used, or only those that cannot.
#[derive(Debug, Default, Clone)]
pub struct GrantListFilter {
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub active: Option<bool>,
}

/// A page of the families of a client or a user (at least one must be given: the list follows
/// their indexes), newest first.
pub async fn page(
    auth: &Authority,
    filter: &GrantListFilter,
    request: &PageRequest,
) -> Result<Page<FamilyRecord>, AdminError> {
    if filter.client_id.is_none() && filter.username.is_none() {
        return Err(AdminError::Invalid("name a client_id or a username (or both)".into()));
    }
    check_filter_keys(&[("client_id", &filter.client_id), ("username", &filter.username)])?;
    let after: Option<FamilyKey> = request.after()?;
    let store_filter = FamilyFilter {
        client_id: filter.client_id.as_deref(),
        username: filter.username.as_deref(),
        active: filter.active,
    };
    let rows = auth.store.list_families(&store_filter, after.as_ref(), request.fetch(), auth.clock.now()).await?;
    Ok(Page::from_rows(rows, request, |f| (f.created_at, f.family_id.clone())))
}

pub async fn find(auth: &Authority, family_id: &str) -> Result<FamilyRecord, AdminError> {
    if check_key("a grant id", family_id).is_err() {
        return Err(not_found(family_id));
    }
    auth.store.find_family(family_id, auth.clock.now()).await?.ok_or_else(|| not_found(family_id))
}

/// Revokes a grant family: every access and refresh token descended from it. Returns the family
/// as it is now. Recorded as a security event.
pub async fn revoke(auth: &Authority, origin: &Origin, family_id: &str) -> Result<FamilyRecord, AdminError> {
    let family = find(auth, family_id).await?;
    let was_live = auth.store.revoke_family(family_id, auth.clock.now()).await?;
    let event = SecurityEvent::new(EventKind::GrantRevoked, origin)
        .client(&family.client_id)
        .user(family.username.as_deref())
        .family(family_id);
    let event = if was_live { event } else { event.detail("already revoked") };
    auth.record_security_event(event).await;
    find(auth, family_id).await
}

fn not_found(family_id: &str) -> AdminError {
    AdminError::NotFound(format!("grant {family_id}"))
}
