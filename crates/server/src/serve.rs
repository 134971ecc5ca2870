//! Running the HTTP server.

use std::net::SocketAddr;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

/// Where to listen and what to store in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// `host:port`; port 0 picks a free port.
    pub listen: String,
    /// `sqlite://path` or `postgres://…`.
    pub database_url: String,
}

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

/// Migrates the database, binds `listen`, reports the bound address through
/// `on_bound`, and serves until `shutdown` resolves.
///
/// # Errors
/// The database cannot be opened or migrated, the address cannot be bound, or the
/// server fails.
pub async fn serve(
    config: &ServeConfig,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _store = open_store(&config.database_url).await?;
    serve_endpoint(&config.listen, crate::app::app(), on_bound, shutdown).await
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
    let bound = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().copied())
        .context("the listener has no socket address")?;
    on_bound(bound);
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
