//! payport's HTTP load bench: starts payport (a child process, so that its CPU and
//! memory can be read from /proc) against the standalone simulator or an instant
//! in-process gateway, drives create order, start payment, signed notification,
//! refund and a page of orders at each concurrency (against the simulator, then the
//! same refunds straight at the simulator with payport stopped), and prints a markdown
//! table (with payport's database transactions per operation on PostgreSQL).
//!
//! `--smoke` checks only that every answer is right, never timings (CI runs it).

// Timings and rates are measurements, not money: floats are right here.
#![allow(clippy::float_arithmetic)]

mod alone;
mod dbtx;
mod flow;
mod instant;
mod phase;
mod rates;
mod report;
mod run;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
// Starting payport and the simulator, and the fresh databases (shared with the chaos harness).
use payport_procs as procs;

use crate::run::{Db, Gateway, Setup};

/// Orders the smoke pass takes from creation to refund.
const SMOKE_ORDERS: usize = 12;

#[derive(Parser)]
#[command(about = "HTTP load bench of payport (see docs/PERFORMANCE.md)")]
struct Args {
    /// Databases to run on, comma-separated. PostgreSQL: 127.0.0.1:5432, user
    /// postgres, a fresh database per run, dropped after.
    #[arg(long, value_delimiter = ',', default_value = "sqlite")]
    db: Vec<Db>,
    /// Gateways, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "sim,instant")]
    gateway: Vec<Gateway>,
    /// Concurrent clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    concurrency: Vec<usize>,
    /// Seconds each operation is driven for.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// A short, low-concurrency correctness pass: fails on any unexpected answer
    /// and prints no timings.
    #[arg(long)]
    smoke: bool,
    /// The payport binary (default: built now with the bench's profile).
    #[arg(long)]
    payport: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let payport = procs::payport_binary(args.payport.clone())?;
    let ticks = procs::clock_ticks();
    // The smoke pass takes a few orders through every step, however long that takes.
    let (concurrency, phase, max_orders, max_pages) = if args.smoke {
        (vec![4], Duration::from_secs(300), SMOKE_ORDERS, 20)
    } else {
        let phase = Duration::from_secs(args.seconds);
        (args.concurrency.clone(), phase, usize::MAX, usize::MAX)
    };
    let rates = if args.smoke {
        None
    } else {
        eprintln!(
            "measuring the raw {} sign and verify rates",
            rates::Rates::backend()
        );
        Some(rates::Rates::measure(Duration::from_secs(1))?)
    };
    let mut results = Vec::new();
    for &db in &args.db {
        for &gateway in &args.gateway {
            for &c in &concurrency {
                let setup = Setup {
                    db,
                    gateway,
                    concurrency: c,
                    phase,
                    max_orders,
                    max_pages,
                    // The smoke pass checks answers only: no 11 s waits for counts.
                    count_db_tx: !args.smoke,
                };
                let started = Instant::now();
                eprintln!("running {db:?} / {gateway:?} / c{c}");
                let result = run::run(setup, &payport, ticks).await?;
                eprintln!("  done in {}", run::elapsed_since(started));
                results.push(result);
            }
        }
    }
    let every = args.smoke.then_some(SMOKE_ORDERS);
    let failures = report::failures(&results, every);
    if args.smoke {
        for r in &results {
            println!("{}", report::smoke_line(r));
        }
    } else if let Some(rates) = rates {
        println!("{}", report::markdown(&rates, &results));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("unexpected answers:\n{}", failures.join("\n"))
    }
}
