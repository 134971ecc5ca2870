//! One run: a fresh database and payport, a gateway, and the phases in order, each
//! feeding the next with the orders it got through; against the simulator, then the
//! simulator alone, with payport stopped.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::alone::Direct;
use crate::dbtx::{Reading, TxCounter};
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

/// The simulator-alone phases' names (the report finds the refunds' by it).
const SIM_PRECREATE: &str = "simulator alone: precreate + pay";
pub const SIM_REFUND: &str = "simulator alone: refund (full)";

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
    /// Whether to count payport's database transactions per phase (PostgreSQL only;
    /// it waits [`crate::dbtx::SETTLE`] after each phase, and twice before the first).
    pub count_db_tx: bool,
}

/// What one run measured.
#[derive(Debug)]
pub struct RunResult {
    pub setup: Setup,
    pub phases: Vec<PhaseStats>,
    pub peak_rss_kb: u64,
    /// From spawning payport (migrations included) to its first healthy answer.
    pub startup: Duration,
    /// The 1-minute load average before the run.
    pub load_before: String,
}

pub async fn run(setup: Setup, payport: &Path, ticks_per_sec: u64) -> anyhow::Result<RunResult> {
    let load_before = procs::load_average();
    let dir = tempfile::tempdir()?;
    let (database_url, pg) = match setup.db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.path().join("payport.db").display()),
            None,
        ),
        Db::Postgres => {
            let pg = PgDatabase::create("payport_bench").await?;
            (pg.url(), Some(pg))
        }
    };
    let result = run_on(setup, payport, ticks_per_sec, &database_url, dir.path())
        .await
        .map(|r| RunResult { load_before, ..r });
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
    let limit = setup.phase;
    let (tx, settled) = match setup.db {
        Db::Postgres if setup.count_db_tx => {
            let (tx, at_rest) = TxCounter::connect(database_url).await?;
            (Some(tx), Some(at_rest))
        }
        _ => (None, None),
    };
    let mut driver = Driver {
        shop,
        concurrency: setup.concurrency,
        target,
        tx,
        settled,
    };
    let mut phases = Vec::new();

    let prefix = format!("bench{}n", chrono::Utc::now().timestamp_millis());
    let ids = (0..setup.max_orders).map(move |i| format!("{prefix}{i}"));
    let (stats, orders) = driver
        .step("create order", ids, limit, Shop::create_order)
        .await?;
    phases.push(stats);
    let (stats, orders) = driver
        .step(
            "start payment (page)",
            orders,
            limit,
            Shop::start_page_payment,
        )
        .await?;
    phases.push(stats);
    let (stats, started) = driver
        .step("start payment (qr)", orders, limit, Shop::start_payment)
        .await?;
    phases.push(stats);
    // Untimed: the buyer pays at Alipay, and Alipay signs its notifications.
    let no_limit = Duration::from_secs(3600);
    let (paying, paid) = driver
        .step("buyer pays", started, no_limit, Shop::buyer_pays)
        .await?;
    anyhow::ensure!(
        paying.errors == 0,
        "paying at the gateway failed: {:?}",
        paying.first_errors
    );
    let forms = sign_notifications(paid).await?;
    let (stats, notified) = driver
        .step("notification (signed)", forms, limit, Shop::notify)
        .await?;
    phases.push(stats);
    let (stats, _) = driver
        .step("refund (full)", notified, limit, Shop::refund)
        .await?;
    let refunded = stats.ok;
    phases.push(stats);
    let pages = std::iter::repeat_n((), setup.max_pages);
    let (stats, _) = driver
        .step("GET /v1/orders (20)", pages, limit, |s, ()| s.list_orders())
        .await?;
    phases.push(stats);

    server.check_alive()?;
    let peak_rss_kb = procs::peak_rss_kb(target.pid)?;
    let startup = server.startup;
    if let Some(sim) = &sim {
        // payport stops first: its catch-up checks would otherwise query the simulator
        // while it is measured alone.
        drop(server);
        phases.extend(simulator_alone(&mut driver, sim, refunded, setup).await?);
    }
    Ok(RunResult {
        setup,
        phases,
        peak_rss_kb,
        startup,
        load_before: String::new(),
    })
}

/// What the simulator sustains with nobody but the bench calling it: paid trades made
/// straight at it (timed, but what matters is the refunds), then their full refunds,
/// at the run's concurrency. `refunds` is how many payport got through, so the trades
/// suffice for three times payport's rate.
async fn simulator_alone(
    driver: &mut Driver,
    sim: &Proc,
    refunds: usize,
    setup: Setup,
) -> anyhow::Result<Vec<PhaseStats>> {
    // payport is gone: nothing of its to count.
    driver.tx = None;
    let direct = Arc::new(Direct::new(driver.shop.clone())?);
    let target = Target {
        pid: sim.pid(),
        ..driver.target
    };
    let prefix = format!("alone{}n", chrono::Utc::now().timestamp_millis());
    let trades = (refunds * 3).max(200).min(setup.max_orders);
    let ids = (0..trades).map(move |i| format!("{prefix}{i}"));
    let no_limit = Duration::from_secs(3600);
    let (paying, paid) = driver
        .step_on(SIM_PRECREATE, target, ids, no_limit, {
            let direct = direct.clone();
            move |id| direct.clone().paid_trade(id)
        })
        .await?;
    let (refunding, _) = driver
        .step_on(SIM_REFUND, target, paid, setup.phase, move |trade| {
            direct.clone().refund(trade)
        })
        .await?;
    Ok(vec![paying, refunding])
}

/// Runs phases of the shop's requests.
struct Driver {
    shop: Arc<Shop>,
    concurrency: usize,
    target: Target,
    /// Counts payport's database transactions, on PostgreSQL.
    tx: Option<TxCounter>,
    /// The count as the last phase ended, settled: the next one's start.
    settled: Option<Reading>,
}

impl Driver {
    async fn step<T, U, F, Fut>(
        &mut self,
        name: &'static str,
        items: impl IntoIterator<Item = T, IntoIter: Send + 'static>,
        limit: Duration,
        request: F,
    ) -> anyhow::Result<(PhaseStats, Vec<U>)>
    where
        T: Send + 'static,
        U: Send + 'static,
        F: Fn(Arc<Shop>, T) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<U, String>> + Send,
    {
        let shop = self.shop.clone();
        let work = move |item| request(shop.clone(), item);
        let target = self.target;
        self.step_on(name, target, items, limit, work).await
    }

    /// [`Driver::step`] with any `work`, its CPU read from `target`.
    async fn step_on<T, U, F, Fut>(
        &mut self,
        name: &'static str,
        target: Target,
        items: impl IntoIterator<Item = T, IntoIter: Send + 'static>,
        limit: Duration,
        work: F,
    ) -> anyhow::Result<(PhaseStats, Vec<U>)>
    where
        T: Send + 'static,
        U: Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<U, String>> + Send,
    {
        let before = match (&self.tx, self.settled.take()) {
            (Some(_), Some(reading)) => Some(reading),
            (Some(tx), None) => Some(tx.settled().await?),
            (None, _) => None,
        };
        let (mut stats, outputs) = phase::run(
            name,
            items.into_iter(),
            self.concurrency,
            limit,
            target,
            work,
        )
        .await?;
        if let (Some(tx), Some(before)) = (&self.tx, before) {
            let after = tx.settled().await?;
            stats.db_tx = Some(tx.between(before, after));
            self.settled = Some(after);
        }
        Ok((stats, outputs))
    }
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
