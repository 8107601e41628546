//! Sign-in sessions of the pages (sign-in, consent, the consoles): what a session id is, when a
//! session has ended, and its CSRF token. The web layer keeps the id in a cookie and calls these;
//! the store keeps only the id's SHA-256 digest.
//!
//! - A session id is 256 bits from the OS CSPRNG in URL-safe base64 (43 characters); anything
//!   else in the cookie is no session, without a database read.
//! - A session is anonymous until its visitor signs in ([`Authority::begin_session`]), which ends
//!   it and starts a new one with a new id, so an id planted before sign-in is worthless after
//!   it (session fixation).
//! - It ends when unused for `sessions.idle_secs`, or `sessions.absolute_secs` after it began,
//!   or when its user is disabled; time is the [`Clock`](crate::clock::Clock)'s.
//! - Its CSRF token is an HMAC of the fixed label [`CSRF_LABEL`] under the session id: a page
//!   can put it in every form, nothing needs storing, and only the holder of the id can make it.
//!   [`Session::verify_csrf`] compares in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{token_format, Authority, OAuthError};
use crate::clock::UnixTime;
use crate::store::{Digest, SessionRecord};

/// What the CSRF token of a session is the HMAC of.
const CSRF_LABEL: &[u8] = b"oauthd csrf token v1";
const ID_LEN: usize = 43;

/// A session id, as the cookie holds it. Never logged: its Debug is redacted.
#[derive(Clone)]
pub struct SessionId(SecretString);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

impl SessionId {
    fn mint() -> SessionId {
        let mut random = [0u8; 32];
        OsRng.fill_bytes(&mut random);
        SessionId(SecretString::from(URL_SAFE_NO_PAD.encode(random)))
    }

    /// The id a cookie carries, if it has the shape of one.
    pub fn parse(text: &str) -> Option<SessionId> {
        let well_formed =
            text.len() == ID_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| SessionId(SecretString::from(text.to_owned())))
    }

    /// The cookie's value.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// What the store keys the session by.
    pub fn digest(&self) -> Digest {
        token_format::digest(self.expose())
    }

    /// The CSRF token of this session's forms.
    pub fn csrf_token(&self) -> String {
        let mac = Hmac::<Sha256>::new_from_slice(self.expose().as_bytes()).map(|mac| mac.chain_update(CSRF_LABEL));
        match mac {
            Ok(mac) => URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()),
            // HMAC takes a key of any length; unreachable, and a token nobody can match if not.
            Err(_) => String::new(),
        }
    }
}

/// A live session, as [`Authority::session`] finds it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    /// Who signed in with it; `None` while anonymous.
    pub user: Option<SessionUser>,
}

/// The signed-in user of a session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub username: String,
    pub admin: bool,
    /// When they signed in (the `auth_time` of the codes they authorize).
    pub auth_time: UnixTime,
}

impl Session {
    /// Whether `token` (a form's `csrf` field) is this session's CSRF token, in constant time.
    pub fn verify_csrf(&self, token: &str) -> bool {
        let expected = self.id.csrf_token();
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
    }

    pub fn csrf_token(&self) -> String {
        self.id.csrf_token()
    }
}

impl Authority {
    /// Starts an anonymous session (for the CSRF token of the sign-in form).
    pub async fn new_session(&self) -> Result<Session, OAuthError> {
        let id = SessionId::mint();
        self.store.insert_session(id.digest(), None, self.clock.now(), None).await?;
        Ok(Session { id, user: None })
    }

    /// The live session `id` names, or `None`: unknown, ended (idle, too old, or its user
    /// disabled: then it is deleted). A live session is marked as used now.
    pub async fn session(&self, id: &SessionId) -> Result<Option<Session>, OAuthError> {
        let digest = id.digest();
        let Some(record) = self.store.find_session(digest).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !self.is_live(&record, now) {
            self.store.delete_session(digest).await?;
            return Ok(None);
        }
        self.store.touch_session(digest, now).await?;
        let user = match (record.username, record.auth_time) {
            (Some(username), Some(auth_time)) => Some(SessionUser { username, admin: record.admin, auth_time }),
            _ => None,
        };
        Ok(Some(Session { id: id.clone(), user }))
    }

    /// `username` signed in: ends `previous` (if any) and starts their session under a new id.
    pub async fn begin_session(&self, previous: Option<&Session>, username: &str) -> Result<Session, OAuthError> {
        if let Some(previous) = previous {
            self.store.delete_session(previous.id.digest()).await?;
        }
        let id = SessionId::mint();
        let now = self.clock.now();
        self.store.insert_session(id.digest(), Some(username), now, Some(now)).await?;
        let admin = self.store.find_user(username).await?.is_some_and(|u| u.admin);
        Ok(Session { id, user: Some(SessionUser { username: username.to_owned(), admin, auth_time: now }) })
    }

    /// Signs out: the session ends.
    pub async fn end_session(&self, session: &Session) -> Result<(), OAuthError> {
        self.store.delete_session(session.id.digest()).await?;
        Ok(())
    }

    /// A session is live until idle for `sessions.idle_secs` or `sessions.absolute_secs` old, and
    /// while its user (if any) is enabled.
    fn is_live(&self, record: &SessionRecord, now: UnixTime) -> bool {
        let limits = &self.settings.sessions;
        now < record.last_seen_at.saturating_add(limits.idle_secs)
            && now < record.created_at.saturating_add(limits.absolute_secs)
            && !record.disabled
            && (record.username.is_none() || record.auth_time.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_is_43_url_safe_characters_and_nothing_else_parses() {
        let id = SessionId::mint();
        assert_eq!(id.expose().len(), 43);
        assert!(SessionId::parse(id.expose()).is_some());
        for bad in ["", "short", &format!("{}=", id.expose()), &"a".repeat(42), &"+".repeat(43)] {
            assert!(SessionId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_csrf_token_is_the_sessions_own() {
        let (a, b) = (Session { id: SessionId::mint(), user: None }, Session { id: SessionId::mint(), user: None });
        assert!(a.verify_csrf(&a.csrf_token()));
        assert!(!a.verify_csrf(&b.csrf_token()));
        assert!(!a.verify_csrf(""));
        assert_ne!(a.csrf_token(), a.id.expose());
    }
}
