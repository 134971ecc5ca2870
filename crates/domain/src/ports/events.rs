//! The outbox and webhooks: how events are rendered, read, and delivered.
//!
//! Events are written by the repositories, with the change they describe (see
//! [`OrderRepository::update`](super::OrderRepository::update)); these ports read them
//! and deliver them.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::store::Page;
use crate::error::RepoError;
use crate::event::{EventType, NewEvent};
use crate::ids::{EndpointId, EventId};
use crate::order::Order;
use crate::refund::Refund;
use crate::webhook::{
    DeliveryAttempt, DeliveryNext, DeliveryRecord, DueDelivery, WebhookEndpoint, WebhookSecret,
};

/// What an event is about, as stored right after the change, inside its transaction.
#[derive(Debug, Clone, Copy)]
pub enum EventObject<'a> {
    /// The order with its refunds, oldest first (the API shows them together).
    Order {
        order: &'a Order,
        refunds: &'a [Refund],
    },
    Refund(&'a Refund),
}

/// Makes an event's body, the bytes every delivery sends. The server renders the
/// object as its API shows it; the store calls this inside the change's transaction.
pub trait EventRenderer: Send + Sync {
    fn render(&self, event: &NewEvent, object: EventObject<'_>) -> String;
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: EventId,
    pub event_type: EventType,
    /// The out_trade_no or refund_id it is about.
    pub object_id: String,
    pub created_at: DateTime<Utc>,
    /// What [`EventRenderer::render`] made.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    pub object_id: Option<String>,
    /// Only events written after this one.
    pub after: Option<EventId>,
    pub limit: u32,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Oldest first, in the order written. `next_cursor` is the last event's id, to
    /// pass as `after`; it is set whenever the page is full. Paging never skips an
    /// event: where writers commit concurrently, an event is listed only once every
    /// event that may come before it has been committed (or never will be). An
    /// `after` event not listable yet (known from a webhook first) gives an empty page
    /// whose `next_cursor` is `after` itself.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when `after` names no event; [`RepoError::Unavailable`].
    async fn list_events(&self, filter: &EventFilter) -> Result<Page<StoredEvent>, RepoError>;

    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn get_event(&self, id: &EventId) -> Result<Option<StoredEvent>, RepoError>;

    /// The event's deliveries, one per endpoint, with their attempts.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn deliveries(&self, id: &EventId) -> Result<Vec<DeliveryRecord>, RepoError>;

    /// Sends the event again: every delivery of it becomes `pending` and due at `now`,
    /// counting its schedule from `now`, and endpoints that want it but have no
    /// delivery of it get one. Returns false when there is no such event.
    ///
    /// A delivery with an attempt in flight stays claimed until its lease runs out (no
    /// second send joins that one), but under a new claim, so that attempt's outcome
    /// cannot undo the redelivery: it is due as soon as the lease ends.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn redeliver(&self, id: &EventId, now: DateTime<Utc>) -> Result<bool, RepoError>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookEndpoints: Send + Sync {
    /// From then on, every event it wants gets a delivery to it, written with the event.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] when the id exists; [`RepoError::Unavailable`].
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), RepoError>;

    /// The active endpoints, oldest first.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>, RepoError>;

    /// Deactivates it; its pending deliveries become `failed` ("endpoint deleted").
    /// Returns false when there is no such active endpoint.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn delete_endpoint(&self, id: &EndpointId, now: DateTime<Utc>)
        -> Result<bool, RepoError>;

    /// Makes the configured endpoint ([`WebhookEndpoint::CONFIGURED_ID`], every event
    /// type) match configuration: created or updated to `url` and `secret`, or deleted
    /// when configuration names none. Safe for several instances to run at once.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn set_configured_endpoint(
        &self,
        endpoint: Option<(String, WebhookSecret)>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError>;
}

/// How many deliveries are due: what [`DeliveryQueue::claim_due_deliveries`] would
/// take now, with no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryBacklog {
    pub due: u64,
    /// The longest-waiting due delivery's `next_attempt_at` (`None` when none is due).
    pub oldest_due_at: Option<DateTime<Utc>>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Claims up to `limit` pending deliveries to active endpoints that are due
    /// (`next_attempt_at <= now`), oldest due first, for `lease`: no other claimer
    /// gets them until then, so several instances never send one delivery at once.
    /// Each claimed delivery carries its new [`DueDelivery::claim`].
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<DueDelivery>, RepoError>;

    /// The deliveries the claim at `now` would take if it had no limit: pending, to an
    /// active endpoint, due, and claimed by no one (or by a lease that ran out). It
    /// reads only; it claims nothing.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn delivery_backlog(&self, now: DateTime<Utc>) -> Result<DeliveryBacklog, RepoError>;

    /// Records the attempt at `claimed` (as [`claim_due_deliveries`] returned it). The
    /// attempt is always added to the delivery's history. Only while the delivery is
    /// still under `claimed.claim` does it also release the claim, count the attempt
    /// and move the delivery on to `next`; once another claim or a redelivery has
    /// replaced it, the delivery's state is theirs and stays as it is.
    ///
    /// [`claim_due_deliveries`]: DeliveryQueue::claim_due_deliveries
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when there is no such delivery; [`RepoError::Unavailable`].
    async fn record_attempt(
        &self,
        claimed: &DueDelivery,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
    ) -> Result<(), RepoError>;
}

/// POSTs one event to one endpoint, signed with its secret. Never fails: whatever
/// happened is the attempt's outcome.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn send(&self, delivery: &DueDelivery) -> DeliveryAttempt;
}
