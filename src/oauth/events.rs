//! Security events: the one place that records one. [`Authority::record_security_event`] writes
//! the log line (`security_event="…"`, WARN or INFO by kind) and stores the row the admin API and
//! the console list. Reuse detection (of refresh tokens and of authorization codes), the admin layer (revocations, disabling, secret rotation,
//! password resets, administrator changes) and the admin API's audit of every call go through it;
//! the throttle of failed sign-ins records [`EventKind::LoginLocked`] the same way.
//!
//! An event names a client, a user and a grant family by their ids and the peer by its address —
//! never a token, code, secret or password. Storing is best effort: the action it records has
//! already happened, so a database error is logged (with the event) rather than turning the answer
//! into an error.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use super::Authority;
use crate::store::{ActorKind, EventKind, NewSecurityEvent};

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An administrator, by username (the console, or the admin API with a user's token).
    User(String),
    /// A client, by id (the admin API with the client's own token).
    Client(String),
    /// The operator at the command line.
    Cli,
    /// oauthd itself.
    System,
}

impl Actor {
    pub fn kind(&self) -> ActorKind {
        match self {
            Actor::User(_) => ActorKind::User,
            Actor::Client(_) => ActorKind::Client,
            Actor::Cli => ActorKind::Cli,
            Actor::System => ActorKind::System,
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::User(id) | Actor::Client(id) => Some(id),
            Actor::Cli | Actor::System => None,
        }
    }
}

/// `user:alice`, `client:abc`, `cli`, `system`.
impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "{}:{id}", self.kind().as_str()),
            None => f.write_str(self.kind().as_str()),
        }
    }
}

/// Who acts and from where: what an admin function records with each event it causes. The CLI
/// passes [`Origin::cli`]; the admin API the calling token's client (or administrator) and the
/// peer's address; the console the signed-in administrator and the peer's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub actor: Actor,
    pub peer: Option<IpAddr>,
}

impl Origin {
    pub fn cli() -> Origin {
        Origin { actor: Actor::Cli, peer: None }
    }

    pub fn system() -> Origin {
        Origin { actor: Actor::System, peer: None }
    }
}

/// One security event, built with [`SecurityEvent::new`] and the `client`, `user`, `family` and
/// `detail` setters.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    pub kind: EventKind,
    pub origin: Origin,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub family_id: Option<String>,
    /// A short note written by oauthd (a route and status, what was revoked); never request data.
    pub detail: Option<String>,
}

impl SecurityEvent {
    pub fn new(kind: EventKind, origin: &Origin) -> SecurityEvent {
        SecurityEvent { kind, origin: origin.clone(), client_id: None, username: None, family_id: None, detail: None }
    }

    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    pub fn user(mut self, username: Option<impl Into<String>>) -> Self {
        self.username = username.map(Into::into);
        self
    }

    pub fn family(mut self, family_id: impl Into<String>) -> Self {
        self.family_id = Some(family_id.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// What the log line says for each kind, and whether it is a warning: something an operator should
/// look at (an attack, or a refusal of the admin API to a token that reached it).
fn describe(kind: EventKind) -> (bool, &'static str) {
    match kind {
        EventKind::RefreshTokenReuse => {
            (true, "a rotated refresh token was presented again; its grant family is revoked")
        }
        EventKind::AuthorizationCodeReuse => {
            (true, "an authorization code was presented again; the tokens issued from it are revoked")
        }
        EventKind::LoginLocked => (true, "failed sign-ins locked an account or an address out for a while"),
        EventKind::AdminApiDenied => (true, "an admin API call was refused: the token lacks the privileges"),
        EventKind::TokenRevoked => (false, "an administrator revoked a token"),
        EventKind::GrantRevoked => (false, "an administrator revoked a grant"),
        EventKind::ClientTokensRevoked => (false, "an administrator revoked every token of a client"),
        EventKind::UserTokensRevoked => (false, "an administrator revoked every token of a user"),
        EventKind::ClientDisabled => (false, "a client was disabled and its tokens revoked"),
        EventKind::ClientEnabled => (false, "a client was enabled"),
        EventKind::ClientDeleted => (false, "a client was deleted with its tokens"),
        EventKind::ClientSecretRotated => (false, "a client secret was rotated"),
        EventKind::UserDisabled => (false, "a user was disabled and their tokens revoked"),
        EventKind::UserEnabled => (false, "a user was enabled"),
        EventKind::UserDeleted => (false, "a user was deleted with their tokens"),
        EventKind::UserPasswordReset => (false, "an administrator set a user's password"),
        EventKind::UserAdminGranted => (false, "a user was made an administrator"),
        EventKind::UserAdminRevoked => (false, "a user is no longer an administrator"),
        EventKind::TokensIssued => (false, "tokens were issued without a grant at the token endpoint"),
        EventKind::ConsentRevoked => (false, "a consent was withdrawn and the grants it allowed revoked"),
        EventKind::AdminApiCall => (false, "admin API call"),
        EventKind::AdminConsoleAction => (false, "admin console action"),
    }
}

/// Longest text an event field keeps: an attempted username (say) may be as long as a request
/// body, and the table must not grow by what a caller chooses to send.
const MAX_FIELD: usize = 256;

/// `text`, cut to at most [`MAX_FIELD`] bytes at a character boundary, with `…` when cut.
fn bounded(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_FIELD {
        return Cow::Borrowed(text);
    }
    let mut end = MAX_FIELD;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

impl Authority {
    /// Logs the event (WARN or INFO by kind, with `security_event` = its kind) and stores it.
    pub async fn record_security_event(&self, event: SecurityEvent) {
        let (warn, message) = describe(event.kind);
        let peer = event.origin.peer.map(|ip| ip.to_string());
        let kind = event.kind.as_str();
        let actor = bounded(&event.origin.actor.to_string()).into_owned();
        let (client_id, username, family_id) = (
            event.client_id.as_deref().map(bounded),
            event.username.as_deref().map(bounded),
            event.family_id.as_deref().map(bounded),
        );
        let (client_id, username, family_id) = (client_id.as_deref(), username.as_deref(), family_id.as_deref());
        let detail = event.detail.as_deref().map(bounded);
        let (peer_address, detail) = (peer.as_deref(), detail.as_deref());
        if warn {
            tracing::warn!(
                security_event = kind,
                actor,
                client_id,
                username,
                family_id,
                peer_address,
                detail,
                "{message}"
            );
        } else {
            tracing::info!(
                security_event = kind,
                actor,
                client_id,
                username,
                family_id,
                peer_address,
                detail,
                "{message}"
            );
        }
        let actor_id = event.origin.actor.id().map(bounded);
        let row = NewSecurityEvent {
            occurred_at: self.clock.now(),
            kind: event.kind,
            actor_kind: event.origin.actor.kind(),
            actor_id: actor_id.as_deref(),
            client_id,
            username,
            family_id,
            peer_address,
            detail,
        };
        if let Err(error) = self.store.insert_security_event(&row).await {
            tracing::error!(security_event = kind, %error, "the security event above could not be stored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_show_their_kind_and_id() {
        assert_eq!(Actor::User("alice".into()).to_string(), "user:alice");
        assert_eq!(Actor::Client("abc".into()).to_string(), "client:abc");
        assert_eq!(Actor::Cli.to_string(), "cli");
        assert_eq!(Actor::System.to_string(), "system");
        assert_eq!(Actor::Cli.id(), None);
    }

    #[test]
    fn long_fields_are_cut_at_a_character_boundary() {
        assert_eq!(bounded("alice"), "alice");
        let long = "é".repeat(200);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_FIELD + '…'.len_utf8() && cut.ends_with('…'), "{cut}");
        assert!(cut.starts_with("éé"));
    }

    #[test]
    fn attacks_and_refusals_are_warnings_and_administration_is_information() {
        assert!(describe(EventKind::RefreshTokenReuse).0);
        assert!(describe(EventKind::AuthorizationCodeReuse).0);
        assert!(describe(EventKind::LoginLocked).0);
        assert!(describe(EventKind::AdminApiDenied).0);
        assert!(!describe(EventKind::ClientSecretRotated).0);
        assert!(!describe(EventKind::AdminApiCall).0);
    }
}
