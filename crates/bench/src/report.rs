//! The results as markdown, every figure next to the backend's raw rates.

use std::fmt::Write;

use crate::phase::PhaseStats;
use crate::rates::Rates;
use crate::run::{Gateway, RunResult, SIM_REFUND};

/// Every unexpected answer of every run, one line each; with `every`, also each order
/// step that did not get that many orders through.
pub fn failures(results: &[RunResult], every: Option<usize>) -> Vec<String> {
    let mut lines = Vec::new();
    for r in results {
        for p in r.phases.iter().filter(|p| p.errors > 0) {
            lines.push(format!(
                "{} / {}: {} failed, e.g. {:?}",
                label(r),
                p.name,
                p.errors,
                p.first_errors
            ));
        }
        if r.phases.iter().any(|p| p.ok == 0) {
            lines.push(format!("{}: a phase got nothing through", label(r)));
        }
        if let Some(n) = every {
            for p in r
                .phases
                .iter()
                .filter(|p| !p.name.starts_with("GET") && p.ok != n)
            {
                lines.push(format!("{} / {}: {} of {n} orders", label(r), p.name, p.ok));
            }
        }
    }
    lines
}

fn label(r: &RunResult) -> String {
    let s = r.setup;
    format!("{:?} / {:?} / c{}", s.db, s.gateway, s.concurrency).to_lowercase()
}

/// The smoke pass: counts only.
pub fn smoke_line(r: &RunResult) -> String {
    let counts: Vec<String> = r
        .phases
        .iter()
        .map(|p| format!("{} {} ok", p.name, p.ok))
        .collect();
    format!("smoke {}: {}", label(r), counts.join(", "))
}

/// The raw rates, one table of every run, and the ratios the targets are written in.
pub fn markdown(rates: &Rates, results: &[RunResult]) -> String {
    let mut out = String::new();
    let sign_ms = 1e3 / rates.sign_1;
    let verify_ms = 1e3 / rates.verify_1;
    let _ = writeln!(
        out,
        "RSA2 backend `{}`, raw: sign {:.0}/s (1 thread), {:.0}/s (2 threads); \
         verify {:.0}/s (1 thread), {:.0}/s (2 threads). One sign = {:.3} ms CPU, one verify = {:.3} ms.\n",
        Rates::backend(),
        rates.sign_1,
        rates.sign_2,
        rates.verify_1,
        rates.verify_2,
        sign_ms,
        verify_ms
    );
    let _ = writeln!(
        out,
        "| db | gateway | c | operation | ops/s | p50 ms | p99 ms | payport CPU ms/op | db tx/op | ops/s ÷ raw 2-thread sign | CPU/op ÷ one sign |"
    );
    let _ = writeln!(out, "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|");
    for r in results {
        let s = r.setup;
        for p in &r.phases {
            // Counted on PostgreSQL only.
            let db_tx = p
                .db_tx_per_op()
                .map_or_else(|| "-".to_owned(), |tx| format!("{tx:.2}"));
            let _ = writeln!(
                out,
                "| {:?} | {:?} | {} | {} | {:.0} | {:.1} | {:.1} | {:.3} | {} | {:.2}x | {:.2}x |",
                s.db,
                s.gateway,
                s.concurrency,
                p.name,
                p.ops_per_sec(),
                p.quantile_ms(0.5),
                p.quantile_ms(0.99),
                p.cpu_ms_per_op(),
                db_tx,
                p.ops_per_sec() / rates.sign_2,
                p.cpu_ms_per_op() / sign_ms,
            );
        }
    }
    if results.iter().any(|r| r.setup.gateway == Gateway::Sim) {
        let _ = writeln!(
            out,
            "\nIn the `simulator alone` rows, payport is stopped and the CPU is the \
             simulator's; the bench signs and verifies, as payport does in the other rows."
        );
    }
    let _ = writeln!(
        out,
        "\nWhere the machine's CPU went, per operation (PostgreSQL: every `postgres` \
         process, other databases' work included; on SQLite the database runs inside payport):\n"
    );
    let _ = writeln!(
        out,
        "| db | gateway | c | operation | payport ms/op | PostgreSQL ms/op | bench ms/op | machine busy |"
    );
    let _ = writeln!(out, "|---|---|--:|---|--:|--:|--:|--:|");
    for r in results {
        let s = r.setup;
        for p in &r.phases {
            let postgres = match s.db {
                crate::run::Db::Postgres => format!("{:.3}", p.postgres_ms_per_op()),
                crate::run::Db::Sqlite => "-".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {:?} | {:?} | {} | {} | {:.3} | {} | {:.3} | {:.0}% |",
                s.db,
                s.gateway,
                s.concurrency,
                p.name,
                p.cpu_ms_per_op(),
                postgres,
                p.bench_ms_per_op(),
                p.elsewhere.machine_busy * 100.0,
            );
        }
    }
    let _ = writeln!(
        out,
        "\n| db | gateway | c | load before | peak RSS (VmHWM) | start-up with migrations | key ratios |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|---|");
    for r in results {
        let s = r.setup;
        let _ = writeln!(
            out,
            "| {:?} | {:?} | {} | {} | {:.1} MB | {} ms | {} |",
            s.db,
            s.gateway,
            s.concurrency,
            r.load_before,
            r.peak_rss_kb as f64 / 1024.0,
            r.startup.as_millis(),
            ratios(rates, &r.phases)
        );
    }
    out
}

/// starting a payment (page: signing only; QR: signing and a call to the gateway)
/// against the raw 2-thread sign rate; a notification against the raw
/// 2-thread verify rate; a refund's CPU against one sign plus one verify; refunds
/// through the simulator against the simulator alone.
fn ratios(rates: &Rates, phases: &[PhaseStats]) -> String {
    let find = |prefix: &str| phases.iter().find(|p| p.name.starts_with(prefix));
    let mut parts = Vec::new();
    for (name, label) in [
        ("start payment (page)", "page payment"),
        ("start payment (qr)", "QR payment"),
    ] {
        if let Some(p) = find(name) {
            parts.push(format!(
                "{label} = {:.2}x raw 2-thread sign",
                p.ops_per_sec() / rates.sign_2
            ));
        }
    }
    if let Some(p) = find("notification") {
        parts.push(format!(
            "notification = {:.3}x raw 2-thread verify",
            p.ops_per_sec() / rates.verify_2
        ));
    }
    if let Some(p) = find("refund") {
        let crypto_ms = 1e3 / rates.sign_1 + 1e3 / rates.verify_1;
        parts.push(format!(
            "refund CPU = one sign + one verify + {:.3} ms",
            p.cpu_ms_per_op() - crypto_ms
        ));
    }
    if let (Some(through), Some(alone)) = (find("refund"), find(SIM_REFUND)) {
        parts.push(format!(
            "refunds through the simulator = {:.2}x the simulator alone",
            through.ops_per_sec() / alone.ops_per_sec().max(1e-9)
        ));
    }
    parts.join("; ")
}
