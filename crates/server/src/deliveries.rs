//! Webhook delivery: its own task beside the API, the callbacks and the worker, so a
//! slow or dead endpoint never slows them. It claims due deliveries in the database
//! (several instances never send one at the same time), sends up to
//! `webhooks.concurrency` at once, and records each attempt with what follows by the
//! retry schedule. A claim outlasts an attempt; one whose attempt was never recorded
//! (a crash) runs out and is sent again: delivery is at least once.
//!
//! The backlog (deliveries due and not claimed, and how long the oldest has waited) is
//! read for its gauges as the loop starts and then at most every [`BACKLOG_EVERY`]:
//! a depth that keeps growing means the endpoints cannot keep up with the events.
//!
//! Logged per attempt: the event id, the delivery, the endpoint's host and the status
//! code (by the sender as wired), then what follows; never a secret, a body or a
//! whole URL (it may carry the receiver's own token).

use std::sync::Arc;
use std::time::{Duration, Instant};

use payport_domain::ports::DeliveryBacklog;
use payport_domain::webhook::{DeliveryNext, DueDelivery};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::state::AppState;
use crate::telemetry::waited_secs;

/// How often the loop reads the backlog for its gauges: fresher than a scrape needs,
/// and too seldom to add to the database's load (the loop may claim many times a
/// second).
pub const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// Sets the backlog gauges from the database.
pub async fn export_backlog(state: &AppState) {
    let DeliveryBacklog { due, oldest_due_at } = match state.webhooks.backlog().await {
        Ok(backlog) => backlog,
        Err(e) => {
            tracing::warn!(code = e.code(), "cannot read the webhook delivery backlog");
            return;
        }
    };
    let waited = waited_secs(state.clock.now(), oldest_due_at);
    metrics::gauge!("payport_webhook_queue_depth").set(due as f64);
    metrics::gauge!("payport_webhook_oldest_due_seconds").set(waited);
}

/// Claims as many due deliveries as there are free slots, and starts sending each
/// in `tasks`; returns how many it claimed.
async fn claim_and_start(
    state: &Arc<AppState>,
    slots: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
) -> usize {
    let free = u32::try_from(slots.available_permits()).unwrap_or(u32::MAX);
    if free == 0 {
        return 0;
    }
    let claimed = match state.webhooks.claim_due(free, state.delivery.lease).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(
                code = e.code(),
                "cannot claim webhook deliveries; will retry"
            );
            return 0;
        }
    };
    let count = claimed.len();
    for delivery in claimed {
        // Never fails: no more were claimed than slots were free, and only this loop
        // takes slots.
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            break;
        };
        let state = state.clone();
        tasks.spawn(async move {
            deliver(&state, &delivery).await;
            drop(slot);
        });
    }
    count
}

/// One attempt (its answer is logged by the sender as wired), and what follows.
async fn deliver(state: &AppState, delivery: &DueDelivery) {
    let event_id = delivery.event_id.as_str();
    let delivery_id = delivery.delivery_id;
    let attempt = delivery.attempts + 1;
    match state.webhooks.deliver(delivery).await {
        Ok(DeliveryNext::Delivered) => {
            tracing::info!(event_id, delivery_id, attempt, "webhook delivered");
        }
        Ok(DeliveryNext::RetryAt(at)) => {
            tracing::info!(event_id, delivery_id, attempt, next_attempt_at = %at, "webhook not delivered; will retry");
        }
        Ok(DeliveryNext::GiveUp) => {
            tracing::warn!(
                event_id,
                delivery_id,
                attempt,
                "webhook not delivered; given up (see GET /v1/events/{{id}})"
            );
        }
        Err(e) => {
            tracing::warn!(
                event_id,
                delivery_id,
                code = e.code(),
                "webhook attempt not recorded; it is sent again when its claim runs out"
            );
        }
    }
}

/// Claims and sends until no delivery is due, waiting for every attempt to be
/// recorded; returns how many deliveries it sent. For tests and tools: the running
/// service uses [`spawn`].
pub async fn run_until_idle(state: &Arc<AppState>) -> usize {
    let slots = Arc::new(Semaphore::new(state.delivery.concurrency as usize));
    let mut tasks = JoinSet::new();
    let mut sent = 0;
    loop {
        let claimed = claim_and_start(state, &slots, &mut tasks).await;
        sent += claimed;
        if claimed == 0 && tasks.join_next().await.is_none() {
            return sent;
        }
    }
}

/// Runs delivery in its own task until `stop` fires: it claims whenever a slot is
/// free and something is due (reading the backlog first, at most every
/// [`BACKLOG_EVERY`]), looks again at once after finding work, and otherwise
/// waits for the poll interval, a finished attempt, or a request that may have
/// written events. Once `stop` fires it claims nothing more and ends when the
/// attempts under way are recorded; one cut short (the shutdown timeout) is sent
/// again when its claim runs out (by another instance, or this one after a restart).
pub fn spawn(
    state: Arc<AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(state.delivery.concurrency as usize));
        let mut tasks = JoinSet::new();
        let mut backlog_read: Option<Instant> = None;
        // Also set when the stop's sender is gone: nobody can stop the loop later.
        let mut stopped = false;
        loop {
            if stopped || *stop.borrow() {
                while tasks.join_next().await.is_some() {}
                return;
            }
            if backlog_read.is_none_or(|at| at.elapsed() >= BACKLOG_EVERY) {
                export_backlog(&state).await;
                backlog_read = Some(Instant::now());
            }
            let claimed = claim_and_start(&state, &slots, &mut tasks).await;
            if claimed > 0 && slots.available_permits() > 0 {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(state.delivery.poll) => {}
                () = state.deliveries_due.notified() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = stop.changed() => stopped = true,
            }
        }
    })
}
