//! The `payport` binary itself, as the README runs it: it starts with no config from
//! any directory, logs where it listens, answers /healthz, and refuses a bad
//! configuration before it touches a database.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Kills the child on drop so a failing test never leaves a server running.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `payport args...` in `dir` (with `envs` set) and waits for the log line
/// naming its address; returns the address, that line, and the lines logged after it.
fn start_logged(
    args: &[&str],
    dir: &std::path::Path,
    marker: &str,
    envs: &[(&str, &str)],
) -> (Running, String, String, Receiver<String>) {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_payport"))
            .args(args)
            .current_dir(dir)
            .env("PAYPORT_LISTEN", "127.0.0.1:0")
            // Colour must follow the terminal, not this variable: see the log tests.
            .env_remove("NO_COLOR")
            .env("RUST_LOG", "info")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn payport"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    loop {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.split(marker).nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    return (child, addr, line, lines);
                }
            }
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

fn start(args: &[&str], dir: &std::path::Path, marker: &str) -> (Running, String) {
    let (child, addr, _, _) = start_logged(args, dir, marker, &[]);
    (child, addr)
}

#[tokio::test]
async fn the_binary_starts_with_no_config_in_an_empty_directory_and_answers_healthz() {
    // No keys/ folder, no payport.toml: the DEV keys are built into the binary.
    let dir = tempfile::tempdir().expect("temp dir");
    let (child, addr, line, _) = start_logged(&[], dir.path(), "listening on http://", &[]);
    // One line gives the docs and the simulator's cashier.
    assert!(line.contains(&format!("http://{addr}/docs")), "{line}");
    assert!(
        line.contains(&format!("http://{addr}/sim/cashier/")),
        "{line}"
    );
    assert!(
        !line.contains('\x1b'),
        "no colour codes through a pipe: {line:?}"
    );
    let body = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "ok");
    assert!(
        dir.path().join("payport.db").exists(),
        "SQLite payport.db in the working directory is the default store"
    );
    drop(child);
}

/// `PAYPORT_LOG_FORMAT=json`: every line is one JSON object; the start-up line names
/// the database (password masked), the Alipay mode and the approval policy; each
/// request gets one access line with its id, route, status and time.
#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_access_fields() {
    let dir = tempfile::tempdir().expect("temp dir");
    let envs = [
        ("PAYPORT_LOG_FORMAT", "json"),
        ("PAYPORT_REFUNDS__APPROVAL", "manual"),
    ];
    let (child, addr, first, lines) = start_logged(&[], dir.path(), "listening on http://", &envs);
    let start: serde_json::Value = serde_json::from_str(&first).expect("a JSON start-up line");
    assert_eq!(start["level"], "INFO", "{start}");
    assert_eq!(start["database"], "sqlite://payport.db", "{start}");
    assert_eq!(start["alipay"], "simulator", "{start}");
    assert_eq!(start["refund_approval"], "manual", "{start}");
    let answered = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .header("x-request-id", "probe-1")
        .send()
        .await
        .expect("request");
    assert_eq!(answered.status(), 200);
    let access = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("an access line");
        let entry: serde_json::Value = serde_json::from_str(&line).expect("JSON, every line");
        if entry["message"] == "handled" {
            break entry;
        }
    };
    assert_eq!(access["request_id"], "probe-1", "{access}");
    assert_eq!(access["route"], "/healthz", "{access}");
    assert_eq!(access["status"], 200, "{access}");
    assert!(access["ms"].is_u64(), "{access}");
    drop(child);
}

#[tokio::test]
async fn an_unknown_log_format_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_payport"))
        .arg("migrate")
        .args(["--database-url", "sqlite://unused.db"])
        .current_dir(tempfile::tempdir().expect("temp dir").path())
        .env("PAYPORT_LOG_FORMAT", "xml")
        .output()
        .expect("run payport");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PAYPORT_LOG_FORMAT must be text or json"),
        "{stderr}"
    );
}

#[tokio::test]
async fn payport_sim_serves_both_gateways_standalone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/../../keys");
    let args = ["sim", "--listen", "127.0.0.1:0", "--keys", keys];
    let (child, addr) = start(&args, dir.path(), "simulator listening on http://");
    let trades = reqwest::get(format!("http://{addr}/control/trades"))
        .await
        .expect("request");
    assert_eq!(trades.text().await.expect("body"), "[]");
    let unsigned = reqwest::get(format!("http://{addr}/gateway.do"))
        .await
        .expect("request");
    let body = unsigned.text().await.expect("body");
    assert!(body.contains("isv.missing-method"), "{body}");
    let legacy = reqwest::get(format!("http://{addr}/mapi/gateway.do"))
        .await
        .expect("request");
    assert_ne!(legacy.status(), 404, "the legacy gateway is served too");
    drop(child);
}

/// `payport reconcile` against a standalone simulator moved to the next Beijing noon
/// (so that nothing here depends on this machine's date): that day is pending (exit
/// 3) until the simulator's clock passes its midnight; then its bill (empty, the
/// simulator has no trades) completes with exit 0. A bad date is unusable input
/// (exit 2). The report is JSON on stdout, logs on stderr.
#[tokio::test]
async fn payport_reconcile_prints_the_report_and_says_pending_by_its_exit_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/../../keys");
    let args = ["sim", "--listen", "127.0.0.1:0", "--keys", keys];
    let (sim, addr) = start(&args, dir.path(), "simulator listening on http://");
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let advance = |seconds: i64| {
        let url = format!("http://{addr}/control/clock/advance");
        async move {
            let reply: serde_json::Value = reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({ "seconds": seconds }))
                .send()
                .await
                .expect("advance the simulator's clock")
                .json()
                .await
                .expect("its time");
            let now = reply["now"].as_str().expect("now");
            chrono::DateTime::parse_from_rfc3339(now)
                .expect("RFC 3339")
                .with_timezone(&beijing)
        }
    };
    let now = advance(0).await;
    let noon = now.date_naive().and_hms_opt(12, 0, 0).expect("noon");
    let wait = (noon - now.naive_local()).num_seconds();
    let day = advance(if wait > 0 { wait } else { wait + 86_400 })
        .await
        .date_naive();
    let reconcile = |date: String| {
        Command::new(env!("CARGO_BIN_EXE_payport"))
            .args(["reconcile", "--date", &date])
            .current_dir(dir.path())
            .env("PAYPORT_ALIPAY__MODE", "custom")
            .env(
                "PAYPORT_ALIPAY__GATEWAY_URL",
                format!("http://{addr}/gateway.do"),
            )
            .env("PAYPORT_DATABASE_URL", "sqlite://r.db")
            .output()
            .expect("run payport reconcile")
    };
    let pending = reconcile(day.to_string());
    assert_eq!(pending.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&pending.stdout).expect("JSON");
    assert_eq!(report["status"], "pending", "{report:#}");
    // Absent, as every field without a value: no bill was compared.
    assert_eq!(report.get("counts"), None, "{report:#}");

    advance(86_400).await;
    let done = reconcile(day.to_string());
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).expect("JSON on stdout");
    assert_eq!(report["status"], "completed", "{report:#}");
    assert_eq!(report["counts"]["matched"], 0);
    assert_eq!(report["attempts"], 2, "the pending report was run again");

    let bad = reconcile("2026-02-30".into());
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--date must be a date"));
    drop(sim);
}

#[test]
fn migrate_creates_the_schema_and_running_it_again_is_harmless() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_payport"))
            .args(["migrate", "--database-url", &url])
            .output()
            .expect("run payport migrate");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("is up to date"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_payport"))
        .args(["migrate", "--database-url", "mysql://nope"])
        .output()
        .expect("run payport migrate");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the database mysql://nope"));
}

/// `payport webhook verify` with the committed vector: the exit code says valid (0),
/// invalid (1, with the reason) or unusable (2).
#[test]
fn webhook_verify_checks_a_delivery_like_a_receiver() {
    use std::io::Write;

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/webhook-signature.json"
    );
    let vector: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vector")).expect("JSON");
    let text = |key: &str| vector[key].as_str().expect(key).to_owned();
    let (secret, header, body) = (text("secret"), text("header"), text("body"));
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_payport"))
            .args(["webhook", "verify"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn payport");
        let mut stdin = child.stdin.take().expect("stdin");
        // A refusal (a missing flag) may exit before reading its input.
        match stdin.write_all(input.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write body: {e}"),
            _ => {}
        }
        drop(stdin);
        let out = child.wait_with_output().expect("run");
        let answer = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.code(),
            answer,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let signed = ["--secret", &secret, "--signature", &header];

    // The vector is old: any age is accepted with --tolerance 0.
    let (code, out, _) = run(&[&signed[..], &["--tolerance", "0"]].concat(), &body);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("\"valid\": true"), "{out}");
    let (code, _, _) = run(
        &[&signed[..], &["--tolerance", "0"]].concat(),
        &format!("{body}\n"),
    );
    assert_eq!(code, Some(0), "a final newline from the shell is forgiven");

    let (code, out, _) = run(&signed, &body);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("outside_tolerance"),
        "by default t must be recent: {out}"
    );

    let wrong = [
        "--secret",
        "whsec_not_the_secret_at_all",
        "--signature",
        &header,
        "--tolerance",
        "0",
    ];
    let (code, out, _) = run(&wrong, &body);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("mismatch"), "{out}");
    let (code, out, _) = run(
        &[&signed[..], &["--tolerance", "0"]].concat(),
        &body.replace("88.88", "8.88"),
    );
    assert_eq!(code, Some(1), "a changed body: {out}");

    let (code, out, _) = run(&["--secret", &secret, "--signature", "v1=abc"], &body);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("malformed"), "{out}");

    let (code, _, err) = run(&["--signature", &header], &body);
    assert_eq!(code, Some(2), "--secret is required: {err}");
}

/// The README's curl walkthrough, run as written against the binary with no config:
/// the order ends paid after step 3 and refunded after step 4, with no fixed sleep
/// (the walkthrough waits for the `order.paid` event, so it cannot race the
/// notification).
#[test]
fn the_readme_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README");
    let script = readme
        .split("## The whole journey with curl")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("the walkthrough's sh block");
    assert!(!script.contains("sleep 1 "), "no fixed sleep: {script}");
    let dir = tempfile::tempdir().expect("temp dir");
    let (child, addr) = start(&[], dir.path(), "listening on http://");
    let script = script.replace("P=http://127.0.0.1:8080", &format!("P=http://{addr}"));
    assert!(script.contains(&format!("P=http://{addr}")), "{script}");
    let out = Command::new("bash")
        .args(["-eu", "-c", &script])
        .output()
        .expect("bash runs the walkthrough");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Step 3's order, then step 4's end: paid, then refunded with nothing left.
    let paid = stdout
        .find("\"status\":\"paid\"")
        .expect("paid after step 3");
    let after_paid = &stdout[paid..];
    assert!(after_paid.contains("\"status\":\"refunded\""), "{stdout}");
    assert!(
        after_paid.contains("\"refundable_amount\":\"0.00\""),
        "{stdout}"
    );
    assert!(stdout.contains("REFUND_EXCEEDS_REFUNDABLE"), "{stdout}");
    drop(child);
}
