//! The HTTP API's objects. Amounts are strings like `"88.88"` (Alipay's format, never
//! a float); statuses are lowercase names; times are RFC 3339 UTC.

use chrono::{DateTime, Utc};
use payport_domain::order::Order as DomainOrder;
use payport_domain::refund::Refund as DomainRefund;
use payport_domain::{Amount, OrderStatus as DomainOrderStatus};
use poem_openapi::{Enum, Object};

pub use super::amount::AmountText;
use super::auth::Role;
pub use super::text::Text;

// Mirrors of the domain's enums for the spec; poem-openapi derives the conversions
// both ways (`remote`), so a variant added in the domain fails to compile here.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case", remote = "payport_domain::OrderStatus")]
pub enum OrderStatus {
    Pending,
    Paid,
    PartiallyRefunded,
    Refunded,
    Closed,
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(
    rename_all = "snake_case",
    remote = "payport_domain::refund::RefundStatus"
)]
pub enum RefundStatus {
    PendingApproval,
    Approved,
    Rejected,
    Processing,
    AwaitingOperator,
    Succeeded,
    Failed,
}

/// Which Alipay interface carries a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(
    rename_all = "snake_case",
    remote = "payport_domain::refund::RefundGatewayKind"
)]
pub enum RefundGateway {
    /// `alipay.trade.refund` (RSA2).
    #[oai(rename = "openapi")]
    OpenApi,
    /// Legacy `refund_fastpay_by_platform_nopwd` (MD5), server to server.
    #[oai(rename = "mapi_nopwd")]
    MapiNoPwd,
    /// Legacy `refund_fastpay_by_platform_pwd` (MD5): an operator confirms on Alipay.
    MapiPwd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(
    rename_all = "snake_case",
    remote = "payport_domain::ports::PaymentMethod"
)]
pub enum PaymentMethod {
    /// Computer website: a pay URL and an auto-submit form.
    Page,
    /// Mobile website: a pay URL and an auto-submit form.
    Wap,
    /// The merchant's app: an order string for the Alipay app SDK.
    App,
    /// A QR code the buyer scans (`qr_code`, and `qr_svg` to show).
    Qr,
}

/// Alipay's definitive refusal.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Failure {
    pub code: String,
    pub sub_code: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Refund {
    pub refund_id: String,
    pub out_trade_no: String,
    /// The key Alipay deduplicates on; kept for every retry of this refund.
    pub out_request_no: String,
    pub amount: String,
    pub reason: Option<String>,
    pub gateway: RefundGateway,
    pub status: RefundStatus,
    /// Set when `failed`.
    pub failure: Option<Failure>,
    /// Why the outcome is not known yet, while `processing`.
    pub last_error: Option<String>,
    /// Set when `rejected`.
    pub rejection_reason: Option<String>,
    /// The form an operator submits to confirm on Alipay (`mapi_pwd` only; shown to
    /// operators only).
    pub operator_form_html: Option<String>,
    pub batch_no: Option<String>,
    /// How often it was sent to Alipay (always with the same out_request_no).
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Increases with every change of the refund: of two copies (say, two webhook
    /// events arriving out of order), the one with the higher version is newer.
    pub version: i64,
    /// Made outside payport, e.g. in Alipay's merchant console, and recorded once
    /// payport learned of it (already `succeeded`); never sent by payport.
    pub external: bool,
}

impl From<DomainRefund> for Refund {
    fn from(r: DomainRefund) -> Self {
        Refund {
            refund_id: r.refund_id.to_string(),
            out_trade_no: r.out_trade_no.to_string(),
            out_request_no: r.out_request_no.to_string(),
            amount: r.amount.to_string(),
            reason: r.reason,
            gateway: r.gateway.into(),
            status: r.status.into(),
            failure: r.failure.map(|f| Failure {
                code: f.code,
                sub_code: f.sub_code,
                message: f.message,
            }),
            last_error: r.last_error,
            rejection_reason: r.rejection_reason,
            operator_form_html: r.operator_form_html,
            batch_no: r.batch_no.map(|b| b.to_string()),
            attempts: r.attempts,
            created_at: r.created_at,
            completed_at: r.completed_at,
            version: r.version,
            external: r.external,
        }
    }
}

impl Refund {
    /// The refund as `role` may see it: merchants never get the operator's form.
    pub fn seen_by(mut self, role: Role) -> Refund {
        if role == Role::Merchant {
            self.operator_form_html = None;
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Order {
    pub out_trade_no: String,
    pub subject: String,
    pub body: Option<String>,
    pub total_amount: String,
    pub status: OrderStatus,
    /// Alipay's trade number, once paid.
    pub trade_no: Option<String>,
    /// What succeeded refunds returned.
    pub refunded_amount: String,
    /// What a new refund may still ask for: the total less every refund that is not
    /// rejected or failed (in-flight refunds count).
    pub refundable_amount: String,
    /// Alipay confirmed a payment after the order was closed: money was taken.
    pub paid_after_close: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Increases with every change of the order itself (its refunds have their own):
    /// of two copies, the one with the higher version is newer.
    pub version: i64,
    /// The order's refunds, oldest first. Left out of order lists answered to a
    /// merchant: refunds across orders are the operator's (`GET /v1/refunds`); ask for
    /// one order to see its refunds.
    pub refunds: Option<Vec<Refund>>,
}

impl Order {
    /// The order with its refunds, as `role` may see them.
    pub fn from_domain(order: DomainOrder, refunds: Vec<DomainRefund>, role: Role) -> Order {
        let reserved = Amount::sum(
            refunds
                .iter()
                .filter(|r| r.status.holds_reservation())
                .map(|r| r.amount),
        )
        .unwrap_or(Amount::MAX);
        let refundable = match order.status {
            DomainOrderStatus::Paid | DomainOrderStatus::PartiallyRefunded => {
                order.total_amount.saturating_sub(reserved)
            }
            _ => Amount::ZERO,
        };
        Order {
            out_trade_no: order.out_trade_no.to_string(),
            subject: order.subject,
            body: order.body,
            total_amount: order.total_amount.to_string(),
            status: order.status.into(),
            trade_no: order.trade_no.map(|t| t.to_string()),
            refunded_amount: order.refunded_amount.to_string(),
            refundable_amount: refundable.to_string(),
            paid_after_close: order.paid_after_close,
            created_at: order.created_at,
            expires_at: order.expires_at,
            paid_at: order.paid_at,
            closed_at: order.closed_at,
            version: order.version,
            refunds: Some(
                refunds
                    .into_iter()
                    .map(|r| Refund::from(r).seen_by(role))
                    .collect(),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OrderPage {
    pub items: Vec<Order>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RefundPage {
    pub items: Vec<Refund>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CreateOrder {
    /// Shown to the buyer; 1 to 256 characters, not blank, no control characters.
    #[oai(validator(
        max_length = 256,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    ))]
    pub subject: Text,
    /// `"0.01"` to `"100000000.00"`, at most two decimals.
    pub total_amount: AmountText,
    /// Your own order number (letters, digits, `_`; ≤64); payport picks one if absent.
    #[oai(
        nullable,
        validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$")
    )]
    pub out_trade_no: Option<Text>,
    /// Up to 128 characters, no control characters.
    #[oai(
        nullable,
        validator(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub body: Option<Text>,
    /// How long the buyer has to pay (1 to 21600 minutes; default 30).
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "21600")))]
    pub timeout_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct StartPayment {
    pub method: PaymentMethod,
    /// Where the buyer's browser goes after paying (page/wap), after payport has
    /// verified Alipay's return. An absolute http(s) URL of at most 1024 characters.
    #[oai(
        nullable,
        validator(max_length = 1024, pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$")
    )]
    pub return_url: Option<Text>,
    /// Where the wap cashier's back button goes (an absolute http(s) URL).
    #[oai(
        nullable,
        validator(max_length = 1024, pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$")
    )]
    pub quit_url: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Payment {
    pub method: PaymentMethod,
    /// page/wap: open this URL in the buyer's browser.
    pub pay_url: Option<String>,
    /// page/wap: or render this auto-submitting form.
    pub form_html: Option<String>,
    /// app: hand this to the Alipay app SDK.
    pub order_string: Option<String>,
    /// qr: the content of the QR code.
    pub qr_code: Option<String>,
    /// qr: the QR code as SVG, ready to show.
    pub qr_svg: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CreateRefund {
    /// `"0.01"` up to what is refundable.
    pub amount: AmountText,
    /// Up to 256 characters, no control characters.
    #[oai(
        nullable,
        validator(max_length = 256, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub reason: Option<Text>,
    /// Your own retry key for this refund (letters, digits, `_`; ≤64). When absent,
    /// payport derives it from the `Idempotency-Key` if one is sent, else picks one.
    #[oai(
        nullable,
        validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$")
    )]
    pub out_request_no: Option<Text>,
    /// Defaults to the configured gateway (`openapi`).
    #[oai(nullable)]
    pub gateway: Option<RefundGateway>,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct RejectRefund {
    /// 1 to 256 characters, not blank, no control characters.
    #[oai(validator(
        max_length = 256,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    ))]
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct CreateOperatorBatch {
    /// `mapi_pwd` refunds pending approval or approved, of different orders; 1 to 1000.
    #[oai(validator(
        min_items = 1,
        max_items = 1000,
        max_length = 64,
        pattern = r"^[A-Za-z0-9_]{1,64}$"
    ))]
    pub refund_ids: Vec<Text>,
}

/// One legacy password-flow batch: the operator opens `operator_form_html` and
/// confirms all its refunds on Alipay with the payment password.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct OperatorBatch {
    pub batch_no: String,
    pub operator_form_html: String,
    pub refunds: Vec<Refund>,
}
