//! A small stand-in for gateway.do on loopback: it checks the merchant's signature with
//! the app's public key, records every request, and answers each method as told —
//! signed with the vectors' "Alipay" key, or with a fault.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use payport_alipay_openapi::sign_content::request_sign_content;
use payport_alipay_openapi::{
    parse_form_urlencoded, AlipayOpenApiGateway, Client, OpenApiConfig, PrivateKey, PublicKey,
    SignType, Signer, Verifier,
};
use payport_domain::AppId;
pub use payport_test_support::{FixedClock, MemoryLog};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{handler, post, EndpointExt, Request, Response, Route, Server};

pub const APP_ID: &str = "2021000000000001";

pub fn key(name: &str) -> String {
    let path = format!(
        "{}/../../testdata/vectors/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn alipay_signer() -> Signer {
    let key = PrivateKey::parse(&key("alipay_private_pkcs8.pem")).unwrap();
    Signer::new(&key, SignType::Rsa2).unwrap()
}

pub fn forger_signer() -> Signer {
    let key = PrivateKey::parse(&key("forger_private_pkcs8.pem")).unwrap();
    Signer::new(&key, SignType::Rsa2).unwrap()
}

/// How the stub answers a method.
#[derive(Clone, Debug)]
pub enum Reply {
    /// `{"<m>_response":NODE,"sign":...}` signed by Alipay's key.
    Signed(String),
    /// Signed with the forger's key.
    Forged(String),
    /// No `sign` at all.
    Unsigned(String),
    /// `{"error_response":NODE}` unsigned, as old gateway errors look.
    ErrorNodeUnsigned(String),
    Status(u16),
    /// Waits this long before answering (longer than the client's timeout).
    Delay(Duration),
    Raw(String),
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub query: Vec<(String, String)>,
    pub body: Vec<(String, String)>,
    pub content_type: String,
    pub signature_ok: bool,
}

impl Recorded {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.body)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn biz(&self) -> serde_json::Value {
        serde_json::from_str(self.param("biz_content").unwrap_or("null")).unwrap()
    }
}

#[derive(Default)]
pub struct StubState {
    pub replies: Mutex<HashMap<String, Reply>>,
    pub requests: Mutex<Vec<Recorded>>,
}

impl StubState {
    pub fn reply(&self, method: &str, reply: Reply) {
        self.replies
            .lock()
            .unwrap()
            .insert(method.to_owned(), reply);
    }

    pub fn last(&self) -> Recorded {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

pub fn body_for(method: &str, node: &str, signer: Option<&Signer>) -> String {
    let name = format!("{}_response", method.replace('.', "_"));
    match signer {
        Some(s) => format!(
            r#"{{"{name}":{node},"sign":"{}"}}"#,
            s.sign(node.as_bytes()).unwrap()
        ),
        None => format!(r#"{{"{name}":{node}}}"#),
    }
}

#[handler]
async fn gateway(req: &Request, body: Vec<u8>, state: Data<&Arc<StubState>>) -> Response {
    let query = parse_form_urlencoded(req.uri().query().unwrap_or("").as_bytes()).unwrap();
    let form = parse_form_urlencoded(&body).unwrap();
    let all: Vec<(String, String)> = query.iter().chain(&form).cloned().collect();
    let sign = all
        .iter()
        .find(|(k, _)| k == "sign")
        .map(|(_, v)| v.clone());
    let content = request_sign_content(
        all.iter()
            .filter(|(k, _)| k != "sign")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let app_public = PublicKey::parse(&key("app_public_spki.pem")).unwrap();
    let verifier = Verifier::new(&app_public, SignType::Rsa2).unwrap();
    let signature_ok = sign.is_some_and(|s| verifier.verify(content.as_bytes(), &s));
    let method = all
        .iter()
        .find(|(k, _)| k == "method")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    state.requests.lock().unwrap().push(Recorded {
        method: method.clone(),
        query,
        body: form,
        content_type: req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        signature_ok,
    });
    let reply = state.replies.lock().unwrap().get(&method).cloned();
    let text = match reply {
        None => {
            return Response::builder()
                .status(poem::http::StatusCode::NOT_FOUND)
                .finish()
        }
        Some(Reply::Signed(node)) => body_for(&method, &node, Some(&alipay_signer())),
        Some(Reply::Forged(node)) => body_for(&method, &node, Some(&forger_signer())),
        Some(Reply::Unsigned(node)) => body_for(&method, &node, None),
        Some(Reply::ErrorNodeUnsigned(node)) => format!(r#"{{"error_response":{node}}}"#),
        Some(Reply::Status(code)) => {
            return Response::builder()
                .status(poem::http::StatusCode::from_u16(code).unwrap())
                .body("busy")
        }
        Some(Reply::Delay(d)) => {
            tokio::time::sleep(d).await;
            body_for(
                &method,
                r#"{"code":"10000","msg":"Success"}"#,
                Some(&alipay_signer()),
            )
        }
        Some(Reply::Raw(text)) => text,
    };
    Response::builder()
        .content_type("text/html;charset=utf-8")
        .body(text)
}

/// 2026-11-21 16:30:05 UTC, i.e. 2026-11-22 00:30:05 in Beijing.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 16, 30, 5).unwrap()
}

pub struct Wire {
    pub state: Arc<StubState>,
    pub gateway: AlipayOpenApiGateway,
    pub log: Arc<MemoryLog>,
    pub addr: SocketAddr,
}

/// Starts the stub and a gateway adapter pointed at it.
pub async fn start() -> Wire {
    start_with_certs(None).await
}

/// As [`start`], the adapter in certificate mode when `certs` is set.
pub async fn start_with_certs(certs: Option<payport_alipay_openapi::CertMode>) -> Wire {
    start_at(certs, now()).await
}

/// As [`start_with_certs`], with the adapter's clock at `at`.
pub async fn start_at(certs: Option<payport_alipay_openapi::CertMode>, at: DateTime<Utc>) -> Wire {
    let state = Arc::new(StubState::default());
    let app = Route::new()
        .at("/gateway.do", post(gateway))
        .data(state.clone());
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    let mut config = OpenApiConfig::new(
        format!("http://{addr}/gateway.do"),
        AppId::parse(APP_ID).unwrap(),
    );
    config.notify_url = Some("https://shop.example/callbacks/alipay/notify".into());
    config.timeout = Duration::from_millis(800);
    let app_key = PrivateKey::parse(&key("app_private_pkcs1.pem")).unwrap();
    let alipay_public = PublicKey::parse(&key("alipay_public_spki.pem")).unwrap();
    let log = Arc::new(MemoryLog::default());
    let client = Client::new(
        config,
        Signer::new(&app_key, SignType::Rsa2).unwrap(),
        Verifier::new(&alipay_public, SignType::Rsa2).unwrap(),
        Arc::new(FixedClock(at)),
    )
    .unwrap()
    .with_exchange_log(log.clone());
    let client = match certs {
        Some(certs) => client.with_certificates(certs),
        None => client,
    };
    Wire {
        state,
        gateway: AlipayOpenApiGateway::new(client),
        log,
        addr,
    }
}
