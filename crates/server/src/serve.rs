//! Running the HTTP server.

use std::net::SocketAddr;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

/// Binds `listen` (port 0 picks a free port), reports the bound address through
/// `on_bound`, and serves until `shutdown` resolves.
///
/// # Errors
/// The address cannot be bound, or the server fails.
pub async fn serve(
    listen: &str,
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
        .run_with_graceful_shutdown(crate::app::app(), shutdown, None)
        .await
        .context("the HTTP server failed")
}
