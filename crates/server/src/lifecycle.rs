//! One instance's life among others on one database. While it runs it beats a
//! heartbeat (`instances`), so that once it dies the `Idempotency-Key`s of its
//! requests are taken over by retries within a few beats. It stops gracefully: the
//! server stops accepting connections and finishes the requests in flight, the
//! background loops take no new item and finish the one under way, all within
//! `shutdown_timeout_secs`; then the instance leaves (its row is deleted, freeing any
//! key still in flight) and the process exits 0.

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::state::AppState;

/// Registers this instance (its first beat), so that its keys count as alive from
/// its first request.
///
/// # Errors
/// The database did not take the beat.
pub async fn register(state: &AppState) -> anyhow::Result<()> {
    let instance = &state.instance.id;
    state
        .idempotency
        .instance_beat(instance, state.clock.now())
        .await
        .with_context(|| format!("cannot register instance {instance}"))
}

/// Beats every `instance.heartbeat` until `stop` fires. A failed beat is logged and
/// tried again at the next: missing [`crate::state::Instance::SILENT_BEATS`] in a row
/// makes this instance's keys free for retries elsewhere.
pub fn spawn_heartbeat(state: Arc<AppState>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(state.instance.heartbeat) => {
                    let beat = state.idempotency.instance_beat(&state.instance.id, state.clock.now());
                    if let Err(e) = beat.await {
                        tracing::warn!(error = %e, "heartbeat not recorded; will retry");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    })
}

/// Tells the background loops to stop, and when that was: a graceful shutdown has
/// `shutdown_timeout` from then for everything.
pub struct Stop {
    sender: watch::Sender<bool>,
    at: Arc<OnceLock<Instant>>,
}

impl Stop {
    pub fn new() -> Stop {
        Stop {
            sender: watch::channel(false).0,
            at: Arc::default(),
        }
    }

    /// What the loops watch.
    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.sender.subscribe()
    }

    /// A future that resolves as `signal` does, stopping the loops at once, so that
    /// they wind down while the server drains its connections.
    pub fn on(
        &self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let sender = self.sender.clone();
        let at = self.at.clone();
        async move {
            signal.await;
            tracing::info!("shutting down: no new requests; finishing those in flight and the background work under way");
            at.get_or_init(Instant::now);
            let _ = sender.send(true);
        }
    }

    /// Stops the loops (if the signal has not: the server failed), waits for
    /// `tasks` until `timeout` after the stop, cuts short what is still running,
    /// then stops `heartbeat` and deletes this instance's row.
    pub async fn finish(
        &self,
        state: &AppState,
        tasks: Vec<JoinHandle<()>>,
        heartbeat: JoinHandle<()>,
    ) {
        let deadline = *self.at.get_or_init(Instant::now) + state.instance.shutdown_timeout;
        let _ = self.sender.send(true);
        for mut task in tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                // Its claims run out and another instance (or the next start) takes
                // the items over.
                tracing::warn!(
                    "background work still running at the shutdown timeout was cut short"
                );
                task.abort();
            }
        }
        heartbeat.abort();
        if let Err(e) = state.idempotency.instance_leave(&state.instance.id).await {
            // Its keys are freed anyway once it has been silent for a few beats.
            tracing::warn!(error = %e, "could not remove this instance's heartbeat");
        }
        tracing::info!("stopped");
    }
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}
