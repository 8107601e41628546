//! Paging of admin lists by key (keyset pagination): a page holds at most `limit` items and, when
//! more follow, an opaque cursor naming the last one; the next page starts after it. Rows added
//! or removed between two pages neither repeat nor skip the others, and no page costs more than
//! its own rows (no offset to count through).
//!
//! The cursor is the last item's sort key as JSON in URL-safe base64: not a secret and not signed —
//! an edited cursor only moves where the next page starts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::AdminError;

/// Items per page when the request names no limit.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most items one page may hold.
pub const MAX_LIMIT: u32 = 200;

/// What page of a list to read.
#[derive(Debug, Clone)]
pub struct PageRequest {
    limit: u32,
    cursor: Option<String>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { limit: DEFAULT_LIMIT, cursor: None }
    }
}

impl PageRequest {
    /// `limit` between 1 and [`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]); `cursor` from the previous
    /// page's `next_cursor` (none for the first page).
    pub fn new(limit: Option<u32>, cursor: Option<String>) -> Result<PageRequest, AdminError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AdminError::Invalid(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        Ok(PageRequest { limit, cursor: cursor.filter(|c| !c.is_empty()) })
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Rows to ask the store for: one more than the page, to know whether another page follows.
    pub(crate) fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// The key the page starts after, decoded from the cursor.
    pub(crate) fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, AdminError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let invalid = || AdminError::Invalid("the cursor is not one this server handed out".into());
        let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let value: serde_json::Value = serde_json::from_slice(&json).map_err(|_| invalid())?;
        if holds_control_characters(&value) {
            return Err(invalid());
        }
        serde_json::from_value(value).map(Some).map_err(|_| invalid())
    }
}

/// Control characters name no stored key (and PostgreSQL cannot hold NUL in text).
fn holds_control_characters(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.chars().any(char::is_control),
        serde_json::Value::Array(items) => items.iter().any(holds_control_characters),
        serde_json::Value::Object(fields) => fields.values().any(holds_control_characters),
        _ => false,
    }
}

/// One page of a list, and the cursor of the next when there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page from up to [`PageRequest::fetch`] rows in list order: the extra row, if present,
    /// says another page follows, which starts after the key of the last item kept.
    pub(crate) fn from_rows<K: Serialize>(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> K) -> Page<T> {
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(|last| encode(&key(last))) } else { None };
        Page { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(limit: u32, cursor: Option<String>) -> PageRequest {
        PageRequest::new(Some(limit), cursor).unwrap()
    }

    #[test]
    fn a_limit_outside_one_to_the_maximum_is_refused() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(MAX_LIMIT + 1), None).is_err());
        assert_eq!(PageRequest::new(None, None).unwrap().limit(), DEFAULT_LIMIT);
        assert_eq!(PageRequest::new(Some(MAX_LIMIT), None).unwrap().limit(), MAX_LIMIT);
    }

    #[test]
    fn a_full_page_with_an_extra_row_has_a_cursor_that_starts_after_its_last_item() {
        let first = Page::from_rows(vec!["a", "b", "c"], &request(2, None), |s| s.to_string());
        assert_eq!(first.items, ["a", "b"]);
        let next = request(2, first.next_cursor);
        assert_eq!(next.after::<String>().unwrap(), Some("b".to_owned()));
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let last = Page::from_rows(vec!["a", "b"], &request(2, None), |s| s.to_string());
        assert_eq!(last.items, ["a", "b"]);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn composite_keys_round_trip_through_the_cursor() {
        let page = Page::from_rows(vec![(5_i64, 9_i64), (4, 1)], &request(1, None), |k| *k);
        let next = request(1, page.next_cursor);
        assert_eq!(next.after::<(i64, i64)>().unwrap(), Some((5, 9)));
    }

    #[test]
    fn a_cursor_that_is_not_ours_is_refused() {
        for bad in ["%%%", "bm90IGpzb24", &URL_SAFE_NO_PAD.encode("[1,2]")] {
            assert!(request(5, Some(bad.to_owned())).after::<String>().is_err(), "{bad}");
        }
        let nul = URL_SAFE_NO_PAD.encode("\"a\\u0000b\"");
        assert!(request(5, Some(nul)).after::<String>().is_err(), "a NUL in a key");
    }

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        assert_eq!(request(5, Some(String::new())).after::<String>().unwrap(), None);
    }
}
