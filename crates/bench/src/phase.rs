//! One timed phase: N tasks in a closed loop, each taking the next item and sending one
//! request, until the items run out or time is up; the measured process's CPU
//! (payport's, or the simulator's when it is measured alone) is read from /proc before
//! and after.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::procs::{cpu_ticks, machine_ticks, postgres_ticks};

/// What a phase measured.
#[derive(Debug, Clone)]
pub struct PhaseStats {
    pub name: &'static str,
    pub ok: usize,
    pub errors: usize,
    /// The first few errors, to say what went wrong.
    pub first_errors: Vec<String>,
    /// Sorted latencies of the successful requests.
    pub latencies: Vec<Duration>,
    pub wall: Duration,
    /// The measured process's CPU over the phase, in seconds.
    pub cpu_secs: f64,
    /// The CPU of PostgreSQL's processes and of the bench itself over the phase, in
    /// seconds, and the share of the machine's CPUs that was busy (0..=1).
    pub elsewhere: Elsewhere,
    /// payport's database transactions over the phase beyond its work at rest
    /// (PostgreSQL only; an estimate, hence not whole).
    pub db_tx: Option<f64>,
}

impl PhaseStats {
    pub fn ops_per_sec(&self) -> f64 {
        self.ok as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// The `q`-quantile latency (0..=1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let last = self.latencies.len() - 1;
        let i = ((last as f64) * q).round() as usize;
        self.latencies[i.min(last)].as_secs_f64() * 1e3
    }

    /// payport's database transactions per successful operation.
    pub fn db_tx_per_op(&self) -> Option<f64> {
        self.db_tx.map(|tx| tx / (self.ok.max(1) as f64))
    }

    /// The measured process's CPU per successful operation, in milliseconds.
    pub fn cpu_ms_per_op(&self) -> f64 {
        self.cpu_secs * 1e3 / (self.ok.max(1) as f64)
    }
}

/// Where the rest of the machine's CPU went during a phase.
#[derive(Debug, Clone, Copy, Default)]
pub struct Elsewhere {
    pub postgres_secs: f64,
    pub bench_secs: f64,
    pub machine_busy: f64,
}

impl PhaseStats {
    /// PostgreSQL's CPU per successful operation, in milliseconds.
    pub fn postgres_ms_per_op(&self) -> f64 {
        self.elsewhere.postgres_secs * 1e3 / (self.ok.max(1) as f64)
    }

    /// The bench's own CPU per successful operation, in milliseconds.
    pub fn bench_ms_per_op(&self) -> f64 {
        self.elsewhere.bench_secs * 1e3 / (self.ok.max(1) as f64)
    }
}

/// CPU readings at one moment: payport, PostgreSQL, the bench, the machine.
struct Readings {
    payport: u64,
    postgres: u64,
    bench: u64,
    machine: (u64, u64),
}

impl Readings {
    fn now(pid: u32) -> anyhow::Result<Readings> {
        Ok(Readings {
            payport: cpu_ticks(pid)?,
            postgres: postgres_ticks(),
            bench: cpu_ticks(std::process::id())?,
            machine: machine_ticks()?,
        })
    }
}

/// Where a phase reads the measured process's CPU (payport, or the simulator alone).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub pid: u32,
    pub ticks_per_sec: u64,
}

/// Runs `work` over `items` with `concurrency` tasks for at most `limit`; returns the
/// stats and the outputs of the successful items.
pub async fn run<T, U, F, Fut>(
    name: &'static str,
    items: impl Iterator<Item = T> + Send + 'static,
    concurrency: usize,
    limit: Duration,
    target: Target,
    work: F,
) -> anyhow::Result<(PhaseStats, Vec<U>)>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<U, String>> + Send,
{
    let items: Arc<Mutex<Box<dyn Iterator<Item = T> + Send>>> =
        Arc::new(Mutex::new(Box::new(items)));
    let work = Arc::new(work);
    // A line per phase, so that a profiler can be attached to the process it measures.
    eprintln!("  {name} (CPU of pid {})", target.pid);
    let before = Readings::now(target.pid)?;
    let started = Instant::now();
    let deadline = started + limit;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let items = items.clone();
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            while Instant::now() < deadline {
                let next = items.lock().map_err(|_| "poisoned")?.next();
                let Some(item) = next else { break };
                let sent = Instant::now();
                match work(item).await {
                    Ok(out) => {
                        latencies.push(sent.elapsed());
                        done.push(out);
                    }
                    Err(e) => errors.push(e),
                }
            }
            Ok::<_, &'static str>((done, latencies, errors))
        }));
    }
    let mut stats = PhaseStats {
        name,
        ok: 0,
        errors: 0,
        first_errors: Vec::new(),
        latencies: Vec::new(),
        wall: Duration::ZERO,
        cpu_secs: 0.0,
        elsewhere: Elsewhere::default(),
        db_tx: None,
    };
    let mut outputs = Vec::new();
    for task in tasks {
        let (done, latencies, errors) = task.await?.map_err(anyhow::Error::msg)?;
        stats.ok += done.len();
        outputs.extend(done);
        stats.latencies.extend(latencies);
        stats.errors += errors.len();
        stats.first_errors.extend(errors.into_iter().take(3));
    }
    stats.wall = started.elapsed();
    let after = Readings::now(target.pid)?;
    let secs = |a: u64, b: u64| a.saturating_sub(b) as f64 / target.ticks_per_sec as f64;
    stats.cpu_secs = secs(after.payport, before.payport);
    let (busy, total) = (
        after.machine.0.saturating_sub(before.machine.0),
        after.machine.1.saturating_sub(before.machine.1),
    );
    stats.elsewhere = Elsewhere {
        postgres_secs: secs(after.postgres, before.postgres),
        bench_secs: secs(after.bench, before.bench),
        machine_busy: busy as f64 / total.max(1) as f64,
    };
    stats.latencies.sort_unstable();
    stats.first_errors.truncate(3);
    Ok((stats, outputs))
}
