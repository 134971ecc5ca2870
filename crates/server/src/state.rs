//! What the HTTP layer and the background workers are given: the use cases and the
//! ports they reach directly, as trait objects (no concrete adapter is named here).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveTime;
use payport_domain::ports::{Clock, IdempotencyStore, WorkQueue};
use payport_domain::usecases::{Notifications, Orders, Reconciliations, Refunds, Webhooks};
use poem::endpoint::BoxEndpoint;
use tokio::sync::Notify;

use crate::config::Tokens;

/// Everything a request handler needs.
pub struct AppState {
    pub orders: Orders,
    pub refunds: Refunds,
    pub notifications: Notifications,
    /// Webhook endpoints, the events API, and delivering events.
    pub webhooks: Webhooks,
    /// How the delivery loop sends.
    pub delivery: DeliverySettings,
    /// Wakes the delivery loop early: a request may have written events.
    pub deliveries_due: Arc<Notify>,
    /// Where `Idempotency-Key`s and their answers are kept.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Where the worker claims refunds to sync and orders to expire.
    pub work: Arc<dyn WorkQueue>,
    /// A day's books against Alipay's bill, by hand (API, CLI) and daily (worker).
    pub reconciliations: Reconciliations,
    /// When the worker runs the daily reconciliation.
    pub daily_reconciliation: DailyReconciliation,
    pub tokens: Tokens,
    pub clock: Arc<dyn Clock>,
    /// What `GET /readyz` asks.
    pub readiness: Arc<dyn Readiness>,
    /// Whether `GET /metrics` is served.
    pub metrics_enabled: bool,
    /// This process among the instances sharing the database.
    pub instance: Instance,
}

/// One running payport process. It beats a heartbeat in the database; the
/// `Idempotency-Key`s it holds are taken over by a retry once it has been silent for
/// [`Instance::SILENT_BEATS`] beats (it died with their requests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Unique to this process (a fresh UUID at every start).
    pub id: String,
    /// How often it beats.
    pub heartbeat: Duration,
    /// How long a graceful shutdown may take.
    pub shutdown_timeout: Duration,
}

impl Instance {
    /// Beats an instance may miss (a slow database, a busy machine) and still count
    /// as alive.
    pub const SILENT_BEATS: u32 = 3;

    /// How long an instance may be silent and still count as alive.
    pub fn silent_after(&self) -> Duration {
        self.heartbeat * Self::SILENT_BEATS
    }
}

/// Whether this instance can take traffic: its database answers, at the schema this
/// build expects.
#[async_trait]
pub trait Readiness: Send + Sync {
    /// # Errors
    /// Why not, in one short line free of secrets.
    async fn check(&self) -> Result<(), String>;
}

/// How the delivery loop claims and sends ([`crate::deliveries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// The most deliveries in flight at once in this instance.
    pub concurrency: u32,
    /// How long a claimed delivery stays with this instance: longer than an attempt
    /// can take, so that no other instance sends it meanwhile.
    pub lease: Duration,
    /// How often the loop looks for due deliveries when nothing woke it.
    pub poll: Duration,
}

/// The worker's daily reconciliation of yesterday (Beijing), once across instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyReconciliation {
    pub enabled: bool,
    /// Beijing time of day from which yesterday is reconciled.
    pub at: NaiveTime,
}

/// The application and what runs beside it.
pub struct Wired {
    pub state: Arc<AppState>,
    /// The in-process simulator's routes (mounted under `/sim`), in simulator mode.
    pub sim: Option<Arc<BoxEndpoint<'static>>>,
    /// Tokens made up because none were configured (simulator mode only).
    pub dev_tokens: Option<Tokens>,
}
