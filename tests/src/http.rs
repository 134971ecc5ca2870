//! Talking to payport over HTTP as a shop's backend (merchant token), its customer
//! service (operator token), a stranger (no token), or the buyer's browser.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use crate::app::{TestApp, MERCHANT_TOKEN, OPERATOR_TOKEN};

/// An HTTP answer: the status, the body as JSON (`Null` when it is not JSON) and as
/// text, and the headers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub json: Value,
    pub text: String,
    pub headers: HeaderMap,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` of a redirect.
    ///
    /// # Panics
    /// When there is none.
    pub fn location(&self) -> String {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location in {} {}", self.status, self.text))
            .to_owned()
    }
}

/// Who is calling.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    app: &'a TestApp,
    token: Option<&'a str>,
}

impl<'a> Caller<'a> {
    /// Sends a request; `body` is sent as JSON, `idempotency_key` as `Idempotency-Key`.
    ///
    /// # Panics
    /// When the request cannot be sent at all.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Reply {
        let mut request = self.app.http.request(method, self.app.url(path));
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        read(request.send().await.expect("request")).await
    }

    /// Sends a raw body with a content type (for malformed input).
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: &'static str) -> Reply {
        let mut request = self
            .app
            .http
            .post(self.app.url(path))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let reply = self.send(Method::GET, path, None, None).await;
        (reply.status, reply.json)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let reply = self.send(Method::POST, path, Some(body), None).await;
        (reply.status, reply.json)
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_keyed(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body), Some(key)).await
    }
}

pub(crate) async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        json,
        text,
        headers,
    }
}

impl TestApp {
    /// A shop's backend.
    pub fn merchant(&self) -> Caller<'_> {
        Caller {
            app: self,
            token: Some(MERCHANT_TOKEN),
        }
    }

    /// Customer service.
    pub fn operator(&self) -> Caller<'_> {
        Caller {
            app: self,
            token: Some(OPERATOR_TOKEN),
        }
    }

    /// No `Authorization` header.
    pub fn anonymous(&self) -> Caller<'_> {
        Caller {
            app: self,
            token: None,
        }
    }

    /// Any bearer token.
    pub fn bearer<'a>(&'a self, token: &'a str) -> Caller<'a> {
        Caller {
            app: self,
            token: Some(token),
        }
    }

    /// `GET` as the merchant.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.merchant().get(path).await
    }

    /// `POST` JSON as the merchant.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.merchant().post(path, body).await
    }

    /// A request with this exact `Authorization` header value.
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn http_raw(
        &self,
        method: Method,
        path: &str,
        authorization: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("Authorization", authorization);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        read(request.send().await.expect("request")).await
    }

    /// A browser-like `GET` of any URL (absolute), redirects not followed.
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn browse(&self, url: &str) -> Reply {
        read(self.http.get(url).send().await.expect("GET")).await
    }

    /// A browser-like form `POST` of any URL (absolute), redirects not followed.
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn submit(&self, url: &str) -> Reply {
        let request = self
            .http
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("");
        read(request.send().await.expect("POST")).await
    }
}
