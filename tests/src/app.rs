//! payport in-process on a free loopback port, with explicit tokens, short gateway
//! timeouts, the repo's DEV keys, and a database of the test's own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use payport_server::config::Config;
use payport_server::state::AppState;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::db::{Backend, PgDatabase};

pub const MERCHANT_TOKEN: &str = "m-token";
pub const OPERATOR_TOKEN: &str = "op-token";
/// payport's read timeout towards Alipay in these tests: simulator delays longer than
/// this are timeouts.
pub const GATEWAY_TIMEOUT_MS: u64 = 1_500;

/// The repository root.
pub fn repo_path(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// The configuration every test starts from.
pub fn base_config(database_url: String) -> Config {
    let keys = repo_path("keys");
    let defaults = Config::default();
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url,
        // The background loops stay out of the way; tests call `run_worker_once` and
        // `run_reconciliation_once`.
        worker_interval_secs: 3_600,
        ..defaults
    };
    config.alipay.app_private_key = Some(keys.join("dev_app_private_pkcs8.pem"));
    config.alipay.alipay_public_key = Some(keys.join("dev_alipay_public_spki.pem"));
    config.alipay.timeout_ms = GATEWAY_TIMEOUT_MS;
    config.alipay.connect_timeout_ms = 1_000;
    config.auth.merchant_tokens = vec![MERCHANT_TOKEN.into()];
    config.auth.operator_tokens = vec![OPERATOR_TOKEN.into()];
    // Off, so that `run_worker_once` does only what a test expects of it; the
    // reconciliation tests turn it on.
    config.reconciliation.enabled = false;
    config
}

/// A running payport; stops when dropped (its PostgreSQL database is then dropped too).
pub struct TestApp {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub database_url: String,
    /// What the request handlers and the worker use.
    pub state: Arc<AppState>,
    pub(crate) http: reqwest::Client,
    /// How far the simulator's clock was moved ahead of payport's, in seconds: orders
    /// are then given that much more time to pay, or Alipay would see them expired.
    pub(crate) sim_ahead_secs: std::sync::atomic::AtomicU64,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), String>>>,
    // Dropped after the server: the SQLite file's folder, the PostgreSQL database.
    _data: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

impl TestApp {
    /// Starts payport on 127.0.0.1 (port chosen by the OS) on `backend`, after `tweak`
    /// has adjusted the configuration. `None` when PostgreSQL is unreachable outside
    /// CI (the skip is reported on stderr): the test then returns early and passes.
    ///
    /// # Panics
    /// When the server cannot start: the test cannot go on.
    pub async fn spawn(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let data = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", data.path().join("payport.db").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = PgDatabase::create().await?;
                (pg.url(), Some(pg))
            }
        };
        Some(TestApp::start(backend, database_url, data, pg, tweak).await)
    }

    /// A second payport on this one's database (as several instances share one
    /// production database), with its own port, simulator and background tasks. Drop
    /// it before this one, which owns the database.
    ///
    /// # Panics
    /// When the server cannot start.
    pub async fn beside(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let data = tempfile::tempdir().expect("temp dir");
        TestApp::start(self.backend, self.database_url.clone(), data, None, tweak).await
    }

    async fn start(
        backend: Backend,
        database_url: String,
        data: tempfile::TempDir,
        pg: Option<PgDatabase>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = base_config(database_url.clone());
        tweak(&mut config);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let mut server = tokio::spawn(async move {
            payport_server::serve::serve(
                &config,
                move |addr, wired| {
                    let _ = ready_tx.send((addr, wired.state.clone()));
                },
                async move {
                    let _ = stop_rx.await;
                },
            )
            .await
            .map_err(|e| format!("{e:#}"))
        });
        let (addr, state) = match ready_rx.await {
            Ok(ready) => ready,
            Err(_) => {
                let why = match (&mut server).await {
                    Ok(Err(e)) => e,
                    other => format!("{other:?}"),
                };
                panic!("payport did not start: {why}");
            }
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        TestApp {
            addr,
            backend,
            database_url,
            state,
            http,
            sim_ahead_secs: std::sync::atomic::AtomicU64::new(0),
            stop: Some(stop),
            server: Some(server),
            _data: data,
            _pg: pg,
        }
    }

    /// SQLite, default settings: always available.
    ///
    /// # Panics
    /// When the server cannot start.
    pub async fn sqlite() -> TestApp {
        TestApp::spawn(Backend::Sqlite, |_| {})
            .await
            .expect("SQLite is always available")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// One pass of the background worker (due refund syncs, expired orders); returns
    /// how many rows it took.
    pub async fn run_worker_once(&self) -> usize {
        payport_server::worker::run_once(&self.state).await
    }

    /// One pass of the daily reconciliation loop (the past week's days not done, as
    /// payport's clock sees them); returns the days it ran, `YYYY-MM-DD`.
    pub async fn run_reconciliation_once(&self) -> Vec<String> {
        let ran = payport_server::worker::reconcile_due(&self.state).await;
        ran.iter().map(ToString::to_string).collect()
    }

    /// Stops the server and waits for it to finish serving.
    ///
    /// # Panics
    /// When the server ended with an error.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("clean shutdown");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
