//! `payport sim`: the offline Alipay on its own port.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use payport_alipay_sim::{SimCerts, SimConfig, Simulator, SystemClock};

/// How to run the standalone simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub listen: String,
    /// A folder with other keys under the DEV key files' names
    /// (`dev_app_public_spki.pem`, `dev_alipay_private_pkcs8.pem`); default: the DEV
    /// keys built into the binary.
    pub keys: Option<PathBuf>,
    /// Load and save the books here, so a demo survives restarts.
    pub state: Option<PathBuf>,
    /// `None`: a fresh seed, so ids never repeat across restarts.
    pub seed: Option<u64>,
    /// What one minute of Alipay's notification retry schedule lasts, in milliseconds.
    pub notify_minute_ms: u64,
    /// A JSON file of faults in force from the start (as `PUT /control/faults` takes).
    pub faults: Option<PathBuf>,
    /// Certificate mode, with the DEV certificates (or those under `keys`, by the
    /// DEV certificate files' names).
    pub cert_mode: bool,
}

/// Builds the simulator from the DEV keys and the options.
///
/// # Errors
/// The keys cannot be read, or the state file is not the simulator's.
pub fn simulator(options: &SimOptions) -> anyhow::Result<Simulator> {
    let read = |dir: &PathBuf, name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let mut config = match &options.keys {
        None => SimConfig::dev(),
        Some(dir) => SimConfig::dev_with_keys(
            &read(dir, "dev_app_public_spki.pem")?,
            &read(dir, "dev_alipay_private_pkcs8.pem")?,
        )
        .map_err(anyhow::Error::msg)?,
    };
    if options.cert_mode {
        config.certs = Some(match &options.keys {
            None => SimCerts::dev(),
            Some(dir) => SimCerts::from_pems(
                &read(dir, "dev_app_cert.pem")?,
                &read(dir, "dev_alipay_cert.pem")?,
                &read(dir, "dev_alipay_root_bundle.pem")?,
            )
            .map_err(anyhow::Error::msg)?,
        });
    }
    config.state_file.clone_from(&options.state);
    if let Some(seed) = options.seed {
        config.seed = seed;
    }
    config.notify_minute = Duration::from_millis(options.notify_minute_ms);
    if let Some(path) = &options.faults {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        config.faults = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a faults file", path.display()))?;
    }
    Simulator::new(config, Arc::new(SystemClock)).map_err(anyhow::Error::msg)
}

/// Serves the simulator at the root of `listen` until `shutdown`.
///
/// # Errors
/// As [`simulator`], or the address cannot be bound.
pub async fn run(
    options: &SimOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sim = simulator(options).context("cannot start the Alipay simulator")?;
    crate::serve::serve_endpoint(
        &options.listen,
        sim.endpoint(),
        |addr| {
            tracing::info!(
                "Alipay simulator listening on http://{addr} ; OpenAPI http://{addr}/gateway.do , legacy http://{addr}/mapi/gateway.do , control http://{addr}/control/trades"
            );
        },
        shutdown,
    )
    .await
}
