//! Alipay's daily trade bill (对账单, PROTOCOL.md A10), as the lines reconciliation
//! compares with payport's books.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::GatewayError;
use crate::money::Amount;

/// Which way the money of a bill line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillLineKind {
    /// `交易`: the buyer paid.
    Payment,
    /// `退款`: money went back to the buyer.
    Refund,
}

/// One row of the bill's detail file. The ids are kept as Alipay wrote them (not
/// payport's id types): a line payport would not accept is still a line to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub kind: BillLineKind,
    pub out_trade_no: String,
    pub trade_no: String,
    /// Refunds: the refund's `out_request_no`, or a legacy mapi `batch_no`.
    pub out_request_no: Option<String>,
    /// Always positive; [`BillLine::kind`] says the direction.
    pub amount: Amount,
    pub finished_at: DateTime<Utc>,
}

/// The bill of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeBill {
    /// Alipay has not made it yet (`isp.bill_not_exist`): ask again later.
    NotReady,
    Ready(Vec<BillLine>),
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TradeBills: Send + Sync {
    /// The trade bill of `date`, a Beijing date (PROTOCOL.md D).
    ///
    /// # Errors
    /// [`GatewayError`]: `Unknown` for a download or a file that failed (a row that does
    /// not parse is named by its line), others as for any gateway call.
    async fn trade_bill(&self, date: NaiveDate) -> Result<TradeBill, GatewayError>;
}
