//! The one error type use cases return, with a stable machine code per variant.

use chrono::NaiveDate;

use crate::error::{GatewayError, RepoError, TransitionError};
use crate::ids::{EndpointId, EventId, OutTradeNo, RefundId};
use crate::money::Amount;
use crate::order::OrderStatus;
use crate::refund::{GatewayFailure, RefundGatewayKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Validation(String),
    #[error("order {0} not found")]
    OrderNotFound(OutTradeNo),
    #[error("order {0} already exists")]
    OrderExists(OutTradeNo),
    #[error("refund {0} not found")]
    RefundNotFound(RefundId),
    #[error("event {0} not found")]
    EventNotFound(EventId),
    #[error("webhook endpoint {0} not found")]
    EndpointNotFound(EndpointId),
    #[error("no reconciliation for {0}")]
    ReconciliationNotFound(NaiveDate),
    /// Another run of the day (the daily one, or another person's) holds its claim.
    #[error("the reconciliation of {0} is running already; try again once it is done")]
    ReconciliationRunning(NaiveDate),
    #[error("the order is not paid")]
    OrderNotPaid,
    #[error("the order is closed")]
    OrderClosed,
    #[error("the order is finished: Alipay accepts no more refunds")]
    OrderFinished,
    #[error("the order expired before it was paid")]
    OrderExpired,
    #[error("the refund exceeds what is left to refund ({refundable})")]
    RefundExceedsRefundable { refundable: Amount },
    #[error("the refund window closed {days} days after payment")]
    RefundWindowExpired { days: i64 },
    #[error("out_request_no is already used by refund {0} with other data")]
    OutRequestNoReused(RefundId),
    #[error(transparent)]
    InvalidState(#[from] TransitionError),
    #[error("Alipay rejected the request: {0}")]
    GatewayRejected(GatewayFailure),
    /// The gateway's answer is unknown (timeout, 5xx...) for an operation that changes
    /// nothing locally until it is known; try again.
    #[error("the gateway did not answer definitively: {0}")]
    GatewayUnavailable(String),
    #[error("the {} refund gateway is not configured", .0.as_str())]
    GatewayNotConfigured(RefundGatewayKind),
    /// A verified answer that contradicts what payport knows (amount, ids).
    #[error("the gateway's data does not match: {0}")]
    GatewayDataMismatch(String),
    /// A callback that failed verification or the merchant checks; nothing changed.
    #[error("notification refused: {0}")]
    NotificationRefused(String),
    #[error("changed concurrently, try again")]
    Conflict,
    /// A unique key already taken where the use case did not expect it: retrying
    /// cannot help. The detail is for logs only.
    #[error("conflicts with a record that already exists")]
    Duplicate(String),
    #[error("storage unavailable: {0}")]
    Storage(String),
}

impl ServiceError {
    /// The stable UPPER_SNAKE code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::OrderNotFound(_) => "ORDER_NOT_FOUND",
            Self::OrderExists(_) => "ORDER_ALREADY_EXISTS",
            Self::RefundNotFound(_) => "REFUND_NOT_FOUND",
            Self::EventNotFound(_) => "EVENT_NOT_FOUND",
            Self::EndpointNotFound(_) => "WEBHOOK_ENDPOINT_NOT_FOUND",
            Self::ReconciliationNotFound(_) => "RECONCILIATION_NOT_FOUND",
            Self::ReconciliationRunning(_) => "RECONCILIATION_RUNNING",
            Self::OrderNotPaid => "ORDER_NOT_PAID",
            Self::OrderClosed => "ORDER_CLOSED",
            Self::OrderFinished => "ORDER_FINISHED",
            Self::OrderExpired => "ORDER_EXPIRED",
            Self::RefundExceedsRefundable { .. } => "REFUND_EXCEEDS_REFUNDABLE",
            Self::RefundWindowExpired { .. } => "REFUND_WINDOW_EXPIRED",
            Self::OutRequestNoReused(_) => "OUT_REQUEST_NO_REUSED",
            Self::InvalidState(_) => "INVALID_STATE",
            Self::GatewayRejected(_) => "GATEWAY_REJECTED",
            Self::GatewayUnavailable(_) => "GATEWAY_UNAVAILABLE",
            Self::GatewayNotConfigured(_) => "GATEWAY_NOT_CONFIGURED",
            Self::GatewayDataMismatch(_) => "GATEWAY_DATA_MISMATCH",
            Self::NotificationRefused(_) => "NOTIFICATION_REFUSED",
            Self::Conflict => "CONFLICT",
            Self::Duplicate(_) => "DUPLICATE",
            Self::Storage(_) => "STORAGE_UNAVAILABLE",
        }
    }

    /// The error for an order in a status that does not allow the action.
    pub(crate) fn for_unrefundable(status: OrderStatus) -> ServiceError {
        match status {
            OrderStatus::Pending => Self::OrderNotPaid,
            OrderStatus::Closed => Self::OrderClosed,
            OrderStatus::Finished => Self::OrderFinished,
            OrderStatus::Refunded => Self::RefundExceedsRefundable {
                refundable: Amount::ZERO,
            },
            OrderStatus::Paid | OrderStatus::PartiallyRefunded => {
                Self::Validation("the order is refundable".into())
            }
        }
    }
}

impl From<RepoError> for ServiceError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Conflict(_) => ServiceError::Conflict,
            RepoError::Duplicate(what) => ServiceError::Duplicate(what),
            RepoError::NotFound(what) | RepoError::Unavailable(what) => ServiceError::Storage(what),
        }
    }
}

/// For operations whose gateway outcome changes nothing locally until it is known
/// (payments, queries, closing): refunds handle unknown outcomes themselves.
impl From<GatewayError> for ServiceError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::Rejected(failure) => ServiceError::GatewayRejected(failure),
            GatewayError::Unknown(why) | GatewayError::BadSignature(why) => {
                ServiceError::GatewayUnavailable(why)
            }
            GatewayError::Config(why) => {
                ServiceError::GatewayUnavailable(format!("configuration: {why}"))
            }
        }
    }
}
