//! Consent: whether a signed-in user must be asked before a client gets a code, and remembering
//! the answer. A consent is kept per (user, client) as the scopes allowed so far: a request within
//! them is not asked again, one for more is, and allowing it remembers the union. A first-party
//! client's consent is implicit. Users (and administrators) list and revoke consents through
//! `admin::consents`.

use super::authorize::{AuthorizationRequest, AuthorizeError};
use super::scope::Scope;
use super::{Authority, ErrorCode, OAuthError};

impl Authority {
    /// Whether `username` must be asked to allow `request`: not for a first-party client, nor for
    /// scopes within what they allowed this client before. A store failure is the error redirect.
    pub async fn consent_needed(&self, request: &AuthorizationRequest, username: &str) -> Result<bool, AuthorizeError> {
        if request.client.first_party {
            return Ok(false);
        }
        let remembered = self
            .store
            .find_consent(username, &request.client.client_id)
            .await
            .map_err(|e| AuthorizeError::Redirect { location: self.authorization_error(request, e.into()) })?;
        let Some(remembered) = remembered else {
            return Ok(true);
        };
        let allowed = Scope::parse(&remembered.scope).unwrap_or_default();
        Ok(!request.scope.is_subset(&allowed))
    }

    /// `username` allowed `request`: remember its scopes (with those allowed before) and issue the
    /// code. Returns the redirect Location.
    pub async fn allow(
        &self,
        request: &AuthorizationRequest,
        username: &str,
        auth_time: i64,
    ) -> Result<String, AuthorizeError> {
        let refuse = |e: OAuthError| AuthorizeError::Redirect { location: self.authorization_error(request, e) };
        if !request.client.first_party {
            let client_id = &request.client.client_id;
            let before = self.store.find_consent(username, client_id).await.map_err(|e| refuse(e.into()))?;
            let before = before.and_then(|c| Scope::parse(&c.scope).ok()).unwrap_or_default();
            let scope = before.union(&request.scope);
            self.store
                .remember_consent(username, client_id, &scope.to_string(), self.clock.now())
                .await
                .map_err(|e| refuse(e.into()))?;
        }
        self.issue_code(request, username, &request.scope, auth_time).await
    }

    /// `username` denied `request`: RFC 6749 §4.1.2.1 `access_denied` ("The resource owner or
    /// authorization server denied the request"). Returns the redirect Location.
    pub fn deny(&self, request: &AuthorizationRequest) -> String {
        self.authorization_error(request, OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"))
    }
}
