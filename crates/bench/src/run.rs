//! One run: a fresh database and payport, a gateway, and the five phases in order,
//! each feeding the next with the orders it got through.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::flow::{Notifier, Shop};
use crate::phase::{self, PhaseStats, Target};
use crate::procs::{self, PgDatabase, Proc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Db {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Gateway {
    /// The standalone simulator (`payport sim`), a child process of its own.
    Sim,
    /// Answers from memory inside the bench, still signed.
    Instant,
}

/// What one run is.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub db: Db,
    pub gateway: Gateway,
    pub concurrency: usize,
    /// How long each phase may last.
    pub phase: Duration,
    /// At most this many orders (the smoke pass keeps its signing short).
    pub max_orders: usize,
    /// At most this many pages of orders.
    pub max_pages: usize,
}

/// What one run measured.
#[derive(Debug)]
pub struct RunResult {
    pub setup: Setup,
    pub phases: Vec<PhaseStats>,
    pub peak_rss_kb: u64,
    /// From spawning payport (migrations included) to its first healthy answer.
    pub startup: Duration,
}

pub async fn run(setup: Setup, payport: &Path, ticks_per_sec: u64) -> anyhow::Result<RunResult> {
    let dir = tempfile::tempdir()?;
    let (database_url, pg) = match setup.db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.path().join("payport.db").display()),
            None,
        ),
        Db::Postgres => {
            let pg = PgDatabase::create().await?;
            (pg.url(), Some(pg))
        }
    };
    let result = run_on(setup, payport, ticks_per_sec, &database_url, dir.path()).await;
    if let Some(pg) = pg {
        pg.drop_now().await.context("dropping the bench database")?;
    }
    result
        .with_context(|| {
            format!(
                "payport's log: {}",
                dir.path().join("payport.log").display()
            )
        })
        .inspect_err(|_| {
            // Keep the folder with the logs for a look.
            let _ = dir.keep();
        })
}

async fn run_on(
    setup: Setup,
    payport: &Path,
    ticks_per_sec: u64,
    database_url: &str,
    dir: &Path,
) -> anyhow::Result<RunResult> {
    let (sim, gateway_url): (Option<Proc>, String) = match setup.gateway {
        Gateway::Sim => {
            let sim = procs::start_sim(payport, &dir.join("sim.log")).await?;
            let url = format!("{}/gateway.do", sim.url);
            (Some(sim), url)
        }
        Gateway::Instant => (None, crate::instant::start().await?),
    };
    let mut server = procs::start_payport(payport, database_url, &gateway_url, dir).await?;
    let target = Target {
        pid: server.pid(),
        ticks_per_sec,
    };
    let shop = Arc::new(Shop {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(setup.concurrency)
            .build()?,
        payport: server.url.clone(),
        sim: sim.as_ref().map(|s| s.url.clone()),
    });
    let (c, limit) = (setup.concurrency, setup.phase);
    let mut phases = Vec::new();

    let prefix = format!("bench{}n", chrono::Utc::now().timestamp_millis());
    let ids = (0..setup.max_orders).map(move |i| format!("{prefix}{i}"));
    let s = shop.clone();
    let (stats, orders) = phase::run("create order", ids, c, limit, target, move |o| {
        let s = s.clone();
        async move { s.create_order(o).await }
    })
    .await?;
    phases.push(stats);

    let s = shop.clone();
    let (stats, started) = phase::run(
        "start payment (qr)",
        orders.into_iter(),
        c,
        limit,
        target,
        move |o| {
            let s = s.clone();
            async move { s.start_payment(o).await }
        },
    )
    .await?;
    phases.push(stats);

    // Untimed: the buyer pays at Alipay, and Alipay signs its notifications.
    let s = shop.clone();
    let (paying, paid) = phase::run(
        "buyer pays",
        started.into_iter(),
        c,
        Duration::from_secs(3600),
        target,
        move |o| {
            let s = s.clone();
            async move { s.buyer_pays(o).await }
        },
    )
    .await?;
    anyhow::ensure!(
        paying.errors == 0,
        "paying at the gateway failed: {:?}",
        paying.first_errors
    );
    let forms = sign_notifications(paid).await?;

    let s = shop.clone();
    let (stats, notified) = phase::run(
        "notification (signed)",
        forms.into_iter(),
        c,
        limit,
        target,
        move |n| {
            let s = s.clone();
            async move { s.notify(n).await }
        },
    )
    .await?;
    phases.push(stats);

    let s = shop.clone();
    let (stats, _) = phase::run(
        "refund (full)",
        notified.into_iter(),
        c,
        limit,
        target,
        move |o| {
            let s = s.clone();
            async move { s.refund(o).await }
        },
    )
    .await?;
    phases.push(stats);

    let s = shop.clone();
    let (stats, _) = phase::run(
        "GET /v1/orders (20)",
        std::iter::repeat_n((), setup.max_pages),
        c,
        limit,
        target,
        move |()| {
            let s = s.clone();
            async move { s.list_orders().await }
        },
    )
    .await?;
    phases.push(stats);

    server.check_alive()?;
    Ok(RunResult {
        setup,
        phases,
        peak_rss_kb: procs::peak_rss_kb(target.pid)?,
        startup: server.startup,
    })
}

/// Signs one notification per paid order on two threads, before the timed phase.
async fn sign_notifications(paid: Vec<(String, String)>) -> anyhow::Result<Vec<(String, String)>> {
    let notifier = Arc::new(Notifier::new()?);
    let half = paid.len().div_ceil(2);
    let mut halves = Vec::new();
    let mut paid = paid;
    let second = paid.split_off(half.min(paid.len()));
    for part in [paid, second] {
        let notifier = notifier.clone();
        halves.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|(o, trade_no)| {
                    let form = notifier.notification(&o, &trade_no)?;
                    Ok((o, form))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        }));
    }
    let mut forms = Vec::new();
    for half in halves {
        forms.extend(half.await??);
    }
    Ok(forms)
}

/// How long a run took, for the log.
pub fn elapsed_since(started: Instant) -> String {
    format!("{:.1} s", started.elapsed().as_secs_f64())
}
