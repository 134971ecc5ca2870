//! Use cases: plain structs holding the ports, one method per thing a user does.
//!
//! - [`Orders`]: create, start payment, sync with Alipay, close.
//! - [`Refunds`]: request (reserve → policy → submit or wait), approve, reject, submit,
//!   sync (`refunds`); settle them from answers, queries and notifications (`settle`);
//!   the operator's legacy batch (`operator_batch`).
//! - [`Notifications`]: trade notifications, returns, legacy refund notifications.
//! - [`Reconciliations`]: a day's books against Alipay's bill (`reconcile`).
//! - [`Webhooks`]: endpoints, the events API, and delivering events, over its own
//!   [`WebhookPorts`].
//!
//! Every use case that changes a status hands the save that makes the change its
//! events ([`crate::event`]), with ids drawn from [`IdSource`] and dated the clock's
//! now; a save that keeps the status hands none. A save refused as a conflict writes
//! none of them, and the retry, on what it reads afresh, draws new ones only if the
//! change is still to be made: one transition is never announced twice.
//!
//! Helpers they share (loading and saving orders, input checks) live in `shared`.
//!
//! Gateway outcomes follow PROTOCOL.md C: a rejection is final; an unknown
//! outcome leaves a refund `processing`, to be queried or re-sent with the same
//! out_request_no, never a new one; where the gateway has no refund query (legacy
//! mapi), it waits for Alipay's notification.

mod error;
mod external;
mod notifications;
mod operator_batch;
mod orders;
mod reconcile;
mod refunds;
mod settle;
mod shared;
mod webhooks;

use std::future::Future;
use std::sync::Arc;

use chrono::Duration;

pub use error::ServiceError;
pub use external::{ExternalRecorded, ExternalRefund};
pub use notifications::{NotificationHandled, Notifications};
pub use orders::{NewOrder, Orders};
pub use reconcile::{
    beijing_date, beijing_day, due_date, Reconciliations, PENDING_RETRY, RUN_LEASE,
};
pub use refunds::{RefundRequest, Refunds};
pub use webhooks::{WebhookPorts, Webhooks, MAX_EVENTS_PER_PAGE};

use crate::ids::{AppId, SellerId};
use crate::policy::RefundPolicy;
use crate::ports::{
    Clock, IdSource, NotificationInbox, OrderRepository, PaymentGateway, RefundGateways,
    RefundRepository, WorkQueue,
};

/// Every port a use case may need, cheap to clone.
#[derive(Clone)]
pub struct Ports {
    pub orders: Arc<dyn OrderRepository>,
    pub refunds: Arc<dyn RefundRepository>,
    pub inbox: Arc<dyn NotificationInbox>,
    /// Background work: here, when a pending order's payment is next checked.
    pub work: Arc<dyn WorkQueue>,
    pub payments: Arc<dyn PaymentGateway>,
    pub refund_gateways: RefundGateways,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
}

/// Who we are at Alipay: notifications for anyone else are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantIdentity {
    pub app_id: AppId,
    /// When set, notifications must name this seller.
    pub seller_id: Option<SellerId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub merchant: MerchantIdentity,
    pub refund_policy: RefundPolicy,
    /// How long a new order may wait for payment when the request does not say.
    pub default_time_to_pay: Duration,
    /// How long after an unknown refund outcome to ask Alipay again (PROTOCOL.md A7:
    /// query at least 10 s after the refund).
    pub refund_sync_delay: Duration,
    /// A legacy refund still unsettled this long after it was sent is reported as
    /// `unresolved` by reconciliation, for a person.
    pub stranded_after: Duration,
    /// When a pending order's payment is checked at Alipay, as offsets from the moment
    /// it started ([`crate::payment_check`]); empty: never.
    pub payment_checks: Vec<Duration>,
}

impl Settings {
    pub fn new(merchant: MerchantIdentity) -> Settings {
        Settings {
            merchant,
            refund_policy: RefundPolicy::default(),
            default_time_to_pay: Duration::minutes(30),
            refund_sync_delay: Duration::seconds(10),
            stranded_after: Duration::days(3),
            payment_checks: crate::payment_check::default_offsets(),
        }
    }
}

/// Load-modify-save loops retry this often when another writer got in first.
const CONFLICT_RETRIES: usize = 5;

/// Runs `attempt` again while it fails with [`ServiceError::Conflict`].
async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ServiceError>>,
{
    let mut result = attempt().await;
    for _ in 1..CONFLICT_RETRIES {
        if !matches!(result, Err(ServiceError::Conflict)) {
            break;
        }
        result = attempt().await;
    }
    result
}
