//! The admin API as a test talks to it: an automation client allowed the admin scope, a token of
//! it from the client_credentials grant, and JSON requests under `/admin/api/v1`.

use oauthd::admin::clients::ClientSpec;
use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use super::app::{TestApp, TestClient};

/// The admin API of a [`TestApp`], called with `token`.
pub struct AdminApi<'a> {
    pub app: &'a TestApp,
    /// `…/admin/api/v1`, on the admin listener when the app has one.
    pub base: String,
    pub token: String,
    /// The automation client the token was issued to.
    pub client: TestClient,
}

impl TestApp {
    /// Where the admin API answers: the separate admin listener when `admin.listen` is set, else
    /// the main one.
    pub fn admin_url(&self, path: &str) -> String {
        match self.admin_port {
            Some(port) => {
                let scheme = self.address.split("://").next().unwrap_or("http");
                format!("{scheme}://127.0.0.1:{port}/admin/api/v1{path}")
            }
            None => self.url(&format!("/admin/api/v1{path}")),
        }
    }

    /// An automation client allowed the admin scope (client_credentials only), and the admin API
    /// called with a token it got at /token.
    pub async fn admin_api(&self) -> AdminApi<'_> {
        let scope = self.auth.settings.admin.scope.clone();
        let client = self
            .create_client(ClientSpec {
                name: "automation".into(),
                grant_types: vec!["client_credentials".into()],
                scopes: vec![scope.clone()],
                ..ClientSpec::default()
            })
            .await;
        let token = self.client_credentials(&client, &scope).await["access_token"].as_str().unwrap().to_owned();
        AdminApi { app: self, base: self.admin_url(""), token, client }
    }
}

impl AdminApi<'_> {
    /// A new token for the automation client, after the clock moved past the old one's expiry.
    pub async fn renew(&mut self) {
        let scope = self.app.auth.settings.admin.scope.clone();
        let answer = self.app.client_credentials(&self.client, &scope).await;
        self.token = answer["access_token"].as_str().unwrap().to_owned();
    }

    /// The same API called with another token.
    pub fn with_token(&self, token: &str) -> AdminApi<'_> {
        AdminApi { app: self.app, base: self.base.clone(), token: token.to_owned(), client: self.client.clone() }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .http
            .request(method, format!("{}{path}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path).send().await.expect("request")
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path).json(&body).send().await.expect("request")
    }

    /// A POST without a body.
    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::POST, path).send().await.expect("request")
    }

    pub async fn patch(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(reqwest::Method::PATCH, path).json(&body).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::DELETE, path).send().await.expect("request")
    }

    /// GETs `path` and returns its JSON, asserting 200.
    pub async fn get_ok(&self, path: &str) -> Value {
        ok(self.get(path).await, 200).await
    }

    /// The security events the API lists for `query` (e.g. `?kind=token_revoked`), newest first.
    pub async fn events(&self, query: &str) -> Vec<Value> {
        let page = self.get_ok(&format!("/events{query}")).await;
        page["items"].as_array().expect("items").clone()
    }
}

/// Asserts the status and returns the JSON body.
pub async fn ok(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}
