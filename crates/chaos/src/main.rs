//! payport's load-and-chaos harness: a standalone simulator and N payport instances
//! (`custom` mode) on one fresh PostgreSQL database; M paid orders; R refund attempts
//! at once through random instances, some over the refundable amount and some retries
//! under the same key or out_request_no, while the gateway fails in every way the
//! simulator can, notifications come twice and out of order, and instances are killed
//! with SIGKILL and started again. Then, once every refund is final, payport's books
//! are checked against the simulator's and every answer against the spec; one verdict
//! line says what was found. Exits non-zero unless it passes.

// Rates and durations are measurements, not money: floats are right here.
#![allow(clippy::float_arithmetic)]

mod chaos;
mod check;
mod client;
mod cluster;
mod orders;
mod plan;
mod settle;
mod spec;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use clap::Parser;
use payport_procs::{self as procs, PgDatabase};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::client::{Api, Outcome};
use crate::cluster::Cluster;

#[derive(Parser)]
#[command(about = "Load and chaos harness of payport (see the README's Chaos harness)")]
struct Args {
    /// payport instances, all on one database.
    #[arg(long, default_value_t = 3)]
    instances: usize,
    /// Paid orders, 10.00 each.
    #[arg(long, default_value_t = 1000)]
    orders: usize,
    /// Refund attempts, fired at once over the orders (at least 2 per order).
    #[arg(long, default_value_t = 10_000)]
    attempts: usize,
    /// SIGKILLs of a random instance, each followed by its restart.
    #[arg(long, default_value_t = 3)]
    kills: usize,
    /// Attempts in flight at once.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Seconds from the first attempt until every attempt must have its answer and
    /// every refund must be final.
    #[arg(long, default_value_t = 1200)]
    deadline_secs: u64,
    /// Seed of every random choice (default: the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// The payport binary (default: built now with the harness's profile).
    #[arg(long)]
    payport: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.instances > 0, "--instances must be at least 1");
    ensure!(
        args.orders > 0 && args.attempts >= 2 * args.orders,
        "--attempts must be at least twice --orders, so that every order is asked for more than it has"
    );
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let payport = procs::payport_binary(args.payport.clone())?;
    let load_before = procs::load_average();
    let dir = tempfile::tempdir()?;
    let pg = PgDatabase::create("payport_chaos").await?;
    let result = run(&args, seed, &payport, &pg.url(), dir.path()).await;
    let dropped = pg.drop_now().await;
    let logs = dir.path().display().to_string();
    let verdict = match result {
        Ok(verdict) => verdict,
        Err(e) => {
            let _ = dir.keep();
            return Err(e.context(format!("seed {seed}; logs in {logs}")));
        }
    };
    dropped.context("dropping the harness database")?;
    println!("{} (seed {seed}, load {load_before} before)", verdict.line);
    if verdict.pass {
        return Ok(());
    }
    for example in &verdict.examples {
        eprintln!("  {example}");
    }
    let _ = dir.keep();
    anyhow::bail!("the chaos run failed; logs in {logs}")
}

struct Verdict {
    pass: bool,
    line: String,
    examples: Vec<String>,
}

async fn run(
    args: &Args,
    seed: u64,
    payport: &std::path::Path,
    database_url: &str,
    dir: &std::path::Path,
) -> anyhow::Result<Verdict> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let cluster = Cluster::start(payport, database_url, dir, args.instances).await?;
    let sim = cluster.sim.url.clone();
    let api = Api::new(cluster.urls())?;
    let run_id = seed.to_string();
    eprintln!(
        "{} instances up; making {} paid orders",
        args.instances, args.orders
    );
    orders::make_paid_orders(api.clone(), sim.clone(), &run_id, args.orders).await?;
    let order_nos: Vec<String> = (0..args.orders)
        .map(|i| plan::order_no(&run_id, i))
        .collect();
    let attempts = Arc::new(plan::plan(&run_id, args.orders, args.attempts, &mut rng));

    eprintln!(
        "firing {} refund attempts; faults and {} kills meanwhile",
        attempts.len(),
        args.kills
    );
    let stop = Arc::new(AtomicBool::new(false));
    let faults = tokio::spawn(chaos::inject_faults(
        sim.clone(),
        stop.clone(),
        SmallRng::seed_from_u64(seed ^ 1),
    ));
    let killer = tokio::spawn(chaos::kill_and_restart(
        cluster,
        args.kills,
        SmallRng::seed_from_u64(seed ^ 2),
    ));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.deadline_secs);
    let (outcomes, most) = fire(&api, &attempts, args.in_flight, deadline, seed, &stop).await?;
    let most = most.saturating_duration_since(started);
    let answered = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let fault_counts = faults.await??;
    chaos::clear_faults(&sim).await?;
    let mut cluster = killer.await??;

    eprintln!("every attempt answered; waiting for every refund to be final");
    let finals = settle::final_refunds(&api, &order_nos, deadline).await?;
    let converged = started.elapsed().saturating_sub(answered);
    cluster.check_alive()?;
    let report: Vec<Value> = reqwest::get(format!("{sim}/control/refund-report"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let findings = check::check(&order_nos, &finals, &report, &attempts, &outcomes);
    let tally = api.tally.lock().unwrap_or_else(|e| e.into_inner());
    let pass = findings.pass(tally.undocumented);
    let faults_set: usize = fault_counts
        .iter()
        .filter(|(name, _)| !name.starts_with("notifications"))
        .map(|(_, n)| n)
        .sum();
    let f = &findings;
    let retries = |kind| attempts.iter().filter(|a| a.kind == kind).count();
    let line = format!(
        "chaos verdict: {}: {} instances, {} orders, {} attempts ({} same-key and {} \
         same-out_request_no retries; answers {}; no answer x{}), {} kills, {faults_set} \
         gateway faults; {} refunds succeeded ({} yuan), {} failed, {} refused over the \
         refundable amount on {} orders, {} repeats at the gateway; {} ledger mismatches, \
         {} double refunds, {} unbacked, {} not final, {} undocumented answers, {} key \
         mismatches, {} out_request_no mismatches, {} wrong refunds, {} without an answer, \
         {} unexpected refusals, {} refused with a refund, {} unrecorded at payport; \
         {:.1} attempts/s (95% answered in {:.1} s, all in {:.1} s), all final {:.1} s later",
        if pass { "PASS" } else { "FAIL" },
        args.instances,
        args.orders,
        attempts.len(),
        retries(plan::Kind::SameKey),
        retries(plan::Kind::SameOutRequestNo),
        tally.refund_statuses(),
        tally.no_answer,
        args.kills,
        f.succeeded,
        plan::yuan(f.refunded_fen),
        f.failed,
        f.refused,
        f.orders_with_refusals,
        f.gateway_repeats,
        f.ledger_mismatches,
        f.double_refunds,
        f.unbacked,
        f.not_final,
        tally.undocumented,
        f.key_mismatches,
        f.out_request_no_mismatches,
        f.wrong_refunds,
        f.gave_up,
        f.unexpected_refusals,
        f.refused_with_a_refund,
        f.unrecorded,
        (attempts.len() * 95 / 100) as f64 / most.as_secs_f64().max(1e-9),
        most.as_secs_f64(),
        answered.as_secs_f64(),
        converged.as_secs_f64(),
    );
    eprintln!("faults set: {fault_counts:?}");
    let mut examples = tally.examples.clone();
    examples.extend(findings.examples.iter().cloned());
    Ok(Verdict {
        pass,
        line,
        examples,
    })
}

/// Sends every attempt, `in_flight` at a time, each until it has its answer; stops the
/// gateway faults once 95 in 100 have one, so that the stragglers (keys held by a
/// killed instance) are not all that is left under fault. Returns the answers, and
/// when 95 in 100 had come (the rest mostly wait for the leases of killed requests).
async fn fire(
    api: &Arc<Api>,
    attempts: &Arc<Vec<plan::Attempt>>,
    in_flight: usize,
    deadline: Instant,
    seed: u64,
    stop: &AtomicBool,
) -> anyhow::Result<(Vec<Outcome>, Instant)> {
    let mut most = None;
    let mut outcomes = vec![Outcome::GaveUp("not sent".into()); attempts.len()];
    let mut tasks = JoinSet::new();
    let (mut next, mut done) = (0, 0);
    while next < attempts.len() || !tasks.is_empty() {
        while next < attempts.len() && tasks.len() < in_flight {
            let (api, attempts, i) = (api.clone(), attempts.clone(), next);
            tasks.spawn(async move {
                let mut rng = SmallRng::seed_from_u64(seed.wrapping_add(i as u64));
                (i, api.refund(&attempts[i], deadline, &mut rng).await)
            });
            next += 1;
        }
        if let Some(joined) = tasks.join_next().await {
            let (i, outcome) = joined?;
            outcomes[i] = outcome;
            done += 1;
            if done * 100 >= attempts.len() * 95 && most.is_none() {
                stop.store(true, Ordering::Relaxed);
                most = Some(Instant::now());
            }
        }
    }
    Ok((outcomes, most.unwrap_or_else(Instant::now)))
}
