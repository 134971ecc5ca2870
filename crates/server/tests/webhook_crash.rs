//! The transactional outbox survives a crash: with the shop's receiver down, payport
//! takes payments and a refund (so events are written and their first deliveries
//! fail), is killed with SIGKILL, and restarted on the same database once the receiver
//! is up. Every event written before the kill then arrives, signed, and the events API
//! lists exactly those: none lost, none invented. On SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

// The black-box suite's receiver, shared as a file: this test uses only part of it.
#[allow(dead_code)]
#[path = "../../../tests/src/receiver.rs"]
mod receiver;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use receiver::{Policy, Receiver};
use serde_json::{json, Value};

const MERCHANT: &str = "crash-test-merchant-token";
const OPERATOR: &str = "crash-test-operator-token";
const SECRET: &str = "whsec_crash_test_0123456789abcdef";
/// A delivery claimed at the moment of the kill is sent again only when its lease
/// (the send timeout plus half a minute) has run out.
const PATIENCE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_events_written_before_a_kill_are_delivered_after_the_restart() {
    let data = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", data.path().join("payport.db").display());
    survives_a_kill(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_written_before_a_kill_are_delivered_after_the_restart() {
    let Some(db) = payport_test_support::db::PgDatabase::migrated().await else {
        return;
    };
    survives_a_kill(db.url()).await;
}

async fn survives_a_kill(database_url: &str) {
    let mut receiver = Receiver::down(Policy::Accept, SECRET);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut first = Payport::start(dir.path(), database_url, &receiver.url());
    first.pay("CRASH_1", "30.00").await;
    first.pay("CRASH_2", "12.50").await;
    let refund = first
        .call(
            "POST",
            "/v1/orders/CRASH_1/refunds",
            Some(json!({"amount": "10.00"})),
        )
        .await;
    assert_eq!(refund["status"], "succeeded", "{refund}");
    first.wait_for_status("CRASH_1", "partially_refunded").await;

    let written = first.events().await;
    let types: Vec<&str> = written
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in ["order.paid", "refund.succeeded", "order.partially_refunded"] {
        assert!(types.contains(&kind), "{kind} in {types:?}");
    }
    // payport has tried each of them, and found the receiver down.
    for event in &written {
        first.wait_for_a_failed_attempt(&id_of(event)).await;
    }
    assert!(receiver.received().is_empty());
    first.kill();

    receiver.up().await;
    let second = Payport::start(dir.path(), database_url, &receiver.url());
    let ids: Vec<String> = written.iter().map(id_of).collect();
    let received = receiver
        .wait_for(
            "every event written before the kill",
            PATIENCE,
            |received| {
                ids.iter().all(|id| {
                    received
                        .iter()
                        .any(|r| r.event_id.as_deref() == Some(id.as_str()))
                })
            },
        )
        .await;
    for r in &received {
        assert!(r.signature_ok, "{r:#?}");
        let event = r.event();
        assert_eq!(event["id"].as_str(), r.event_id.as_deref(), "{r:#?}");
        let listed = written
            .iter()
            .find(|e| e["id"] == event["id"])
            .unwrap_or_else(|| panic!("an event nobody wrote: {r:#?}"));
        assert_eq!(event["type"], listed["type"]);
        assert_eq!(event["data"], listed["data"]);
    }
    // The restart wrote nothing new and lost nothing.
    assert_eq!(second.events().await, written);
    // Both runs logged their attempts, and never the secret they signed them with.
    assert!(first.logs_without_the_secret() > 0);
    assert!(second.logs_without_the_secret() > 0);
}

fn id_of(event: &Value) -> String {
    event["id"].as_str().expect("event id").to_owned()
}

/// `payport` (the binary) on `database_url`, sending webhooks to `hook_url` with
/// retries every second or two; killed with SIGKILL when dropped.
struct Payport {
    child: Child,
    /// Every line it wrote to stdout and stderr.
    logs: Arc<Mutex<Vec<String>>>,
    base: String,
    http: reqwest::Client,
}

impl Payport {
    fn start(dir: &Path, database_url: &str, hook_url: &str) -> Payport {
        let mut child = Command::new(env!("CARGO_BIN_EXE_payport"))
            .current_dir(dir)
            .env("PAYPORT_LISTEN", "127.0.0.1:0")
            .env("PAYPORT_DATABASE_URL", database_url)
            .env("PAYPORT_AUTH__MERCHANT_TOKENS", MERCHANT)
            .env("PAYPORT_AUTH__OPERATOR_TOKENS", OPERATOR)
            .env("PAYPORT_WEBHOOKS__URL", hook_url)
            .env("PAYPORT_WEBHOOKS__SECRET", SECRET)
            .env("PAYPORT_WEBHOOKS__TIMEOUT_SECS", "2")
            .env("PAYPORT_WEBHOOKS__RETRY_FIRST_SECS", "1")
            .env("PAYPORT_WEBHOOKS__RETRY_CAP_SECS", "2")
            .env("NO_COLOR", "1")
            // Everything payport itself logs, so that a secret in any line is seen.
            .env(
                "RUST_LOG",
                "info,payport_server=debug,payport_webhooks=debug",
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn payport");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        read_lines(stdout, logs.clone(), Some(tx));
        read_lines(stderr, logs.clone(), None);
        let mut payport = Payport {
            child,
            logs,
            base: String::new(),
            http: reqwest::Client::new(),
        };
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| match payport.child.try_wait() {
                Ok(Some(status)) => panic!("payport exited early: {status}"),
                _ => panic!("payport did not log its address within 30 s"),
            });
        payport.base = format!("http://{addr}");
        payport
    }

    /// SIGKILL: no shutdown, no flushing, nothing finished.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Every line logged so far; the secret must be in none of them.
    fn logs_without_the_secret(&self) -> usize {
        let logs = self.logs.lock().expect("logs");
        for line in logs.iter() {
            assert!(
                !line.contains(SECRET),
                "the webhook secret was logged: {line}"
            );
        }
        logs.len()
    }

    /// A request with the operator's token; the answer must be a success.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "POST" => self.http.post(&url),
            _ => self.http.get(&url),
        }
        .bearer_auth(OPERATOR);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    /// An order paid by QR code through the in-process simulator.
    async fn pay(&self, id: &str, amount: &str) {
        let order = json!({"subject": "Longjing tea", "total_amount": amount, "out_trade_no": id});
        self.call("POST", "/v1/orders", Some(order)).await;
        let qr = json!({"method": "qr"});
        let payment = self
            .call("POST", &format!("/v1/orders/{id}/payments"), Some(qr))
            .await;
        let scan = reqwest::get(payment["qr_code"].as_str().expect("qr_code"))
            .await
            .expect("scan");
        assert!(scan.status().is_success());
        let url = format!("{}/sim/control/trades/{id}/pay", self.base);
        let paid = self.http.post(url).send().await.expect("pay");
        assert!(paid.status().is_success());
        self.wait_for_status(id, "paid").await;
    }

    async fn wait_for_status(&self, id: &str, status: &str) {
        let path = format!("/v1/orders/{id}");
        poll(&format!("{id} {status}"), || async {
            self.call("GET", &path, None).await["status"] == status
        })
        .await;
    }

    async fn wait_for_a_failed_attempt(&self, event_id: &str) {
        let path = format!("/v1/events/{event_id}");
        poll(&format!("a failed attempt of {event_id}"), || async {
            let event = self.call("GET", &path, None).await;
            event["deliveries"][0]["attempts"]
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|a| a["error"].is_string()))
        })
        .await;
    }

    /// Every event, oldest first, page by page.
    async fn events(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut path = "/v1/events?limit=2".to_owned();
        loop {
            let page = self.call("GET", &path, None).await;
            all.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/events?limit=2&after={cursor}"),
                None => return all,
            }
        }
    }
}

impl Drop for Payport {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `from` line by line to the end (so that payport never blocks on a full
/// pipe) into `logs`; sends the address of the "listening on" line to `address`.
fn read_lines(
    from: impl std::io::Read + Send + 'static,
    logs: Arc<Mutex<Vec<String>>>,
    address: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if let (Some(tx), Some(rest)) = (&address, line.split("listening on http://").nth(1)) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
            logs.lock().expect("logs").push(line);
        }
    });
}

/// Polls `check` until it holds; panics naming `what` after [`PATIENCE`].
async fn poll<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
