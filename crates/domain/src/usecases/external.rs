//! Refunds made outside payport (Alipay's merchant console, another system), recorded
//! once payport learns of them: from a trade notification, a refund query, or the bill.

use chrono::{DateTime, Utc};

use super::{Refunds, ServiceError};
use crate::error::RepoError;
use crate::ids::{OutRequestNo, OutTradeNo};
use crate::money::Amount;
use crate::refund::Refund;

/// A refund Alipay made that payport did not send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRefund {
    pub out_trade_no: OutTradeNo,
    /// As Alipay has it: the console's number, or a legacy batch_no.
    pub out_request_no: OutRequestNo,
    pub amount: Amount,
    /// When Alipay says the money went back, if it says.
    pub refunded_at: Option<DateTime<Utc>>,
}

/// What recording an external refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalRecorded {
    /// Stored as a new `succeeded` refund with `external = true`; the order's refunded
    /// amount includes it, and its events were written.
    Recorded(Refund),
    /// The order already has a refund under this out_request_no (payport's own, or this
    /// external one recorded before): returned as stored, nothing changed.
    AlreadyKnown(Refund),
}

impl Refunds {
    /// Records a refund Alipay made outside payport. Idempotent by out_trade_no and
    /// out_request_no.
    ///
    /// # Errors
    /// `OrderNotFound`; `InvalidState` when the order was never paid or the amount is
    /// more than it has left to refund (a contradiction for a person, never forced);
    /// storage errors.
    pub async fn record_external(
        &self,
        external: &ExternalRefund,
    ) -> Result<ExternalRecorded, ServiceError> {
        let _ = external;
        Err(RepoError::Unavailable("record_external: not implemented yet".into()).into())
    }
}
