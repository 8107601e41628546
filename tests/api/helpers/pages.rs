//! The pages as a browser without JavaScript uses them, over plain HTTP: a [`Visitor`] keeps the
//! session cookie the server sets, reads the CSRF token of the page it is on, and posts forms.
//! The browser tests (`helpers/browser.rs`) drive a real Chromium instead.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use super::app::{form, TestApp};

/// A browser's view of the pages: one cookie jar (the session cookie), no redirects followed.
pub struct Visitor<'a> {
    pub app: &'a TestApp,
    /// `name=value` of the session cookie, as the server last set it.
    pub cookie: Option<String>,
}

/// A page as received.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no Location: {self:?}"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the hidden field `name` of the page's form.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start =
            self.body.find(&marker).unwrap_or_else(|| panic!("no field {name} in {}", self.body)) + marker.len();
        let end = self.body[start..].find('"').expect("end of value") + start;
        unescape(&self.body[start..end])
    }

    pub fn csrf(&self) -> String {
        self.hidden("csrf")
    }

    /// The `Set-Cookie` headers.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect()
    }

    /// Asserts a 303 and returns its Location.
    pub fn redirected(&self) -> &str {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "expected a redirect, got {self:?}");
        self.location()
    }
}

/// The HTML escapes askama writes.
fn unescape(text: &str) -> String {
    text.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
}

impl TestApp {
    /// A visitor without a cookie.
    pub fn visitor(&self) -> Visitor<'_> {
        Visitor { app: self, cookie: None }
    }

    /// A visitor signed in as `username` (who must exist with `password`).
    pub async fn signed_in(&self, username: &str, password: &str) -> Visitor<'_> {
        let mut visitor = self.visitor();
        let signed = visitor.sign_in(username, password, "/").await;
        assert_eq!(signed.redirected(), "/", "sign-in failed: {signed:?}");
        visitor
    }
}

impl Visitor<'_> {
    pub async fn get(&mut self, path: &str) -> Page {
        let mut request = self.app.http.get(self.url(path));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        self.receive(request.send().await.expect("GET")).await
    }

    /// POSTs `pairs` as a form, as they are (add the CSRF token yourself, or use [`Self::submit`]).
    pub async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Page {
        let mut request = self
            .app
            .http
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(pairs));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        self.receive(request.send().await.expect("POST")).await
    }

    /// POSTs `pairs` with the CSRF token of `page`, as its form would.
    pub async fn submit(&mut self, page: &Page, path: &str, pairs: &[(&str, &str)]) -> Page {
        let csrf = page.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post(path, &all).await
    }

    /// Opens the sign-in page for `return_to` and submits it.
    pub async fn sign_in(&mut self, username: &str, password: &str, return_to: &str) -> Page {
        let page = self.get(&format!("/login?return_to={}", super::app::form_encode(return_to))).await;
        assert_eq!(page.status, 200, "the sign-in page: {page:?}");
        self.submit(&page, "/login", &[("username", username), ("password", password), ("return_to", return_to)]).await
    }

    /// Opens the consent page of the authorization request `query`, allows it, and returns the
    /// code the redirect carries.
    pub async fn allow(&mut self, query: &str) -> String {
        let consent = self.get(&format!("/authorize?{query}")).await;
        assert_eq!(consent.status, 200, "the consent page: {consent:?}");
        let request = consent.hidden("request");
        let allowed =
            self.submit(&consent, "/authorize/decision", &[("request", &request), ("decision", "allow")]).await;
        let location = url::Url::parse(allowed.location()).expect("a redirect URL");
        location.query_pairs().find(|(k, _)| k == "code").expect("a code").1.into_owned()
    }

    /// Follows a redirect to a page of this server.
    pub async fn follow(&mut self, page: &Page) -> Page {
        let location = page.redirected().to_owned();
        assert!(location.starts_with('/'), "a redirect off this server: {location}");
        self.get(&location).await
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            self.app.url(path)
        }
    }

    async fn receive(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default().trim();
            if set.to_ascii_lowercase().contains("max-age=0") {
                self.cookie = None;
            } else {
                self.cookie = Some(pair.to_owned());
            }
        }
        let body = response.text().await.expect("body");
        Page { status, headers, body }
    }
}
