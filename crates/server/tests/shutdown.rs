//! The real `payport` binary stopped by SIGTERM while a refund is in flight: it takes
//! no new connection, answers the refund with its real outcome, and exits 0. Alipay
//! is a standalone `payport sim` whose refunds answer slowly (a `delay` fault), so the
//! refund is still waiting for Alipay when the signal comes.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const MERCHANT: &str = "m-shutdown-test-token";
/// How long the simulator holds each refund's answer: ample time to send the signal
/// and to see the listener closed while the refund still waits.
const REFUND_DELAY_MS: u64 = 6_000;
/// How long the test waits for anything before it fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// Kills the child on drop so a failing test never leaves a process running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `payport args` with `env`; returns it once a stdout line contains `marker`,
/// with what follows the marker up to the next space (the address).
fn start(
    args: &[&str],
    env: &[(&str, String)],
    dir: &Path,
    marker: &'static str,
) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_payport"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = Running(command.spawn().expect("spawn payport"));
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading so the child never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split(marker).nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let started = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(addr) => return (child, addr),
            Err(_) if started.elapsed() < PATIENCE => {
                assert!(
                    child.0.try_wait().expect("poll").is_none(),
                    "{args:?} exited early"
                );
            }
            Err(_) => panic!("{args:?} did not log {marker:?}"),
        }
    }
}

async fn call(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = match method {
        "POST" => http.post(url),
        "PUT" => http.put(url),
        _ => http.get(url),
    }
    .bearer_auth(MERCHANT);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An order paid at the simulator, and synced until payport has it paid.
async fn paid_order(http: &reqwest::Client, base: &str, sim: &str, id: &str) {
    let order = json!({"subject": "Longjing tea", "total_amount": "8.80", "out_trade_no": id});
    let (status, answer) = call(http, "POST", &format!("{base}/v1/orders"), Some(order)).await;
    assert_eq!(status, 201, "{answer}");
    let qr = json!({"method": "qr"});
    let (status, payment) = call(
        http,
        "POST",
        &format!("{base}/v1/orders/{id}/payments"),
        Some(qr),
    )
    .await;
    assert_eq!(status, 200, "{payment}");
    let scanned = http
        .get(payment["qr_code"].as_str().expect("qr_code"))
        .send()
        .await;
    assert!(scanned.expect("scan").status().is_success());
    let (status, trade) = call(
        http,
        "POST",
        &format!("{sim}/control/trades/{id}/pay"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{trade}");
    let started = Instant::now();
    loop {
        let (_, order) = call(http, "POST", &format!("{base}/v1/orders/{id}/sync"), None).await;
        if order["status"] == "paid" {
            return;
        }
        assert!(started.elapsed() < PATIENCE, "never paid: {order}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a new TCP connection to `addr` is refused.
async fn refused(addr: &str) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn sigterm_finishes_the_refund_in_flight_refuses_new_connections_and_exits_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_sim, sim_addr) = start(
        &["sim", "--listen", "127.0.0.1:0"],
        &[],
        dir.path(),
        "Alipay simulator listening on http://",
    );
    let sim = format!("http://{sim_addr}");
    let env = [
        ("PAYPORT_LISTEN", "127.0.0.1:0".to_owned()),
        (
            "PAYPORT_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("payport.db").display()),
        ),
        ("PAYPORT_ALIPAY__MODE", "custom".to_owned()),
        ("PAYPORT_ALIPAY__GATEWAY_URL", format!("{sim}/gateway.do")),
        ("PAYPORT_AUTH__MERCHANT_TOKENS", MERCHANT.to_owned()),
        (
            "PAYPORT_AUTH__OPERATOR_TOKENS",
            "op-shutdown-test-token".to_owned(),
        ),
    ];
    let (mut payport, addr) = start(&[], &env, dir.path(), "payport listening on http://");
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    paid_order(&http, &base, &sim, "SHUTDOWN_1").await;

    let slow =
        json!({"methods": {"alipay.trade.refund": {"kind": "delay", "ms": REFUND_DELAY_MS}}});
    let (status, faults) = call(&http, "PUT", &format!("{sim}/control/faults"), Some(slow)).await;
    assert!(status < 300, "{faults}");
    let refund = tokio::spawn({
        let http = http.clone();
        let url = format!("{base}/v1/orders/SHUTDOWN_1/refunds");
        async move { call(&http, "POST", &url, Some(json!({"amount": "3.00"}))).await }
    });
    // Alipay made the refund and holds its answer: the request is in flight.
    let started = Instant::now();
    loop {
        let (_, refunds) = call(&http, "GET", &format!("{sim}/control/refunds"), None).await;
        if refunds.as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the refund never reached Alipay"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pid = payport.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.expect("kill").success());
    while !refused(&addr).await {
        assert!(
            started.elapsed() < PATIENCE,
            "payport kept accepting connections"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !refund.is_finished(),
        "the listener closed while the refund was still in flight"
    );

    let (status, answer) = refund.await.expect("refund task");
    assert_eq!(status, 201, "the refund's real answer: {answer}");
    assert_eq!(answer["status"], "succeeded", "{answer}");
    let exited = tokio::task::spawn_blocking(move || payport.0.wait())
        .await
        .expect("wait task")
        .expect("wait");
    assert_eq!(exited.code(), Some(0), "{exited:?}");
}
