//! Running the HTTP server: binding, wiring (which migrates the database first),
//! serving, and the background worker beside it, until a graceful shutdown
//! ([`crate::lifecycle`]).

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

use crate::config::Config;
use crate::state::Wired;
use crate::wiring::{Payport, PayportBuilder};

/// Binds `config.listen`, wires payport with the built-in adapters (migrating the
/// database first), reports the bound address, and serves until `shutdown` resolves;
/// then shuts down gracefully (see [`crate::lifecycle`]).
///
/// # Errors
/// The address cannot be bound, or wiring fails (keys, settings, database).
pub async fn serve(
    config: &Config,
    on_ready: impl FnOnce(SocketAddr, &Wired),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Payport::builder(config.clone())
        .serve(on_ready, shutdown)
        .await
}

impl PayportBuilder {
    /// Binds `listen`, wires payport ([`PayportBuilder::build`]; the public URL
    /// defaults to the bound address), reports the bound address, and serves the HTTP
    /// API with the background worker and the webhook delivery loop until `shutdown`
    /// resolves. Then it takes no new connection and no new background item, finishes
    /// the requests in flight and the items under way within `shutdown_timeout_secs`,
    /// and leaves the database's list of instances.
    ///
    /// # Errors
    /// The address cannot be bound, or wiring fails (keys, settings, database).
    pub async fn serve(
        self,
        on_ready: impl FnOnce(SocketAddr, &Wired),
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let config = self.config();
        let listen = config.listen.clone();
        let interval = std::time::Duration::from_secs(config.worker_interval_secs.max(1));
        let acceptor = TcpListener::bind(listen.as_str())
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let bound = bound_addr(&acceptor)?;
        let public_url = self
            .public_url
            .clone()
            .or_else(|| config.public_url.clone())
            .unwrap_or_else(|| format!("http://{bound}"));
        let wired = self.public_url(public_url).build().await?;
        let state = wired.state.clone();
        crate::lifecycle::register(&state).await?;
        on_ready(bound, &wired);
        let stop = crate::lifecycle::Stop::new();
        let heartbeat = crate::lifecycle::spawn_heartbeat(state.clone(), stop.receiver());
        let mut background = crate::worker::spawn(state.clone(), interval, stop.receiver());
        if state.metrics_enabled {
            crate::telemetry::exporter::spawn_upkeep(stop.receiver());
        }
        background.push(crate::deliveries::spawn(state.clone(), stop.receiver()));
        let served = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                crate::app::app(&wired),
                stop.on(shutdown),
                Some(state.instance.shutdown_timeout),
            )
            .await
            .context("the HTTP server failed");
        stop.finish(&state, background, heartbeat).await;
        served
    }
}

/// The start-up lines: where the API, its docs and the simulator are, and the DEV
/// tokens when none are configured (printed once, with a warning).
pub fn announce(addr: SocketAddr, config: &Config, wired: &Wired) {
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    // One line with everything a newcomer opens first.
    let simulator = if wired.sim.is_some() {
        format!(
            " ; Alipay simulator cashier {public}/sim/cashier/<out_trade_no> (offline, no real money)"
        )
    } else {
        String::new()
    };
    // What this instance runs against, for whoever reads the log after an incident.
    tracing::info!(
        database = %crate::wiring::redact(&config.database_url),
        alipay = config.alipay.mode.as_str(),
        alipay_keys = if config.is_cert_mode() { "certificates" } else { "public key" },
        refund_approval = %crate::config::values::approval::to_text(config.refunds.approval),
        "payport listening on http://{addr} ; API docs {public}/docs{simulator}"
    );
    if let Some(tokens) = &wired.dev_tokens {
        tracing::warn!(
            "no auth tokens configured: using DEV tokens (merchant {}, operator {}); set PAYPORT_AUTH__MERCHANT_TOKENS and PAYPORT_AUTH__OPERATOR_TOKENS",
            tokens.merchant.join(","),
            tokens.operator.join(",")
        );
    }
}

fn bound_addr(acceptor: &impl Acceptor) -> anyhow::Result<SocketAddr> {
    acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().copied())
        .context("the listener has no socket address")
}

/// Binds `listen`, reports the bound address, and serves `endpoint` until `shutdown`.
///
/// # Errors
/// The address cannot be bound, or the server fails.
pub async fn serve_endpoint(
    listen: &str,
    endpoint: impl poem::Endpoint + 'static,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let acceptor = TcpListener::bind(listen)
        .into_acceptor()
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    on_bound(bound_addr(&acceptor)?);
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(endpoint, shutdown, None)
        .await
        .context("the HTTP server failed")
}
