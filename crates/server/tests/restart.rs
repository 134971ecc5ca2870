//! The default run, restarted on the same SQLite file: the in-process simulator must
//! not hand out the trade_nos and notify_ids of the previous run again, or the next
//! payment's notification is taken for a duplicate and dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const MERCHANT: &str = "Bearer dev-merchant-token";

/// Kills the child on drop so a failing test never leaves a server running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `payport` with no config in `dir`; returns it once it logs its address.
fn start(dir: &Path) -> (Running, String) {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_payport"))
            .current_dir(dir)
            .env("PAYPORT_LISTEN", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn payport"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        // Keep reading so the child never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                if !sent {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        }
    });
    let started = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(addr) => return (child, addr),
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                assert!(
                    child.0.try_wait().expect("poll").is_none(),
                    "payport exited early"
                );
            }
            Err(_) => panic!("payport did not log its address within 30 s"),
        }
    }
}

async fn call(http: &reqwest::Client, method: &str, url: &str, body: Option<Value>) -> Value {
    let mut request = match method {
        "POST" => http.post(url),
        _ => http.get(url),
    }
    .header("Authorization", MERCHANT);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "{method} {url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// One shop order paid through the simulator, the notification applied, then synced.
async fn pay_one(addr: &str, id: &str) -> Value {
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let order = json!({"subject": "Longjing tea", "total_amount": "8.80", "out_trade_no": id});
    call(&http, "POST", &format!("{base}/v1/orders"), Some(order)).await;
    let qr = json!({"method": "qr"});
    let payment = call(
        &http,
        "POST",
        &format!("{base}/v1/orders/{id}/payments"),
        Some(qr),
    )
    .await;
    let qr_code = payment["qr_code"].as_str().expect("qr_code");
    assert!(http
        .get(qr_code)
        .send()
        .await
        .expect("scan")
        .status()
        .is_success());
    let paid = http
        .post(format!("{base}/sim/control/trades/{id}/pay"))
        .send()
        .await
        .expect("pay");
    assert!(
        paid.status().is_success(),
        "{}",
        paid.text().await.unwrap_or_default()
    );

    let started = Instant::now();
    let order = loop {
        let order = call(&http, "GET", &format!("{base}/v1/orders/{id}"), None).await;
        if order["status"] == "paid" || started.elapsed() > Duration::from_secs(10) {
            break order;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        order["status"], "paid",
        "the notification was applied: {order}"
    );
    let synced = call(&http, "POST", &format!("{base}/v1/orders/{id}/sync"), None).await;
    assert_eq!(synced["status"], "paid", "{synced}");
    synced
}

#[tokio::test]
async fn two_default_runs_on_the_same_database_both_take_payments() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys");
    std::fs::create_dir(dir.path().join("keys")).expect("keys dir");
    for entry in std::fs::read_dir(keys).expect("repo keys") {
        let entry = entry.expect("entry");
        let to = dir.path().join("keys").join(entry.file_name());
        std::fs::copy(entry.path(), to).expect("copy key");
    }

    let (first_run, addr) = start(dir.path());
    let first = pay_one(&addr, "RESTART_1").await;
    drop(first_run);

    let (second_run, addr) = start(dir.path());
    let second = pay_one(&addr, "RESTART_2").await;
    assert_ne!(first["trade_no"], second["trade_no"]);
    // The first run's order is still there, as it was.
    let http = reqwest::Client::new();
    let old = call(
        &http,
        "GET",
        &format!("http://{addr}/v1/orders/RESTART_1"),
        None,
    )
    .await;
    assert_eq!(old["status"], "paid");
    assert_eq!(old["trade_no"], first["trade_no"]);
    drop(second_run);
}
