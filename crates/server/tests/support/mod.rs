//! payport in-process on a loopback port and SQLite in a temporary folder, with the
//! repo's DEV keys and explicit tokens; and a webhook receiver on 127.0.0.1 that
//! answers 200 and hands over what it received.

use std::path::Path;
use std::time::Duration;

use payport_server::config::Config;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, Request};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub const MERCHANT: &str = "m-webhook-test-token";
pub const OPERATOR: &str = "op-webhook-test-token";

/// How long a test waits for something payport does in the background (a delivery,
/// a notification) before it fails: generous, as the machine may be busy.
const PATIENCE: Duration = Duration::from_secs(30);

pub struct App {
    base: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), String>>,
    _dir: tempfile::TempDir,
}

impl App {
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> App {
        let dir = tempfile::tempdir().unwrap();
        let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys");
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: format!("sqlite://{}", dir.path().join("p.db").display()),
            worker_interval_secs: 3_600,
            ..Config::default()
        };
        config.alipay.app_private_key = Some(keys.join("dev_app_private_pkcs8.pem"));
        config.alipay.alipay_public_key = Some(keys.join("dev_alipay_public_spki.pem"));
        config.auth.merchant_tokens = vec![MERCHANT.into()];
        config.auth.operator_tokens = vec![OPERATOR.into()];
        tweak(&mut config);
        let (ready, is_ready) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            payport_server::serve::serve(
                &config,
                move |addr, _| {
                    let _ = ready.send(addr);
                },
                async move {
                    let _ = stopped.await;
                },
            )
            .await
            .map_err(|e| format!("{e:#}"))
        });
        let addr = is_ready.await.expect("payport did not start");
        App {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            stop: Some(stop),
            server,
            _dir: dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.server).await.unwrap().unwrap();
    }

    /// A call with `token` ("" for none): the status and the JSON answer (`null`
    /// when empty).
    pub async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path` without a token: the status, the Content-Type and the body.
    #[allow(dead_code)] // tests/console.rs uses it; each test binary compiles this module
    pub async fn get_raw(&self, path: &str) -> (u16, String, Vec<u8>) {
        let response = self.raw("GET", path, &[], None).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            content_type,
            response.bytes().await.unwrap().to_vec(),
        )
    }

    /// A request as it is given: any method, headers and body bytes, so that tests
    /// can send what a well-behaved client would not.
    #[allow(dead_code)] // not every test file that shares this module uses it
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        request.send().await.unwrap()
    }

    /// `GET path` (merchant) until `done` holds of the answer.
    pub async fn until(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = std::time::Instant::now();
        loop {
            let (status, value) = self.call(MERCHANT, "GET", path, None).await;
            if status == 200 && done(&value) {
                return value;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{path}: still {status} {value}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn create_order(&self, id: &str, amount: &str) {
        let order = serde_json::json!({"subject": "Longjing tea", "total_amount": amount, "out_trade_no": id});
        let (status, answer) = self.call(MERCHANT, "POST", "/v1/orders", Some(order)).await;
        assert_eq!(status, 201, "{answer}");
    }

    /// A new order, paid by QR code through the simulator; returns once it is paid.
    pub async fn pay(&self, id: &str, amount: &str) {
        self.create_order(id, amount).await;
        let qr = serde_json::json!({"method": "qr"});
        let path = format!("/v1/orders/{id}/payments");
        let (status, payment) = self.call(MERCHANT, "POST", &path, Some(qr)).await;
        assert_eq!(status, 200, "{payment}");
        let scanned = self
            .http
            .get(payment["qr_code"].as_str().unwrap())
            .send()
            .await;
        assert!(scanned.unwrap().status().is_success());
        let paid = self
            .http
            .post(format!("{}/sim/control/trades/{id}/pay", self.base))
            .send()
            .await
            .unwrap();
        assert!(paid.status().is_success());
        self.until(&format!("/v1/orders/{id}"), |o| o["status"] == "paid")
            .await;
    }

    /// A new order paid through the cashier in a browser, as a page payment with
    /// `return_url`: where payport finally sends the browser.
    pub async fn pay_in_browser(&self, id: &str, return_url: &str) -> String {
        self.create_order(id, "3.00").await;
        let page = serde_json::json!({"method": "page", "return_url": return_url});
        let path = format!("/v1/orders/{id}/payments");
        let (status, payment) = self.call(MERCHANT, "POST", &path, Some(page)).await;
        assert_eq!(status, 200, "{payment}");
        let cashier = self
            .location(self.http.get(payment["pay_url"].as_str().unwrap()))
            .await;
        let form = self
            .http
            .post(format!("{cashier}/pay"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("");
        let back = self.location(form).await;
        assert!(back.contains("/callbacks/alipay/return?"), "{back}");
        self.location(self.http.get(back)).await
    }

    /// Sends `request`, which must answer a redirect; where it points.
    async fn location(&self, request: reqwest::RequestBuilder) -> String {
        let response = request.send().await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let location = location.unwrap_or_else(|| panic!("{status}: no redirect"));
        if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        }
    }
}

/// One webhook delivery as received.
#[derive(Debug)]
pub struct Delivered {
    pub event_id: String,
    pub signature: String,
    pub user_agent: String,
    pub content_type: String,
    pub body: String,
}

pub struct Receiver {
    pub url: String,
    received: mpsc::UnboundedReceiver<Delivered>,
}

impl Receiver {
    /// The next delivery.
    pub async fn next(&mut self) -> Delivered {
        tokio::time::timeout(PATIENCE, self.received.recv())
            .await
            .expect("no webhook delivery arrived")
            .expect("the receiver stopped")
    }
}

/// A receiver on 127.0.0.1 that answers every POST with 200.
pub async fn receiver() -> Receiver {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let (tx, received) = mpsc::unbounded_channel();
    let endpoint = poem::endpoint::make(move |mut req: Request| {
        let tx = tx.clone();
        async move {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let delivered = Delivered {
                event_id: header("payport-event-id"),
                signature: header("payport-signature"),
                user_agent: header("user-agent"),
                content_type: header("content-type"),
                body: String::new(),
            };
            let body = req.take_body().into_string().await.unwrap_or_default();
            let _ = tx.send(Delivered { body, ..delivered });
            Body::empty()
        }
    });
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
    Receiver {
        url: format!("http://{addr}/hooks/payport"),
        received,
    }
}
