//! The processes under load: payport and the standalone simulator as children, their
//! CPU and memory from /proc, and the database each run gets fresh. Shared by the
//! load bench, the chaos harness and the server's crash-point tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The merchant token payport is started with.
pub const TOKEN: &str = "bench-merchant-token";
/// Where the PostgreSQL of the bench and the harness is (trust authentication).
const PG_HOST: &str = "127.0.0.1";
const PG_PORT: u16 = 5432;
const PG_USER: &str = "postgres";

/// A free loopback port, as the OS hands one out.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The `payport` binary: `--payport`, else the one next to the running binary (the
/// bench's or the harness's), built now with the same profile (a release bench
/// measures a release payport).
pub fn payport_binary(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "-q", "-p", "payport-server", "--bin", "payport"]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build
        .status()
        .context("cannot run cargo to build payport")?;
    if !status.success() {
        bail!("building payport failed");
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("the running binary has no folder")?;
    Ok(dir.join("payport"))
}

/// A child process, killed when dropped.
pub struct Proc {
    child: Child,
    pub url: String,
    /// From spawn to the first healthy answer.
    pub startup: Duration,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when the process has exited (with its status).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            Some(status) => bail!("process {} exited: {status}", self.child.id()),
            None => Ok(()),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `payport sim` on a free port (the bench pays its trades without
/// notifications and posts its own).
pub async fn start_sim(payport: &Path, log: &Path) -> anyhow::Result<Proc> {
    start_sim_with(payport, log, &[]).await
}

/// [`start_sim`] with more `payport sim` arguments (e.g. `--notify-minute-ms`).
pub async fn start_sim_with(payport: &Path, log: &Path, args: &[&str]) -> anyhow::Result<Proc> {
    let port = free_port()?;
    let mut command = Command::new(payport);
    command.args(["sim", "--listen", &format!("127.0.0.1:{port}")]);
    command.args(args);
    spawn(
        command,
        format!("http://127.0.0.1:{port}"),
        "/control/faults",
        log,
    )
    .await
}

/// Starts payport serving on a free port, against `gateway` (a `gateway.do` URL).
pub async fn start_payport(
    payport: &Path,
    database_url: &str,
    gateway: &str,
    dir: &Path,
) -> anyhow::Result<Proc> {
    let instance = Instance {
        port: free_port()?,
        database_url,
        gateway,
        dir,
        env: &[],
        log: &dir.join("payport.log"),
    };
    start_instance(payport, &instance).await
}

/// How one payport instance is started.
pub struct Instance<'a> {
    pub port: u16,
    pub database_url: &'a str,
    /// A `gateway.do` URL (`custom` mode).
    pub gateway: &'a str,
    /// Its working directory (no stray payport.toml).
    pub dir: &'a Path,
    /// More `PAYPORT_*` settings.
    pub env: &'a [(&'a str, String)],
    pub log: &'a Path,
}

/// Starts payport as `instance` says, answering once `/healthz` does.
pub async fn start_instance(payport: &Path, instance: &Instance<'_>) -> anyhow::Result<Proc> {
    let port = instance.port;
    let mut command = Command::new(payport);
    command
        .current_dir(instance.dir)
        .env("PAYPORT_LISTEN", format!("127.0.0.1:{port}"))
        .env("PAYPORT_DATABASE_URL", instance.database_url)
        .env("PAYPORT_ALIPAY__MODE", "custom")
        .env("PAYPORT_ALIPAY__GATEWAY_URL", instance.gateway)
        .env("PAYPORT_AUTH__MERCHANT_TOKENS", TOKEN)
        .env("PAYPORT_RECONCILIATION__ENABLED", "false")
        .env("RUST_LOG", "warn");
    for (key, value) in instance.env {
        command.env(key, value);
    }
    spawn(
        command,
        format!("http://127.0.0.1:{port}"),
        "/healthz",
        instance.log,
    )
    .await
}

async fn spawn(mut command: Command, url: String, probe: &str, log: &Path) -> anyhow::Result<Proc> {
    // Appended: a restarted process keeps its predecessor's lines.
    let out = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)?;
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let mut proc = Proc {
        child,
        url,
        startup: Duration::ZERO,
    };
    let http = reqwest::Client::new();
    let deadline = started + Duration::from_secs(30);
    loop {
        proc.check_alive()
            .with_context(|| format!("see {}", log.display()))?;
        if let Ok(reply) = http.get(format!("{}{probe}", proc.url)).send().await {
            if reply.status().is_success() {
                proc.startup = started.elapsed();
                return Ok(proc);
            }
        }
        if Instant::now() > deadline {
            bail!(
                "{} did not answer within 30 s; see {}",
                proc.url,
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Clock ticks per second of /proc's CPU times.
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// utime + stime of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: fields are counted after its closing ')'.
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| -> anyhow::Result<u64> {
        Ok(fields.get(i).context("short /proc stat")?.parse()?)
    };
    // Fields 14 and 15 of stat(5); the state (field 3) is index 0 here.
    Ok(field(11)? + field(12)?)
}

/// utime + stime, in clock ticks, of every process named `postgres` (the server and
/// its backends: all databases, so other users of the server count too).
pub fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| cpu_ticks(pid).ok())
        .sum()
}

/// The machine's (busy, total) CPU ticks over all its CPUs, from /proc/stat.
pub fn machine_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("empty /proc/stat")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let total: u64 = ticks.iter().take(8).sum();
    // idle and iowait
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

/// The 1-minute load average: how busy the machine was before a run.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Peak resident memory (VmHWM) of `pid`, in kB.
pub fn peak_rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("odd VmHWM")?
        .parse()?)
}

/// A fresh, empty PostgreSQL database (payport migrates it at start), dropped with
/// [`PgDatabase::drop_now`].
pub struct PgDatabase {
    pub name: String,
}

impl PgDatabase {
    /// A database named `{prefix}_{pid}_{nanos}`.
    pub async fn create(prefix: &str) -> anyhow::Result<PgDatabase> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos();
        let name = format!("{prefix}_{}_{nanos}", std::process::id());
        admin(&format!("CREATE DATABASE {name}")).await?;
        Ok(PgDatabase { name })
    }

    pub fn url(&self) -> String {
        format!("postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{}", self.name)
    }

    /// Drops the database, closing what payport left open.
    pub async fn drop_now(self) -> anyhow::Result<()> {
        admin(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .await
    }
}

async fn admin(statement: &str) -> anyhow::Result<()> {
    let config = format!("host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres");
    let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {PG_HOST}:{PG_PORT}"))?;
    let task = tokio::spawn(connection);
    client.batch_execute(statement).await?;
    drop(client);
    let _ = task.await;
    Ok(())
}
