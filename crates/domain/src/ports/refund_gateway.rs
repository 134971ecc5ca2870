//! Refund gateways, cut by capability: what payport asks of Alipay about refunds.
//!
//! Every refund gateway sends refunds ([`RefundSubmitter`]). Only some can say what
//! became of one ([`RefundQuery`]: OpenAPI's `alipay.trade.fastpay.refund.query`); the
//! legacy mapi gateway has no query, and its results arrive by `batch_refund_notify`
//! ([`RefundNotificationVerifier`]), per batch ([`RefundBatches`]). A [`RefundRoute`]
//! is one configured gateway made of these capabilities, and [`RefundGateways`] holds
//! a route per [`RefundGatewayKind`], so the domain knows which refunds it may query
//! and which must wait for a notification. No adapter implements a capability it
//! does not have.
//!
//! Each capability is an object-safe trait held as an `Arc<dyn ...>`: an integrator
//! wraps one (an audit trail, an approval rule) by implementing the same trait around
//! it and putting the wrapper in the route.
//!
//! ```
//! use std::sync::Arc;
//!
//! use async_trait::async_trait;
//! use payport_domain::ports::{RefundRoute, RefundSubmission, RefundSubmitted, RefundSubmitter};
//! use payport_domain::GatewayError;
//!
//! /// Logs every refund before it leaves.
//! struct Audited(Arc<dyn RefundSubmitter>);
//!
//! #[async_trait]
//! impl RefundSubmitter for Audited {
//!     async fn submit_refund(
//!         &self,
//!         refund: &RefundSubmission,
//!     ) -> Result<RefundSubmitted, GatewayError> {
//!         println!("refunding {} of {}", refund.amount, refund.out_trade_no);
//!         self.0.submit_refund(refund).await
//!     }
//! }
//!
//! fn audited(route: RefundRoute) -> RefundRoute {
//!     RefundRoute {
//!         submit: Arc::new(Audited(route.submit)),
//!         ..route
//!     }
//! }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::IncomingNotification;
use crate::error::GatewayError;
use crate::ids::{BatchNo, OutRequestNo, OutTradeNo, RefundId, TradeNo};
use crate::money::Amount;
use crate::refund::{GatewayFailure, RefundGatewayKind, RefundSuccess};

/// One refund, as sent (and re-sent, identically) to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundSubmission {
    pub refund_id: RefundId,
    pub out_trade_no: OutTradeNo,
    pub trade_no: Option<TradeNo>,
    pub out_request_no: OutRequestNo,
    pub amount: Amount,
    pub reason: Option<String>,
    /// The mapi batch this refund already belongs to, when re-sent.
    pub batch_no: Option<BatchNo>,
    /// When the refund was first sent: the same reading of the clock that dated its
    /// `batch_no`, so a legacy batch's `refund_date` agrees with its number even when a
    /// send straddles Beijing midnight.
    pub submitted_at: Option<DateTime<Utc>>,
}

/// A definitive answer to a refund submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundSubmitted {
    /// The money went back (`fund_change=Y`).
    Succeeded(RefundSuccess),
    /// Accepted; the result arrives by notification (mapi no-password `is_success=T`).
    Accepted { batch_no: Option<BatchNo> },
    /// An operator must confirm it on Alipay's page (mapi password flow).
    AwaitingOperator {
        batch_no: BatchNo,
        form_html: String,
    },
}

/// What a refund query said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundLookup {
    Succeeded(RefundSuccess),
    /// Alipay did not receive it, or it failed: resend with the same out_request_no.
    NotRefunded,
}

/// A refund Alipay has under a number, as its refund query reports it: found without
/// knowing the amount beforehand (a refund made outside payport).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRefund {
    /// This refund's own amount (`refund_amount`), not the trade's cumulative total.
    pub amount: Amount,
    /// When the money went back (`gmt_refund_pay`), if Alipay says.
    pub refunded_at: Option<DateTime<Utc>>,
}

/// Which refund a notified result is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundReference {
    OutRequestNo {
        out_trade_no: OutTradeNo,
        out_request_no: OutRequestNo,
    },
    /// A legacy mapi batch line: the refunds of this trade in that batch, and the
    /// amount Alipay says the line refunds (compared with the refund's own).
    Batch {
        batch_no: BatchNo,
        trade_no: TradeNo,
        amount: Amount,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundResultOutcome {
    Succeeded(RefundSuccess),
    Failed(GatewayFailure),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResult {
    pub reference: RefundReference,
    pub outcome: RefundResultOutcome,
}

/// A verified refund notification (mapi `batch_refund_notify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotice {
    pub notify_id: String,
    pub results: Vec<RefundResult>,
}

impl RefundNotice {
    /// What the notification says, without its send time and signature: the same for
    /// every redelivery of it.
    pub fn content(&self) -> String {
        format!("{:?}", self.results)
    }
}

/// Sends refunds: every refund gateway has this.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefundSubmitter: Send + Sync {
    /// Sends the refund. Alipay deduplicates on out_request_no (and the legacy gateway
    /// on batch_no), so re-sending the same submission never refunds twice.
    ///
    /// # Errors
    /// `Rejected` (final: nothing was refunded) or `Unknown`/`BadSignature` (query or
    /// resend later), `Config` (nothing was sent).
    async fn submit_refund(
        &self,
        refund: &RefundSubmission,
    ) -> Result<RefundSubmitted, GatewayError>;
}

/// Asks what became of a refund, for gateways that can (OpenAPI:
/// `alipay.trade.fastpay.refund.query`). A route without it waits for notifications.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefundQuery: Send + Sync {
    /// # Errors
    /// [`GatewayError`]; a failed query says nothing about the refund itself.
    async fn query_refund(&self, refund: &RefundSubmission) -> Result<RefundLookup, GatewayError>;

    /// Looks a refund up by its number alone: what payport learns a refund made
    /// outside it by. `None`: Alipay has no refund under this number.
    ///
    /// # Errors
    /// [`GatewayError`]; a failed query says nothing about the refund itself.
    async fn find_refund(
        &self,
        out_trade_no: &OutTradeNo,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<FoundRefund>, GatewayError>;
}

/// Legacy batches (mapi): results come back per batch, so a refund's batch number is
/// kept before it is sent, and an operator may confirm several refunds as one batch.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefundBatches: Send + Sync {
    /// A batch number never used before, dated by `now` (Beijing). The domain stores
    /// it on the refund BEFORE sending, so a result for a send whose answer was lost
    /// still finds the refund; `now` is also the refund's `submitted_at`, which the
    /// send uses as the batch's `refund_date`.
    ///
    /// # Errors
    /// `Config` when no number can be made; nothing is sent then.
    fn next_batch_no(&self, now: DateTime<Utc>) -> Result<BatchNo, GatewayError>;

    /// Sends several refunds as one new batch (the password flow answers with the
    /// operator's form for it, `AwaitingOperator`).
    ///
    /// # Errors
    /// As [`RefundSubmitter::submit_refund`].
    async fn submit_batch(
        &self,
        refunds: &[RefundSubmission],
    ) -> Result<RefundSubmitted, GatewayError>;
}

/// Verifies a refund notification (legacy `batch_refund_notify`). OpenAPI refund
/// results arrive inside trade notifications instead (`PaymentGateway`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefundNotificationVerifier: Send + Sync {
    /// # Errors
    /// `BadSignature` unless the notification verifies; nothing in it is then believed.
    async fn verify_refund_notification(
        &self,
        notification: &IncomingNotification,
    ) -> Result<RefundNotice, GatewayError>;
}

/// One configured refund gateway, as the capabilities it has.
#[derive(Clone)]
pub struct RefundRoute {
    pub submit: Arc<dyn RefundSubmitter>,
    /// `None`: the outcome of a refund sent this way is learned only from a
    /// notification; payport never queries it.
    pub query: Option<Arc<dyn RefundQuery>>,
    /// `Some` for gateways whose results come back by batch (legacy mapi).
    pub batches: Option<Arc<dyn RefundBatches>>,
}

impl RefundRoute {
    /// A route that only sends; add what else the gateway can do with the `with_*`s.
    pub fn new(submit: Arc<dyn RefundSubmitter>) -> RefundRoute {
        RefundRoute {
            submit,
            query: None,
            batches: None,
        }
    }

    pub fn with_query(mut self, query: Arc<dyn RefundQuery>) -> RefundRoute {
        self.query = Some(query);
        self
    }

    pub fn with_batches(mut self, batches: Arc<dyn RefundBatches>) -> RefundRoute {
        self.batches = Some(batches);
        self
    }
}

/// The refund gateways payport is configured with: a route per kind, and the one
/// verifier of legacy refund notifications.
#[derive(Clone, Default)]
pub struct RefundGateways {
    pub openapi: Option<RefundRoute>,
    pub mapi_nopwd: Option<RefundRoute>,
    pub mapi_pwd: Option<RefundRoute>,
    /// Verifies `batch_refund_notify`; both mapi flows share it (one partner, one key).
    pub notifications: Option<Arc<dyn RefundNotificationVerifier>>,
}

impl RefundGateways {
    pub fn get(&self, kind: RefundGatewayKind) -> Option<&RefundRoute> {
        match kind {
            RefundGatewayKind::OpenApi => self.openapi.as_ref(),
            RefundGatewayKind::MapiNoPwd => self.mapi_nopwd.as_ref(),
            RefundGatewayKind::MapiPwd => self.mapi_pwd.as_ref(),
        }
    }
}
