//! Test rig: the simulator on a loopback port, a merchant notify receiver on another,
//! and payport's OpenAPI adapter as the client (an independent implementation of the
//! same protocol, pinned to the official SDK's vectors like the simulator).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use payport_alipay_openapi::{
    AlipayOpenApiGateway, Client, OpenApiConfig, PrivateKey, PublicKey, SignType, Signer, Verifier,
};
use payport_alipay_sim::{ManualClock, SimConfig, Simulator};
use payport_domain::ports::{IncomingNotification, PaymentGateway, TradeNotification};
use payport_domain::AppId;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{handler, post, EndpointExt, Request, Route, Server};

pub fn repo_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// What the merchant's notify endpoint received.
#[derive(Clone, Debug)]
pub struct Received {
    pub content_type: String,
    pub user_agent: String,
    pub raw_body: String,
    pub fields: Vec<(String, String)>,
}

impl Received {
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct Receiver {
    pub got: Mutex<Vec<Received>>,
    /// Answers to give, in order; `success` once they run out.
    pub answers: Mutex<VecDeque<&'static str>>,
}

#[handler]
fn receive(req: &Request, body: String, receiver: Data<&Arc<Receiver>>) -> String {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    receiver.got.lock().unwrap().push(Received {
        content_type: header("content-type"),
        user_agent: header("user-agent"),
        fields: form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect(),
        raw_body: body,
    });
    receiver
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or("success")
        .to_owned()
}

async fn serve(endpoint: impl poem::Endpoint + 'static) -> SocketAddr {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(endpoint));
    addr
}

pub struct Rig {
    pub sim: Simulator,
    pub clock: Arc<ManualClock>,
    pub sim_url: String,
    pub receiver: Arc<Receiver>,
    pub notify_url: String,
    pub gateway: AlipayOpenApiGateway,
    pub http: reqwest::Client,
}

pub fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap()
}

pub fn dev_config() -> SimConfig {
    let mut config = SimConfig::dev();
    config.notify_minute = Duration::from_millis(5);
    config
}

pub fn adapter(
    sim_url: &str,
    notify_url: &str,
    key_file: &str,
    timeout_ms: u64,
) -> AlipayOpenApiGateway {
    AlipayOpenApiGateway::new(client(sim_url, notify_url, key_file, timeout_ms))
}

/// The adapter with the DEV app key, in certificate mode with these SNs.
pub fn cert_adapter(
    sim_url: &str,
    certs: payport_alipay_openapi::CertMode,
) -> AlipayOpenApiGateway {
    AlipayOpenApiGateway::new(
        client(
            sim_url,
            "http://127.0.0.1:9/notify",
            "keys/dev_app_private_pkcs8.pem",
            2_000,
        )
        .with_certificates(certs),
    )
}

fn client(sim_url: &str, notify_url: &str, key_file: &str, timeout_ms: u64) -> Client {
    let mut config = OpenApiConfig::new(
        format!("{sim_url}/gateway.do"),
        AppId::parse("2021000000000001").unwrap(),
    );
    config.notify_url = Some(notify_url.to_owned());
    config.timeout = Duration::from_millis(timeout_ms);
    let app_key = PrivateKey::parse(&repo_file(key_file)).unwrap();
    let alipay_public = PublicKey::parse(&repo_file("keys/dev_alipay_public_spki.pem")).unwrap();
    Client::new(
        config,
        Signer::new(&app_key, SignType::Rsa2).unwrap(),
        Verifier::new(&alipay_public, SignType::Rsa2).unwrap(),
        Arc::new(MerchantClock),
    )
    .unwrap()
}

/// The merchant's wall clock, for the adapter (a domain `Clock`; the simulator has its
/// own clock trait).
struct MerchantClock;

impl payport_domain::ports::Clock for MerchantClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

impl Rig {
    pub async fn start() -> Rig {
        Self::start_with(dev_config()).await
    }

    pub async fn start_with(config: SimConfig) -> Rig {
        let clock = Arc::new(ManualClock::new(t0()));
        let sim = Simulator::new(config, clock.clone()).unwrap();
        let sim_addr = serve(Route::new().nest("/sim", sim.endpoint())).await;
        let receiver = Arc::new(Receiver::default());
        let notify_addr = serve(
            Route::new()
                .at("/notify", post(receive))
                .data(receiver.clone()),
        )
        .await;
        let sim_url = format!("http://{sim_addr}/sim");
        let notify_url = format!("http://{notify_addr}/notify");
        Rig {
            gateway: adapter(
                &sim_url,
                &notify_url,
                "keys/dev_app_private_pkcs8.pem",
                2_000,
            ),
            sim,
            clock,
            sim_url,
            receiver,
            notify_url,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// Waits (up to 5 s) until `n` notifications have arrived.
    pub async fn notifications(&self, n: usize) -> Vec<Received> {
        for _ in 0..500 {
            let got = self.receiver.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "expected {n} notifications, got {:?}",
            self.receiver.got.lock().unwrap()
        );
    }

    /// Verifies a received notification with payport's adapter.
    pub async fn verify(&self, received: &Received) -> TradeNotification {
        self.gateway
            .verify_notification(&IncomingNotification {
                raw_body: received.raw_body.clone(),
                fields: received.fields.clone(),
            })
            .await
            .unwrap()
    }

    pub async fn control(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.http
            .request(method, format!("{}/control{path}", self.sim_url))
            .send()
            .await
            .unwrap()
    }

    pub async fn set_faults(&self, faults: serde_json::Value) {
        let response = self
            .http
            .put(format!("{}/control/faults", self.sim_url))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
}
