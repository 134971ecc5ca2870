//! A small stand-in for the legacy gateway.do on loopback: it records every request
//! (query and form, each decoded once) and answers each service as told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use payport_alipay_mapi::{AlipayMapiGateway, MapiConfig, MapiMode, Md5Key, ProcessBatchNos};
pub use payport_test_support::{FixedClock, MemoryLog};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{handler, EndpointExt, Request, Response, Route, Server};

pub const PARTNER: &str = "2088101568338364";
pub const KEY: &str = "k3v9x0m2q8w4e7r1t6y5u0i9o3p2a8s4";
pub const SELLER_EMAIL: &str = "refund-test@example.com";
pub const NOTIFY_URL: &str = "https://shop.example/alipay/batch-refund-notify";

pub type Form = Vec<(String, String)>;

pub fn decode(bytes: &[u8]) -> Form {
    form_urlencoded::parse(bytes).into_owned().collect()
}

pub fn encode(form: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        s.append_pair(k, v);
    }
    s.finish()
}

pub fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// How the stub answers a service.
#[derive(Clone, Debug)]
pub enum Reply {
    /// HTTP 200 with this body.
    Text(String),
    Status(u16),
    /// Waits this long (longer than the client's timeout), then answers `T`.
    Delay(Duration),
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub http_method: String,
    pub query: Form,
    pub body: Form,
    pub content_type: String,
}

impl Recorded {
    pub fn param(&self, key: &str) -> Option<&str> {
        field(&self.query, key).or_else(|| field(&self.body, key))
    }
}

#[derive(Default)]
pub struct StubState {
    pub replies: Mutex<HashMap<String, Reply>>,
    pub requests: Mutex<Vec<Recorded>>,
}

impl StubState {
    pub fn reply(&self, service: &str, reply: Reply) {
        self.replies
            .lock()
            .unwrap()
            .insert(service.to_owned(), reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().last().cloned().expect("a request")
    }
}

pub fn xml(is_success: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<error>{e}</error>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><alipay><is_success>{is_success}</is_success>{error}</alipay>"#
    )
}

#[handler]
async fn gateway_do(req: &Request, body: Vec<u8>, state: Data<&Arc<StubState>>) -> Response {
    let query = decode(req.uri().query().unwrap_or("").as_bytes());
    let form = decode(&body);
    let recorded = Recorded {
        http_method: req.method().to_string(),
        query,
        body: form,
        content_type: req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    };
    let service = recorded.param("service").unwrap_or("").to_owned();
    state.requests.lock().unwrap().push(recorded);
    let reply = state.replies.lock().unwrap().get(&service).cloned();
    match reply {
        None => Response::builder()
            .status(poem::http::StatusCode::NOT_FOUND)
            .finish(),
        Some(Reply::Text(text)) => Response::builder()
            .content_type("text/xml; charset=utf-8")
            .body(text),
        Some(Reply::Status(code)) => Response::builder()
            .status(poem::http::StatusCode::from_u16(code).unwrap())
            .body("<html><body>busy</body></html>"),
        Some(Reply::Delay(d)) => {
            tokio::time::sleep(d).await;
            Response::builder().body(xml("T", None))
        }
    }
}

/// 2024-05-14 10:00:00 in Beijing (02:00 UTC).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 14, 2, 0, 0).unwrap()
}

pub fn config(gateway_url: &str) -> MapiConfig {
    let mut config = MapiConfig::new(gateway_url, PARTNER, Md5Key::new(KEY).unwrap(), NOTIFY_URL);
    config.seller_email = Some(SELLER_EMAIL.into());
    config.timeout = Duration::from_millis(800);
    config
}

pub struct Wire {
    pub state: Arc<StubState>,
    pub gateway: AlipayMapiGateway,
    pub log: Arc<MemoryLog>,
    pub gateway_url: String,
}

/// Starts the stub and an adapter in `mode` pointed at it.
pub async fn start(mode: MapiMode) -> Wire {
    let state = Arc::new(StubState::default());
    let app = Route::new()
        .at("/gateway.do", poem::get(gateway_do).post(gateway_do))
        .data(state.clone());
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    let gateway_url = format!("http://{addr}/gateway.do");
    let log = Arc::new(MemoryLog::default());
    let gateway = AlipayMapiGateway::new(config(&gateway_url), mode, Arc::new(FixedClock(now())))
        .unwrap()
        .with_exchange_log(log.clone())
        .with_batch_nos(Arc::new(ProcessBatchNos::with_instance(42)));
    Wire {
        state,
        gateway,
        log,
        gateway_url,
    }
}
