//! The authorization endpoint's decisions (RFC 6749 §3.1, §4.1.1–§4.1.2.1; RFC 7636 §4.3–§4.4;
//! RFC 9207; RFC 8252 §7.3): validating an authorization request, issuing a code once the user has
//! signed in and consented, and the redirects that carry either answer back to the client. The
//! web layer (`/authorize`, the sign-in and consent pages) decides nothing of this; it calls:
//!
//! - [`Authority::authorization_request`] with the request's [`Params`] — parsed from the query
//!   string of a GET or the form body of a POST (RFC 6749 §3.1: both are supported). It returns an
//!   [`AuthorizationRequest`] ready for sign-in and consent, or how to refuse:
//!   - [`AuthorizeError::Untrusted`] — the client or its redirect URI is not established (unknown
//!     or disabled client, missing `client_id`, missing or unregistered `redirect_uri`): show an
//!     error page and never redirect (§4.1.2.1: "MUST NOT automatically redirect the user-agent to
//!     the invalid redirection URI"). A [`Params`] that does not parse (a repeated parameter, bad
//!     UTF-8) is the same case: nothing is trusted yet.
//!   - [`AuthorizeError::Redirect`] — everything after: send the browser (302/303) to `location`,
//!     the redirect URI with `error`, `error_description`, `state` and `iss`.
//! - [`Authority::issue_code`] once the user signed in and consented — or consent is implicit
//!   (`request.client.first_party`): stores a code and returns the `Location` carrying `code`,
//!   `state` and `iss`.
//! - [`Authority::authorization_error`] for a refusal decided later, such as `access_denied` when
//!   the user denies: the `Location` carrying the error, `state` and `iss`.
//!
//! The checks of a request, in order: `client_id` names an enabled client; `redirect_uri` matches
//! one it registered (exactly, or a loopback URI on any port: [`super::redirect_uri`]) — or is
//! absent and the client registered exactly one (§3.1.2.3); from here on errors redirect:
//! `response_type` is `code` (`invalid_request` when absent, `unsupported_response_type`
//! otherwise); the client may use the authorization_code grant (`unauthorized_client`); PKCE
//! (RFC 7636): `code_challenge` with `code_challenge_method=S256` — `plain`, a challenge without a
//! method (which means plain, §4.3) or a malformed challenge are `invalid_request`, and so is a
//! missing challenge unless the client is confidential and its policy makes PKCE optional;
//! `scope` within the client's scopes, its default scopes when absent (`invalid_scope`).
//! Unrecognised parameters are ignored (§3.1: "The authorization server MUST ignore unrecognized
//! request parameters"); parameters sent empty count as absent.
//!
//! Every redirect carries `iss`, the issuer identifier (RFC 9207 §2), so a client talking to
//! several servers can tell which one answered (mix-up attacks, RFC 9700 §4.4).

use std::sync::Arc;

use super::error::{ErrorCode, OAuthError};
use super::issuer::new_family_id;
use super::params::Params;
use super::scope::Scope;
use super::{pkce, redirect_uri, token_format, Authority, GrantType};
use crate::clock::UnixTime;
use crate::store::{ClientRecord, NewCode};

/// A validated authorization request (RFC 6749 §4.1.1 + RFC 7636 §4.3), ready for sign-in and
/// consent.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client asking, as read for this request (its `name` for the consent page, its
    /// `first_party` flag for implicit consent).
    pub client: Arc<ClientRecord>,
    /// Where the response goes: the request's `redirect_uri` (registered, or a loopback URI matched
    /// on any port), or the client's one registered URI when the request named none.
    pub redirect_uri: String,
    /// Whether the request carried `redirect_uri`; then the token request must repeat it.
    pub redirect_uri_sent: bool,
    /// The scope requested, checked against the client's scopes (its default scopes when the
    /// request named none).
    pub scope: Scope,
    /// The client's `state`, returned untouched with the answer.
    pub state: Option<String>,
    /// The S256 code challenge; `None` only where the client's policy lets it go without PKCE.
    pub code_challenge: Option<String>,
}

/// Why an authorization request is refused, and so how.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Before the redirect URI is trusted (unknown client, missing/mismatched redirect_uri):
    /// show an error page, never redirect (§4.1.2.1).
    Untrusted(OAuthError),
    /// After: redirect there with error, error_description, state and iss.
    Redirect { location: String },
}

impl Authority {
    /// Validates GET/POST /authorize parameters (a `Params` parsed from the query or the form body).
    pub async fn authorization_request(&self, params: &Params) -> Result<AuthorizationRequest, AuthorizeError> {
        let client = self.authorizing_client(params).await.map_err(AuthorizeError::Untrusted)?;
        let (redirect_uri, redirect_uri_sent) =
            trusted_redirect_uri(&client, params.get("redirect_uri")).map_err(AuthorizeError::Untrusted)?;
        let state = params.get("state").map(str::to_owned);
        let checked = check_response_type(params)
            .and_then(|()| Authority::ensure_client_may_use(&client, GrantType::AuthorizationCode))
            .and_then(|()| code_challenge(&client, params))
            .and_then(|challenge| {
                Scope::for_client(params.get("scope"), &client.scopes, &client.default_scopes).map(|s| (challenge, s))
            });
        let (code_challenge, scope) = match checked {
            Ok(checked) => checked,
            Err(error) => {
                let location = self.error_location(&redirect_uri, state.as_deref(), error);
                return Err(AuthorizeError::Redirect { location });
            }
        };
        Ok(AuthorizationRequest { client, redirect_uri, redirect_uri_sent, scope, state, code_challenge })
    }

    /// The user consented (or consent was implicit): store a code (digest only, lifetime
    /// `tokens.code_lifetime_secs`, default 60) bound to client, redirect_uri, challenge, user,
    /// granted scope and auth_time, and return the redirect Location with code, state and iss.
    ///
    /// `granted` must lie within `request.scope` (the user may grant less than was asked, never
    /// more): otherwise the answer is an `invalid_scope` redirect. A store failure redirects with
    /// `server_error` or `temporarily_unavailable` (§4.1.2.1).
    pub async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        username: &str,
        granted: &Scope,
        auth_time: UnixTime,
    ) -> Result<String, AuthorizeError> {
        let refuse =
            |error: OAuthError| AuthorizeError::Redirect { location: self.authorization_error(request, error) };
        if !granted.is_subset(&request.scope) {
            return Err(refuse(OAuthError::invalid_scope("the granted scope exceeds the scope requested")));
        }
        let now = self.clock.now();
        let minted = token_format::mint_code();
        let family_id = new_family_id();
        let scope = granted.to_string();
        let code = NewCode {
            digest: minted.digest,
            client_id: &request.client.client_id,
            username,
            redirect_uri: &request.redirect_uri,
            redirect_uri_sent: request.redirect_uri_sent,
            code_challenge: request.code_challenge.as_deref(),
            scope: &scope,
            auth_time,
            family_id: &family_id,
            issued_at: now,
            expires_at: now.saturating_add(self.settings.tokens.code_lifetime_secs),
        };
        self.store.insert_code(&code).await.map_err(|e| refuse(e.into()))?;
        tracing::info!(client_id = %request.client.client_id, %family_id, "authorization code issued");
        let issuer = self.issuer();
        let mut answer = vec![("code", token_format::reveal(&minted))];
        answer.extend(request.state.as_deref().map(|state| ("state", state)));
        answer.push(("iss", &issuer));
        Ok(with_query(&request.redirect_uri, &answer))
    }

    /// A redirect Location carrying an error (e.g. access_denied when the user denies) with state and iss.
    pub fn authorization_error(&self, request: &AuthorizationRequest, error: OAuthError) -> String {
        self.error_location(&request.redirect_uri, request.state.as_deref(), error)
    }

    /// The client of an authorization request: named by `client_id`, known and enabled.
    async fn authorizing_client(&self, params: &Params) -> Result<Arc<ClientRecord>, OAuthError> {
        let client_id = params.require("client_id")?;
        tracing::Span::current().record("client_id", client_id);
        match self.store.find_client(client_id).await? {
            Some(client) if client.disabled_at.is_none() => Ok(client),
            _ => Err(OAuthError::invalid_request("the client is unknown or disabled")),
        }
    }

    /// The error response of RFC 6749 §4.1.2.1 as a redirect to `redirect_uri`. Its cause, if any,
    /// is logged here, as an error answered in JSON is.
    fn error_location(&self, redirect_uri: &str, state: Option<&str>, error: OAuthError) -> String {
        if matches!(error.code, ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable) {
            tracing::error!(error = %error, cause = ?error.cause, "authorization request failed");
        } else {
            tracing::info!(error = error.code.as_str(), "authorization request refused");
        }
        // §4.1.2.1: error_description "MUST NOT include characters outside the set %x20-21 /
        // %x23-5B / %x5D-7E".
        let description: String =
            error.description.chars().filter(|c| matches!(*c, ' ' | '!' | '#'..='[' | ']'..='~')).collect();
        let issuer = self.issuer();
        let mut answer = vec![("error", error.code.as_str()), ("error_description", &description)];
        answer.extend(state.map(|state| ("state", state)));
        answer.push(("iss", &issuer));
        with_query(redirect_uri, &answer)
    }
}

/// RFC 6749 §3.1.2.3: a registered `redirect_uri`, or the one registered URI when the request
/// named none ("If multiple redirection URIs have been registered … the client MUST include a
/// redirection URI"). Returns the URI and whether the request carried it.
fn trusted_redirect_uri(client: &ClientRecord, requested: Option<&str>) -> Result<(String, bool), OAuthError> {
    match requested {
        Some(uri) if redirect_uri::is_registered(&client.redirect_uris, uri) => Ok((uri.to_owned(), true)),
        Some(_) => Err(OAuthError::invalid_request("the redirect_uri is not registered for this client")),
        None => match client.redirect_uris.as_slice() {
            [only] => Ok((only.clone(), false)),
            [] => Err(OAuthError::invalid_request("this client has no registered redirect URI")),
            _ => Err(OAuthError::invalid_request(
                "the redirect_uri parameter is missing, and this client registered several",
            )),
        },
    }
}

/// RFC 6749 §4.1.1: `response_type` "REQUIRED. Value MUST be set to "code"".
fn check_response_type(params: &Params) -> Result<(), OAuthError> {
    match params.get("response_type") {
        Some("code") => Ok(()),
        None => Err(OAuthError::invalid_request("the response_type parameter is missing")),
        Some(_) => Err(OAuthError::new(ErrorCode::UnsupportedResponseType, "only response_type=code is supported")),
    }
}

/// RFC 7636 §4.3–§4.4 with S256 only, required unless the (confidential) client's policy relaxes
/// it. RFC 9700 §2.1.1: "Public clients MUST use PKCE".
fn code_challenge(client: &ClientRecord, params: &Params) -> Result<Option<String>, OAuthError> {
    match (params.get("code_challenge"), params.get("code_challenge_method")) {
        // §4.4.1: "If the server … does not support the requested transformation, the
        // authorization endpoint MUST return the authorization error response with "error" value
        // set to "invalid_request"."
        (_, Some(method)) if method != pkce::S256 => {
            Err(OAuthError::invalid_request("only code_challenge_method=S256 is supported"))
        }
        (Some(challenge), Some(_)) if pkce::is_valid_challenge(challenge) => Ok(Some(challenge.to_owned())),
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "the code_challenge must be the S256 of the code_verifier: 43 base64url characters",
        )),
        // §4.3: code_challenge_method "defaults to "plain" if not present in the request".
        (Some(_), None) => {
            Err(OAuthError::invalid_request("code_challenge_method=S256 is required: plain is not supported"))
        }
        (None, Some(_)) => Err(OAuthError::invalid_request("code_challenge_method was sent without code_challenge")),
        (None, None) if client.public || client.pkce_required => {
            Err(OAuthError::invalid_request("PKCE is required: send code_challenge with code_challenge_method=S256"))
        }
        (None, None) => Ok(None),
    }
}

/// `uri` with `pairs` added to its query, form-encoded (RFC 6749 §4.1.2: the redirect URI's own
/// query "MUST be retained when adding additional query parameters"). The URI is kept as it is,
/// character for character; registered URIs have no fragment.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let separator = match uri.find('?') {
        None => "?",
        Some(_) if uri.ends_with('?') || uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_added_to_the_redirect_uri_query_which_is_kept() {
        let pairs = [("code", "oac_x"), ("state", "a b&c"), ("iss", "https://as.example")];
        let added = "code=oac_x&state=a+b%26c&iss=https%3A%2F%2Fas.example";
        assert_eq!(with_query("https://c.example/cb", &pairs), format!("https://c.example/cb?{added}"));
        assert_eq!(with_query("https://c.example/cb?t=1", &pairs), format!("https://c.example/cb?t=1&{added}"));
        assert_eq!(with_query("https://c.example/cb?", &pairs), format!("https://c.example/cb?{added}"));
        assert_eq!(with_query("http://127.0.0.1:5000", &pairs), format!("http://127.0.0.1:5000?{added}"));
    }

    fn client(public: bool, pkce_required: bool, redirect_uris: &[&str]) -> ClientRecord {
        ClientRecord {
            client_id: "c".into(),
            name: "c".into(),
            secret_hash: String::new(),
            secret_version: 1,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec![],
            default_scopes: vec![],
            created_at: 0,
            updated_at: 0,
            policy: Default::default(),
            introspect: false,
            disabled_at: None,
            redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
            public,
            pkce_required,
            first_party: false,
            owner: None,
        }
    }

    fn challenge_of(client: &ClientRecord, query: &str) -> Result<Option<String>, &'static str> {
        code_challenge(client, &Params::parse(query.as_bytes()).unwrap()).map_err(|e| e.code.as_str())
    }

    #[test]
    fn pkce_is_s256_only_and_required_unless_a_confidential_client_relaxes_it() {
        const C: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let strict = client(false, true, &[]);
        let relaxed = client(false, false, &[]);
        let public = client(true, false, &[]);
        let s256 = format!("code_challenge={C}&code_challenge_method=S256");
        assert_eq!(challenge_of(&strict, &s256), Ok(Some(C.to_owned())));
        for refused in [
            format!("code_challenge={C}&code_challenge_method=plain"),
            format!("code_challenge={C}&code_challenge_method=s256"),
            format!("code_challenge={C}"),
            "code_challenge_method=S256".to_owned(),
            "code_challenge=short&code_challenge_method=S256".to_owned(),
            String::new(),
        ] {
            assert_eq!(challenge_of(&strict, &refused), Err("invalid_request"), "{refused}");
        }
        assert_eq!(challenge_of(&relaxed, ""), Ok(None));
        assert_eq!(challenge_of(&relaxed, &format!("code_challenge={C}")), Err("invalid_request"), "plain, relaxed");
        assert_eq!(challenge_of(&public, ""), Err("invalid_request"), "a public client always needs PKCE");
    }

    #[test]
    fn a_redirect_uri_may_be_omitted_only_when_exactly_one_is_registered() {
        let one = client(false, true, &["https://c.example/cb"]);
        assert_eq!(trusted_redirect_uri(&one, None).unwrap(), ("https://c.example/cb".to_owned(), false));
        assert!(trusted_redirect_uri(&one, Some("https://c.example/cb")).unwrap().1);
        let two = client(false, true, &["https://c.example/cb", "https://c.example/other"]);
        assert!(trusted_redirect_uri(&two, None).is_err());
        assert!(trusted_redirect_uri(&client(false, true, &[]), None).is_err());
        assert!(trusted_redirect_uri(&one, Some("https://c.example/cb2")).is_err());
    }
}
