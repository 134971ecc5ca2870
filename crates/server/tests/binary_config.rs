//! The `payport` binary with a bad configuration, a closed stdout or a pipe for its
//! logs: it says every problem at once and touches no database, it never panics on
//! a closed pipe, and it writes no colour codes where no terminal reads them.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `payport args...` in `dir` with only the given `PAYPORT_*` variables, to the end.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_payport"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PAYPORT_") {
            command.env_remove(name);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run payport")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_configuration_is_refused_before_any_database_is_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pem");
    let out = run(
        dir.path(),
        &[],
        &[
            ("PAYPORT_LISTEN", "127.0.0.1:0"),
            (
                "PAYPORT_ALIPAY__APP_PRIVATE_KEY",
                missing.to_str().expect("utf-8"),
            ),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("PAYPORT_ALIPAY__APP_PRIVATE_KEY"),
        "{}",
        stderr(&out)
    );
    assert!(
        !dir.path().join("payport.db").exists(),
        "no database was created for a configuration that cannot start"
    );
}

#[test]
fn every_configuration_problem_is_reported_at_once_one_line_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("payport.toml"), "listn = \"127.0.0.1:0\"\n").expect("toml");
    let out = run(
        dir.path(),
        &[],
        &[
            ("PAYPORT_ALIPAY__MODE", "prodution"),
            ("PAYPORT_REFUNDS__WINDOW_DAYS", "0"),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = |needle: &str| err.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        line(
            r#"PAYPORT_ALIPAY__MODE must be one of simulator, sandbox, production, custom; got "prodution""#
        ),
        1,
        "{err}"
    );
    assert_eq!(line("PAYPORT_REFUNDS__WINDOW_DAYS"), 1, "{err}");
    assert_eq!(line("listn"), 1, "{err}");
    assert!(!err.contains("alloc::"), "no Rust type names: {err}");
    assert!(!dir.path().join("payport.db").exists());
}

#[test]
fn openapi_into_a_closed_pipe_exits_quietly() {
    // `payport openapi | head -1`: the reader goes away at once. The document is
    // larger than a pipe holds (64 KiB), so some write always meets the closed pipe.
    let mut child = Command::new(env!("CARGO_BIN_EXE_payport"))
        .arg("openapi")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run payport openapi");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{:?}: {err}", out.status);
}

#[test]
fn logs_through_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/../../keys");
    let mut child = Command::new(env!("CARGO_BIN_EXE_payport"))
        .args(["sim", "--listen", "127.0.0.1:0", "--keys", keys])
        .current_dir(dir.path())
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn payport sim");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains("listening on") {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    let started = Instant::now();
    let seen = loop {
        if let Ok(seen) = rx.recv_timeout(Duration::from_millis(200)) {
            break seen;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no log line");
    };
    let _ = child.kill();
    let _ = child.wait();
    let logs = String::from_utf8_lossy(&seen);
    assert!(logs.contains("listening on"), "{logs}");
    assert!(
        !logs.contains("\x1b["),
        "colour codes in piped logs: {logs:?}"
    );
}

#[test]
fn database_passwords_never_reach_start_up_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    for url in [
        "postgres://payport:se/cr@et@127.0.0.1:1/payport",
        "postgres://payport@127.0.0.1:1/payport?password=secret-in-query",
        "postgres://127.0.0.1:1/payport?sslmode=disable&sslpassword=secret-ssl",
    ] {
        let out = run(dir.path(), &["migrate", "--database-url", url], &[]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{url}: {err}");
        assert!(err.contains("cannot open the database"), "{url}: {err}");
        for secret in ["se/cr", "cr@et", "secret-in-query", "secret-ssl"] {
            assert!(!err.contains(secret), "{url}: {err}");
        }
    }
}
