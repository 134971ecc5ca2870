//! Running the HTTP server.

use std::net::SocketAddr;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

use crate::config::Config;
use crate::state::Wired;

/// Opens the database and brings its schema up to date BEFORE binding, so that no
/// request is ever served against an old schema.
///
/// # Errors
/// The database cannot be reached or migrated.
pub async fn open_store(database_url: &str) -> anyhow::Result<payport_store_diesel::DieselStore> {
    let store = payport_store_diesel::DieselStore::connect(database_url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(database_url)))?;
    let report = store
        .run_migrations()
        .await
        .context("cannot migrate the database")?;
    if !report.applied.is_empty() {
        tracing::info!(applied = ?report.applied, "database migrated");
    }
    Ok(store)
}

/// A database URL without its password, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Binds `config.listen`, wires payport (migrating the database first), reports the
/// bound address, and serves until `shutdown` resolves; the background worker stops
/// with it.
///
/// # Errors
/// The address cannot be bound, or wiring fails (keys, settings, database).
pub async fn serve(
    config: &Config,
    on_ready: impl FnOnce(SocketAddr, &Wired),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listen = config.listen.as_str();
    let acceptor = TcpListener::bind(listen)
        .into_acceptor()
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = bound_addr(&acceptor)?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let wired = crate::state::wire(config, &public_url).await?;
    on_ready(bound, &wired);
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    crate::worker::spawn(
        wired.state.clone(),
        std::time::Duration::from_secs(config.worker_interval_secs.max(1)),
        worker_stopped,
    );
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(crate::app::app(&wired), shutdown, None)
        .await
        .context("the HTTP server failed");
    let _ = stop_worker.send(true);
    served
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
    tracing::info!("payport listening on http://{addr} ; API docs {public}/docs{simulator}");
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
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
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

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_not_shown() {
        assert_eq!(
            super::redact("postgres://payport:s3cret@db:5432/payport"),
            "postgres://payport:***@db:5432/payport"
        );
        assert_eq!(
            super::redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(super::redact("sqlite://payport.db"), "sqlite://payport.db");
    }
}
