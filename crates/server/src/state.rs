//! What the HTTP layer and the background worker are given: the use cases and the
//! ports they reach directly, as trait objects (no concrete adapter is named here).

use std::sync::Arc;

use payport_domain::ports::{Clock, IdempotencyStore, WorkQueue};
use payport_domain::usecases::{Notifications, Orders, Refunds};
use poem::endpoint::BoxEndpoint;

use crate::config::Tokens;

/// Everything a request handler needs.
pub struct AppState {
    pub orders: Orders,
    pub refunds: Refunds,
    pub notifications: Notifications,
    /// Where `Idempotency-Key`s and their answers are kept.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Where the worker claims refunds to sync and orders to expire.
    pub work: Arc<dyn WorkQueue>,
    pub tokens: Tokens,
    pub clock: Arc<dyn Clock>,
}

/// The application and what runs beside it.
pub struct Wired {
    pub state: Arc<AppState>,
    /// The in-process simulator's routes (mounted under `/sim`), in simulator mode.
    pub sim: Option<Arc<BoxEndpoint<'static>>>,
    /// Tokens made up because none were configured (simulator mode only).
    pub dev_tokens: Option<Tokens>,
}
