//! Time and identifiers, injected so that every use case is deterministic under test.

use chrono::{DateTime, Utc};

use crate::ids::{EndpointId, EventId, OutRequestNo, OutTradeNo, RefundId};
use crate::webhook::WebhookSecret;

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Fresh identifiers. Each call returns a value never returned before.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdSource: Send + Sync {
    fn out_trade_no(&self) -> OutTradeNo;
    fn refund_id(&self) -> RefundId;
    fn out_request_no(&self) -> OutRequestNo;
    fn event_id(&self) -> EventId;
    fn endpoint_id(&self) -> EndpointId;
    /// A new webhook signing key: unguessable, at least 128 random bits.
    fn webhook_secret(&self) -> WebhookSecret;
}
