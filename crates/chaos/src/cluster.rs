//! The processes: one standalone simulator and N payport instances on one database,
//! each on a port of its own that it keeps across restarts.

use std::path::{Path, PathBuf};

use payport_procs::{self as procs, Instance, Proc};

pub struct Cluster {
    payport: PathBuf,
    dir: PathBuf,
    database_url: String,
    gateway: String,
    pub sim: Proc,
    ports: Vec<u16>,
    /// `None` while killed.
    instances: Vec<Option<Proc>>,
    /// Starts so far, per instance (each start logs to a file of its own).
    starts: Vec<u32>,
}

/// Settings of every instance: a pass of the worker every second (it settles the
/// unknown refunds), and a gateway timeout shorter than the simulator's delay fault.
fn settings() -> Vec<(&'static str, String)> {
    vec![
        ("PAYPORT_WORKER_INTERVAL_SECS", "1".to_owned()),
        ("PAYPORT_ALIPAY__TIMEOUT_MS", GATEWAY_TIMEOUT_MS.to_string()),
    ]
}

/// payport's read timeout on the gateway in the run; the delay fault is longer.
pub const GATEWAY_TIMEOUT_MS: u64 = 2000;

impl Cluster {
    /// Starts the simulator, then the instances one after another (the first migrates
    /// the fresh database).
    pub async fn start(
        payport: &Path,
        database_url: &str,
        dir: &Path,
        count: usize,
    ) -> anyhow::Result<Cluster> {
        let sim = procs::start_sim(payport, &dir.join("sim.log")).await?;
        let gateway = format!("{}/gateway.do", sim.url);
        let mut cluster = Cluster {
            payport: payport.to_owned(),
            dir: dir.to_owned(),
            database_url: database_url.to_owned(),
            gateway,
            sim,
            ports: Vec::new(),
            instances: Vec::new(),
            starts: Vec::new(),
        };
        for i in 0..count {
            cluster.ports.push(procs::free_port()?);
            cluster.instances.push(None);
            cluster.starts.push(0);
            cluster.restart(i).await?;
        }
        Ok(cluster)
    }

    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|port| format!("http://127.0.0.1:{port}"))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// SIGKILL, mid-whatever it was doing (dropping a child kills it so).
    pub fn kill(&mut self, i: usize) {
        self.instances[i] = None;
    }

    /// Starts instance `i` on its port again.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.starts[i] += 1;
        let log = self
            .dir
            .join(format!("payport{i}.start{}.log", self.starts[i]));
        let env = settings();
        let instance = Instance {
            port: self.ports[i],
            database_url: &self.database_url,
            gateway: &self.gateway,
            dir: &self.dir,
            env: &env,
            log: &log,
        };
        self.instances[i] = Some(procs::start_instance(&self.payport, &instance).await?);
        Ok(())
    }

    /// Fails if an instance or the simulator died by itself.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        self.sim.check_alive()?;
        for proc in self.instances.iter_mut().flatten() {
            proc.check_alive()?;
        }
        Ok(())
    }
}
