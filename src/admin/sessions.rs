//! A user's sign-in sessions, as their console shows them: the live ones (neither idle for
//! `sessions.idle_secs` nor older than `sessions.absolute_secs`, as `oauth::session` decides), and
//! ending one. A session is named by a handle, the hex of its stored digest: it identifies the
//! row without being the cookie's id, from which it cannot be turned back.

use super::AdminError;
use crate::oauth::session::Session;
use crate::oauth::Authority;
use crate::store::Digest;

/// One live session of a user.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// Names it in the form that ends it.
    pub handle: String,
    /// Unix seconds.
    pub signed_in_at: i64,
    pub last_seen_at: i64,
    /// The session of the request that lists them.
    pub current: bool,
}

/// `username`'s live sessions, most recently used first; `current` marks the caller's own.
pub async fn of_user(auth: &Authority, username: &str, current: &Session) -> Result<Vec<SessionView>, AdminError> {
    let now = auth.clock.now();
    let limits = &auth.settings.sessions;
    let begun_after = now.saturating_sub(limits.absolute_secs);
    let used_after = now.saturating_sub(limits.idle_secs);
    let own = current.id.digest();
    let rows = auth.store.user_sessions(username, begun_after, used_after).await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionView {
            handle: hex(&r.session_digest),
            signed_in_at: r.auth_time.unwrap_or(r.created_at),
            last_seen_at: r.last_seen_at,
            current: r.session_digest == own,
        })
        .collect())
}

/// Ends `username`'s session `handle`; not found when it is not one of theirs.
pub async fn end(auth: &Authority, username: &str, handle: &str) -> Result<(), AdminError> {
    let not_found = || AdminError::NotFound("session".into());
    let digest = parse_hex(handle).ok_or_else(not_found)?;
    if auth.store.delete_user_session(username, digest).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}

fn hex(digest: &Digest) -> String {
    digest.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(text: &str) -> Option<Digest> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(Digest::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_the_hex_of_a_digest_and_nothing_else_names_one() {
        let digest = Digest::new([0xab; 32]);
        assert_eq!(parse_hex(&hex(&digest)), Some(digest));
        for bad in ["", "ab", &"g".repeat(64), &"a".repeat(63), &"é".repeat(32)] {
            assert_eq!(parse_hex(bad), None, "{bad}");
        }
    }
}
