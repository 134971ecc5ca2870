//! Refund policy (approval, window) and the over-refund invariant.
//!
//! [`check_reservation`] is the one rule every `RefundRepository::reserve`
//! implementation runs inside its transaction, with the order row locked, so that the
//! invariant holds across concurrent requests and several payport instances:
//! for every order, the refunds not rejected or failed never exceed its total.

use chrono::{DateTime, Duration, Utc};

use crate::money::Amount;
use crate::order::{Order, OrderStatus};
use crate::refund::{RefundGatewayKind, RefundStatus};

/// Whether a refund request needs an operator's approval before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalPolicy {
    /// Every refund is sent at once.
    Auto,
    /// Every refund waits for an operator.
    Manual,
    /// Refunds above this amount wait for an operator; others are sent at once.
    ManualAbove(Amount),
}

impl ApprovalPolicy {
    pub fn initial_status(self, amount: Amount) -> RefundStatus {
        let needs_operator = match self {
            ApprovalPolicy::Auto => false,
            ApprovalPolicy::Manual => true,
            ApprovalPolicy::ManualAbove(limit) => amount > limit,
        };
        if needs_operator {
            RefundStatus::PendingApproval
        } else {
            RefundStatus::Approved
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPolicy {
    pub approval: ApprovalPolicy,
    /// Refunds are refused once this long has passed since payment.
    pub window: Duration,
    /// The gateway used when a request names none.
    pub default_gateway: RefundGatewayKind,
}

impl Default for RefundPolicy {
    fn default() -> Self {
        RefundPolicy {
            approval: ApprovalPolicy::Auto,
            window: Duration::days(Self::DEFAULT_WINDOW_DAYS),
            default_gateway: RefundGatewayKind::OpenApi,
        }
    }
}

impl RefundPolicy {
    /// About three months, as Alipay's demos cite; the contract may say otherwise.
    pub const DEFAULT_WINDOW_DAYS: i64 = 90;

    /// Whether the refund window of a paid order has closed at `now`.
    pub fn window_expired(&self, order: &Order, now: DateTime<Utc>) -> bool {
        order.paid_at.is_some_and(|paid| now > paid + self.window)
    }
}

/// Why an amount cannot be reserved against an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReservationRefused {
    #[error("the order is {} and cannot be refunded", .0.as_str())]
    OrderNotRefundable(OrderStatus),
    #[error("only {refundable} is left to refund")]
    ExceedsRefundable { refundable: Amount },
}

/// The invariant check: `reserved` is the sum of the order's refunds that still hold
/// their amount (not rejected, not failed), read under the same lock as the insert.
///
/// # Errors
/// [`ReservationRefused`] when the order is not refundable or the amount does not fit.
pub fn check_reservation(
    order_status: OrderStatus,
    total: Amount,
    reserved: Amount,
    amount: Amount,
) -> Result<(), ReservationRefused> {
    match order_status {
        OrderStatus::Paid | OrderStatus::PartiallyRefunded => {}
        // Nothing is left, which a caller understands better than "not refundable".
        OrderStatus::Refunded => {
            return Err(ReservationRefused::ExceedsRefundable {
                refundable: Amount::ZERO,
            })
        }
        OrderStatus::Pending | OrderStatus::Closed | OrderStatus::Finished => {
            return Err(ReservationRefused::OrderNotRefundable(order_status))
        }
    }
    let refundable = total.saturating_sub(reserved);
    if amount > refundable {
        return Err(ReservationRefused::ExceedsRefundable { refundable });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuan(text: &str) -> Amount {
        Amount::parse_reported(text).unwrap()
    }

    #[test]
    fn approval_policies() {
        let ten = yuan("10.00");
        assert_eq!(
            ApprovalPolicy::Auto.initial_status(ten),
            RefundStatus::Approved
        );
        assert_eq!(
            ApprovalPolicy::Manual.initial_status(yuan("0.01")),
            RefundStatus::PendingApproval
        );
        let above = ApprovalPolicy::ManualAbove(ten);
        assert_eq!(above.initial_status(ten), RefundStatus::Approved);
        assert_eq!(
            above.initial_status(yuan("10.01")),
            RefundStatus::PendingApproval
        );
    }

    #[test]
    fn reservation_fits_exactly_and_not_a_fen_more() {
        let total = yuan("10.00");
        let paid = OrderStatus::PartiallyRefunded;
        assert_eq!(
            check_reservation(paid, total, yuan("6.00"), yuan("4.00")),
            Ok(())
        );
        assert_eq!(
            check_reservation(paid, total, yuan("6.00"), yuan("4.01")),
            Err(ReservationRefused::ExceedsRefundable {
                refundable: yuan("4.00")
            })
        );
    }

    #[test]
    fn unpaid_closed_finished_and_refunded_orders_refuse() {
        let (t, z, a) = (yuan("1.00"), Amount::ZERO, yuan("0.01"));
        for status in [
            OrderStatus::Pending,
            OrderStatus::Closed,
            OrderStatus::Finished,
        ] {
            assert_eq!(
                check_reservation(status, t, z, a),
                Err(ReservationRefused::OrderNotRefundable(status))
            );
        }
        assert!(matches!(
            check_reservation(OrderStatus::Refunded, t, t, a),
            Err(ReservationRefused::ExceedsRefundable { .. })
        ));
    }
}
