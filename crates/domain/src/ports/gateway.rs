//! The payment gateway: what payport asks of Alipay about trades, in domain terms.
//! Refunds have their own ports (see `refund_gateway`).
//!
//! Adapters own the wire format. They return only values whose signature verified;
//! anything else is a [`GatewayError`], split by what the caller must do.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::alipay::AlipayTradeStatus;
use crate::error::GatewayError;
use crate::ids::{AppId, OutTradeNo, SellerId, TradeNo};
use crate::money::Amount;

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

impl TradeNotification {
    /// What the notification says about the trade, without its send time and signature
    /// (which may change when Alipay delivers it again): the same for every redelivery.
    pub fn content(&self) -> String {
        let amount = |a: Option<Amount>| a.map(|a| a.to_string()).unwrap_or_default();
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.out_trade_no,
            self.trade_no,
            self.trade_status.as_wire(),
            self.total_amount,
            self.out_biz_no.as_deref().unwrap_or(""),
            amount(self.refund_fee),
        )
    }
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
