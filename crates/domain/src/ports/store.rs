//! Repositories: where orders, refunds, raw notifications and gateway exchanges live.
//!
//! Saves are conditional on `version`: `update` succeeds only if the stored row still
//! has the version the caller read, and stores `version + 1`; otherwise it fails with
//! [`RepoError::Conflict`] and changes nothing.
//!
//! Saves that change a status take the events the change makes
//! ([`crate::event`]) and write them in the same transaction, each with the body an
//! [`EventRenderer`](super::EventRenderer) makes of its object as stored after the
//! change: all of it is written, or none.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::RepoError;
use crate::event::NewEvent;
use crate::ids::EventId;
use crate::ids::{OutRequestNo, OutTradeNo, RefundId, TradeNo};
use crate::order::{Order, OrderStatus};
use crate::policy::ReservationRefused;
use crate::refund::{NewRefund, Refund, RefundStatus};

/// A page of results; `next_cursor` fetches the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub limit: u32,
    /// Opaque, from a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefundFilter {
    pub status: Option<RefundStatus>,
    pub limit: u32,
    pub cursor: Option<String>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderRepository: Send + Sync {
    /// # Errors
    /// [`RepoError::Duplicate`] when the out_trade_no exists.
    async fn insert(&self, order: &Order) -> Result<(), RepoError>;

    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn get(&self, out_trade_no: &OutTradeNo) -> Result<Option<Order>, RepoError>;

    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn find_by_trade_no(&self, trade_no: &TradeNo) -> Result<Option<Order>, RepoError>;

    /// Conditional on `order.version`, with its events (see the module doc).
    ///
    /// # Errors
    /// [`RepoError::Conflict`], [`RepoError::NotFound`].
    async fn update(&self, order: &Order, events: &[NewEvent]) -> Result<(), RepoError>;

    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn list(&self, filter: &OrderFilter) -> Result<Page<Order>, RepoError>;
}

/// Why a refund could not be reserved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    #[error("no such order")]
    OrderNotFound,
    #[error(transparent)]
    Refused(#[from] ReservationRefused),
    /// The order already has a refund with this out_request_no; here it is.
    #[error("out_request_no already used by refund {}", .0.refund_id)]
    DuplicateOutRequestNo(Box<Refund>),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefundRepository: Send + Sync {
    /// Checks the over-refund invariant ([`crate::policy::check_reservation`]) and
    /// inserts the refund as ONE atomic step, with the order locked against concurrent
    /// reservations (other requests, other instances): it stores the
    /// [`crate::event::reservation_steps`] of the refund [`crate::policy::admit_refund`]
    /// admits (inserted with the status the policy chose, then, approved and with
    /// [`NewRefund::send_at_once`] set, marked sent), each followed by its event
    /// (`event_id` names the first), dated the refund's `created_at` (the clock's now
    /// when it was asked for). Returns the refund as stored at the end.
    ///
    /// # Errors
    /// [`ReserveError`]; nothing is stored then.
    async fn reserve(&self, refund: &NewRefund, event_id: &EventId)
        -> Result<Refund, ReserveError>;

    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn get(&self, refund_id: &RefundId) -> Result<Option<Refund>, RepoError>;

    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn get_by_out_request_no(
        &self,
        out_trade_no: &OutTradeNo,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<Refund>, RepoError>;

    /// Oldest first.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn list_for_order(&self, out_trade_no: &OutTradeNo) -> Result<Vec<Refund>, RepoError>;

    /// The refunds of all these orders in one read (a page of orders), each order's
    /// oldest first as in [`Self::list_for_order`]; none for no orders.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn list_for_orders(&self, out_trade_nos: &[OutTradeNo])
        -> Result<Vec<Refund>, RepoError>;

    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn list(&self, filter: &RefundFilter) -> Result<Page<Refund>, RepoError>;

    /// Conditional on `refund.version`, with its events (see the module doc).
    ///
    /// # Errors
    /// [`RepoError::Conflict`], [`RepoError::NotFound`].
    async fn update(&self, refund: &Refund, events: &[NewEvent]) -> Result<(), RepoError>;

    /// Saves several refunds in one transaction, each conditional on its version: all
    /// of them or none (an operator's batch must never be half recorded).
    ///
    /// # Errors
    /// [`RepoError::Conflict`] if any changed; then none is saved.
    async fn update_all(&self, refunds: &[Refund], events: &[NewEvent]) -> Result<(), RepoError>;

    /// Records a refund made outside payport ([`Refund::external`], already
    /// `succeeded`) and its order's new refunded amount, in one transaction: the
    /// refund is inserted and the order saved conditionally on its version, with the
    /// events. No reservation check: Alipay already paid the money back.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] when the order has a refund with this out_request_no;
    /// [`RepoError::Conflict`] when the order changed. Then nothing is saved.
    async fn insert_external(
        &self,
        refund: &Refund,
        order: &Order,
        events: &[NewEvent],
    ) -> Result<(), RepoError>;

    /// Saves a refund that succeeded together with its order's new refunded amount, in
    /// one transaction, both conditional on their versions.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] if either changed; then neither is saved.
    async fn update_with_order(
        &self,
        refund: &Refund,
        order: &Order,
        events: &[NewEvent],
    ) -> Result<(), RepoError>;
}

/// Saves that pair a refund with an order ([`RefundRepository::update_with_order`],
/// [`RefundRepository::insert_external`]) refuse any order but the refund's own, before
/// touching anything: one check and one wording for every store.
///
/// # Errors
/// [`RepoError::NotFound`] naming both orders.
pub fn check_refund_of_order(refund: &Refund, order: &Order) -> Result<(), RepoError> {
    if refund.out_trade_no == order.out_trade_no {
        return Ok(());
    }
    Err(RepoError::NotFound(format!(
        "refund {} of order {} (it belongs to order {})",
        refund.refund_id, order.out_trade_no, refund.out_trade_no
    )))
}

/// Where a callback came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationSource {
    /// OpenAPI `trade_status_sync` (payments and refunds).
    TradeStatus,
    /// Legacy mapi `batch_refund_notify`.
    MapiBatchRefund,
}

impl NotificationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TradeStatus => "trade_status_sync",
            Self::MapiBatchRefund => "batch_refund_notify",
        }
    }
}

/// A verified notification, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub source: NotificationSource,
    /// Alipay's `notify_id`, which stays the same across redeliveries.
    pub notify_id: String,
    pub out_trade_no: Option<OutTradeNo>,
    pub raw_body: String,
    /// What the notification says, as verified, without its send time and signature
    /// ([`TradeNotification::content`], [`RefundNotice::content`]): a redelivery of
    /// the same notify_id says the same, so other content under it is an anomaly.
    ///
    /// [`TradeNotification::content`]: super::TradeNotification::content
    /// [`RefundNotice::content`]: super::RefundNotice::content
    pub content: String,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxState {
    /// First time, or seen before but its handling never finished: handle it.
    ToHandle,
    /// Handled before: a redelivery, harmless to acknowledge.
    AlreadyHandled,
    /// Recorded before with another body: not a redelivery (Alipay resends the same
    /// notification byte for byte) but a reused or forged notify_id. Never handled
    /// and never acknowledged; the first body is kept.
    Conflicting,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait NotificationInbox: Send + Sync {
    /// Stores the notification (once per source and notify_id) and says whether it
    /// still needs handling, comparing a repeated notify_id's body with the first.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn record(&self, entry: &InboxEntry) -> Result<InboxState, RepoError>;

    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn mark_handled(
        &self,
        source: NotificationSource,
        notify_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError>;

    /// A notification whose only effect is on its order, handled as ONE transaction:
    /// the entry is stored as [`Self::record`] stores it and, unless it was handled
    /// before or conflicts, `order` (when it changed) is saved conditionally on its
    /// version with `events`, and the entry marked handled at its `received_at`.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] when the order changed since it was read, and
    /// [`RepoError::Duplicate`] when its `trade_no` belongs to another order: then
    /// nothing is stored, not even the entry.
    async fn record_and_apply<'a>(
        &self,
        entry: &InboxEntry,
        order: Option<&'a Order>,
        events: &[NewEvent],
    ) -> Result<InboxApplied, RepoError>;
}

/// What [`NotificationInbox::record_and_apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxApplied {
    /// Recorded, its change saved, marked handled: all in one commit.
    Applied,
    /// Handled before: nothing changed.
    AlreadyHandled,
    /// As [`InboxState::Conflicting`]: nothing changed.
    Conflicting,
}

/// One request/response pair with a gateway, kept raw for disputes and debugging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayExchange {
    /// The API method or service, e.g. `alipay.trade.refund`.
    pub operation: String,
    pub out_trade_no: Option<String>,
    pub out_request_no: Option<String>,
    /// What was sent, without secrets (the `sign` is not a secret; keys never appear).
    pub request: String,
    /// What came back; `None` when nothing did (timeout, connection error).
    pub response: Option<String>,
    /// `http_status`, or a short transport error.
    pub outcome: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
}

/// Written by gateway adapters for every call they make.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ExchangeLog: Send + Sync {
    /// # Errors
    /// [`RepoError::Unavailable`]; callers log it and go on (the call already happened).
    async fn record(&self, exchange: &GatewayExchange) -> Result<(), RepoError>;
}
