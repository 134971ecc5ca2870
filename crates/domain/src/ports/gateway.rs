//! Payment and refund gateways: what payport asks of Alipay, in domain terms.
//!
//! Adapters own the wire format. They return only values whose signature verified;
//! anything else is a [`GatewayError`], split by what the caller must do.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::alipay::AlipayTradeStatus;
use crate::error::GatewayError;
use crate::ids::{AppId, BatchNo, OutRequestNo, OutTradeNo, RefundId, SellerId, TradeNo};
use crate::money::Amount;
use crate::refund::{GatewayFailure, RefundGatewayKind, RefundSuccess};

/// How the buyer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentMethod {
    /// Computer website: `alipay.trade.page.pay`.
    Page,
    /// Mobile website: `alipay.trade.wap.pay`.
    Wap,
    /// The Alipay app via the merchant's app: `alipay.trade.app.pay`.
    App,
    /// A QR code the buyer scans: `alipay.trade.precreate`.
    Qr,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 4] = [Self::Page, Self::Wap, Self::App, Self::Qr];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Wap => "wap",
            Self::App => "app",
            Self::Qr => "qr",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    pub method: PaymentMethod,
    pub out_trade_no: OutTradeNo,
    pub subject: String,
    pub body: Option<String>,
    pub total_amount: Amount,
    pub expires_at: DateTime<Utc>,
    pub return_url: Option<String>,
    /// Where the wap cashier's "back" button goes.
    pub quit_url: Option<String>,
}

/// What the shop hands the buyer to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentInstruction {
    /// Page and wap pay: a URL to open, or the same as an auto-submitting form.
    Redirect { pay_url: String, form_html: String },
    /// App pay: the signed order string for the Alipay app SDK.
    AppOrderString(String),
    /// Precreate: the content of the QR code to show.
    QrCode(String),
}

/// What `alipay.trade.query` said about a trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeLookup {
    /// ACQ.TRADE_NOT_EXIST: Alipay has no trade yet (the buyer never opened the cashier).
    NotFound,
    Found(TradeSnapshot),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeSnapshot {
    pub status: AlipayTradeStatus,
    pub trade_no: TradeNo,
    pub total_amount: Amount,
    pub buyer_id: Option<String>,
    pub buyer_logon_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    /// Alipay never had the trade (ACQ.TRADE_NOT_EXIST): nothing to close there.
    NeverOpened,
}

/// A callback as it arrived: the raw body (kept for the record) and its fields after
/// exactly one form-decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingNotification {
    pub raw_body: String,
    pub fields: Vec<(String, String)>,
}

/// A verified `trade_status_sync` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeNotification {
    pub notify_id: String,
    pub app_id: AppId,
    pub seller_id: Option<SellerId>,
    pub out_trade_no: OutTradeNo,
    pub trade_no: TradeNo,
    pub trade_status: AlipayTradeStatus,
    pub total_amount: Amount,
    pub buyer_id: Option<String>,
    pub buyer_logon_id: Option<String>,
    pub gmt_payment: Option<DateTime<Utc>>,
    /// Refund notifications: the refund's out_request_no.
    pub out_biz_no: Option<String>,
    /// Refund notifications: the total refunded on the trade so far.
    pub refund_fee: Option<Amount>,
    pub gmt_refund: Option<DateTime<Utc>>,
}

/// The verified parameters of a return_url redirect. Not proof of payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReturn {
    pub app_id: AppId,
    pub seller_id: Option<SellerId>,
    pub out_trade_no: OutTradeNo,
    pub trade_no: Option<TradeNo>,
    pub total_amount: Amount,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// # Errors
    /// [`GatewayError`]; `Unknown` may mean the trade exists: retrying with the same
    /// out_trade_no and data is safe.
    async fn create_payment(
        &self,
        request: &PaymentRequest,
    ) -> Result<PaymentInstruction, GatewayError>;

    /// # Errors
    /// [`GatewayError`].
    async fn query_trade(&self, out_trade_no: &OutTradeNo) -> Result<TradeLookup, GatewayError>;

    /// Closes an unpaid trade.
    ///
    /// # Errors
    /// `Rejected` when Alipay will not close it (e.g. it was paid meanwhile).
    async fn close_trade(&self, out_trade_no: &OutTradeNo) -> Result<CloseOutcome, GatewayError>;

    /// # Errors
    /// `BadSignature` unless the notification verifies; nothing in it is then believed.
    async fn verify_notification(
        &self,
        notification: &IncomingNotification,
    ) -> Result<TradeNotification, GatewayError>;

    /// # Errors
    /// `BadSignature` unless the return parameters verify.
    async fn verify_return(
        &self,
        params: &[(String, String)],
    ) -> Result<PaymentReturn, GatewayError>;
}

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

/// Which refund a notified result is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundReference {
    OutRequestNo {
        out_trade_no: OutTradeNo,
        out_request_no: OutRequestNo,
    },
    /// A legacy mapi batch line: the refunds of this trade in that batch.
    Batch {
        batch_no: BatchNo,
        trade_no: TradeNo,
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

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefundGateway: Send + Sync {
    /// A fresh batch number, for gateways whose results come back by batch (legacy
    /// mapi no-password); `None` for the others. The domain stores it on the refund
    /// BEFORE sending, so a result for a send whose answer was lost still finds it.
    ///
    /// # Errors
    /// `Config` when no number can be made; nothing is sent then.
    fn next_batch_no(&self) -> Result<Option<BatchNo>, GatewayError>;

    /// Sends the refund. Alipay deduplicates on out_request_no, so re-sending the same
    /// submission never refunds twice.
    ///
    /// # Errors
    /// `Rejected` (final: nothing was refunded) or `Unknown`/`BadSignature` (query or
    /// resend later), `Config` (nothing was sent).
    async fn submit_refund(
        &self,
        refund: &RefundSubmission,
    ) -> Result<RefundSubmitted, GatewayError>;

    /// Sends several refunds as one batch (legacy mapi; an operator confirms the
    /// password-flow batch on Alipay's page).
    ///
    /// # Errors
    /// `Config` for gateways without batches (OpenAPI); otherwise as `submit_refund`.
    async fn submit_batch(
        &self,
        refunds: &[RefundSubmission],
    ) -> Result<RefundSubmitted, GatewayError>;

    /// # Errors
    /// [`GatewayError`]; `Unknown` where the gateway has no query (mapi).
    async fn query_refund(&self, refund: &RefundSubmission) -> Result<RefundLookup, GatewayError>;

    /// # Errors
    /// `BadSignature` unless the notification verifies; `Config` for gateways whose
    /// refund results arrive otherwise (OpenAPI: inside trade notifications).
    async fn verify_refund_notification(
        &self,
        notification: &IncomingNotification,
    ) -> Result<RefundNotice, GatewayError>;
}

/// The refund gateways payport is configured with, by kind.
#[derive(Clone, Default)]
pub struct RefundGateways {
    pub openapi: Option<Arc<dyn RefundGateway>>,
    pub mapi_nopwd: Option<Arc<dyn RefundGateway>>,
    pub mapi_pwd: Option<Arc<dyn RefundGateway>>,
}

impl RefundGateways {
    pub fn get(&self, kind: RefundGatewayKind) -> Option<&Arc<dyn RefundGateway>> {
        match kind {
            RefundGatewayKind::OpenApi => self.openapi.as_ref(),
            RefundGatewayKind::MapiNoPwd => self.mapi_nopwd.as_ref(),
            RefundGatewayKind::MapiPwd => self.mapi_pwd.as_ref(),
        }
    }

    /// The gateway that verifies legacy `batch_refund_notify` (both mapi flows share it).
    pub fn mapi_notifications(&self) -> Option<&Arc<dyn RefundGateway>> {
        self.mapi_nopwd.as_ref().or(self.mapi_pwd.as_ref())
    }
}
