//! One scenario's world: a standalone `payport sim`, a database of its own, and the
//! `payport` binary (built with crash points) started, killed at a crash point and
//! started again on the same port and database.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use payport_procs::{self as procs, Instance, Proc};

/// How long a scenario waits for what a restart must bring about: the worker takes a
/// refund left `processing` only once it has been untouched for its 60 s lease, and a
/// killed request's Idempotency-Key is taken over once its instance has missed three
/// heartbeats.
const PATIENCE: Duration = Duration::from_secs(240);
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Harness {
    bin: PathBuf,
    dir: tempfile::TempDir,
    database_url: String,
    _pg: Option<payport_test_support::db::PgDatabase>,
    sim: Proc,
    port: u16,
    payport: Option<Proc>,
    http: reqwest::Client,
    /// The scenario's name, in every failure message.
    pub name: &'static str,
}

/// A request's answer: its status and body (JSON, or the text as a string).
pub struct Reply {
    pub status: u16,
    pub json: Value,
}

impl Reply {
    /// Panics, naming `what`, unless the status is a success.
    pub fn expect_success(&self, what: &str) {
        assert!(
            (200..300).contains(&self.status),
            "{what}: {} {}",
            self.status,
            self.json
        );
    }
}

impl Harness {
    /// A fresh world on `backend`, payport not started yet; `None` when PostgreSQL is
    /// unreachable outside CI (the skip was reported).
    pub async fn new(backend: Backend, name: &'static str) -> Option<Harness> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("payport.db").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = payport_test_support::db::PgDatabase::migrated().await?;
                (pg.url().to_owned(), Some(pg))
            }
        };
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_payport"));
        // Alipay's retry schedule, a minute taken as 250 ms: redeliveries 1 s, 3.5 s,
        // 6 s, ... after the first attempt, so the restarted payport gets one soon.
        let sim = procs::start_sim_with(
            &bin,
            &dir.path().join("sim.log"),
            &["--notify-minute-ms", "250"],
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: the simulator did not start: {e:#}"));
        Some(Harness {
            bin,
            database_url,
            _pg: pg,
            sim,
            port: procs::free_port().expect("a free port"),
            payport: None,
            http: reqwest::Client::new(),
            name,
            dir,
        })
    }

    /// Starts payport, with `crash_point` armed (stopping at its first pass) or none;
    /// the worker runs every second.
    pub async fn start(&mut self, crash_point: Option<&str>) {
        let armed = crash_point.map(|p| format!("{p}=return"));
        let mut env = vec![("PAYPORT_WORKER_INTERVAL_SECS", "1".to_owned())];
        if let Some(armed) = armed {
            env.push(("FAILPOINTS", armed));
        }
        let gateway = format!("{}/gateway.do", self.sim.url);
        let instance = Instance {
            port: self.port,
            database_url: &self.database_url,
            gateway: &gateway,
            dir: self.dir.path(),
            env: &env,
            log: &self.dir.path().join("payport.log"),
        };
        let started = procs::start_instance(&self.bin, &instance).await;
        self.payport = Some(started.unwrap_or_else(|e| panic!("{}: {e:#}", self.name)));
    }

    /// Waits for payport to die at the armed crash point: aborted (SIGABRT), not
    /// stopped by anything else.
    pub async fn crashed(&mut self) {
        let payport = self.payport.as_mut().expect("payport started");
        let deadline = Instant::now() + PATIENCE;
        let why = loop {
            if let Err(exited) = payport.check_alive() {
                break exited.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "{}: payport never reached its crash point",
                self.name
            );
            tokio::time::sleep(POLL).await;
        };
        assert!(why.contains("SIGABRT"), "{}: {why}", self.name);
        self.payport = None;
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A request as the shop's backend; `Err` when no answer came (the process died).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Result<Reply, reqwest::Error> {
        let url = self.url(path);
        let mut request = match method {
            "POST" => self.http.post(url),
            _ => self.http.get(url),
        }
        .bearer_auth(procs::TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Reply { status, json })
    }

    /// A request that must succeed.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let what = format!("{}: {method} {path}", self.name);
        let reply = self
            .call(method, path, body, None)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        reply.expect_success(&what);
        reply.json
    }

    /// An order whose QR payment was started at the simulator.
    pub async fn order_with_payment(&self, id: &str, amount: &str) {
        let order = json!({"subject": "Longjing tea", "total_amount": amount, "out_trade_no": id});
        self.ok("POST", "/v1/orders", Some(order)).await;
        let qr = json!({"method": "qr"});
        let path = format!("/v1/orders/{id}/payments");
        self.ok("POST", &path, Some(qr)).await;
    }

    /// The buyer pays at the simulator, which then notifies payport.
    pub async fn buyer_pays(&self, id: &str) {
        self.sim_ok("POST", &format!("/control/trades/{id}/pay"), None)
            .await;
    }

    /// A simulator control call that must succeed.
    pub async fn sim_ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.sim.url);
        let mut request = match method {
            "POST" => self.http.post(url),
            "PUT" => self.http.put(url),
            _ => self.http.get(url),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("simulator control call");
        let status = response.status();
        let text = response.text().await.expect("simulator answer");
        assert!(
            status.is_success(),
            "{}: sim {path}: {status} {text}",
            self.name
        );
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    /// The refunds the simulator made for the trade: its books, not payport's.
    pub async fn sim_refunds_of(&self, id: &str) -> Vec<Value> {
        self.sim_list_of("/control/refunds", id).await
    }

    /// The simulator's delivery attempts of notifications about the trade.
    pub async fn sim_deliveries_of(&self, id: &str) -> Vec<Value> {
        self.sim_list_of("/control/notifications", id).await
    }

    async fn sim_list_of(&self, path: &str, id: &str) -> Vec<Value> {
        let all = self.sim_ok("GET", path, None).await;
        let all = all.as_array().expect("a list").clone();
        all.into_iter()
            .filter(|entry| entry["out_trade_no"] == id)
            .collect()
    }

    /// How many events of `kind` payport wrote about `object_id`.
    pub async fn events(&self, kind: &str, object_id: &str) -> usize {
        let path = format!("/v1/events?type={kind}&object_id={object_id}&limit=100");
        let page = self.ok("GET", &path, None).await;
        page["items"].as_array().expect("items").len()
    }

    /// Polls `check` until it gives a value; panics naming `what` after [`PATIENCE`].
    pub async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {what} did not happen; see {}",
                self.name,
                self.dir.path().display()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the order has `status`.
    pub async fn order_becomes(&self, id: &str, status: &str) -> Value {
        let path = format!("/v1/orders/{id}");
        let what = format!("order {id} {status}");
        self.until(&what, || async {
            let order = self.ok("GET", &path, None).await;
            (order["status"] == status).then_some(order)
        })
        .await
    }
}

impl Drop for Harness {
    /// Keeps the folder (logs, SQLite file) of a failed scenario for a look.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
            let _ = dir.keep();
        }
    }
}
