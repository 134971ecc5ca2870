//! Refund policy (approval, window) and the over-refund invariant.
//!
//! [`admit_refund`] is the one rule every `RefundRepository::reserve` implementation
//! runs inside its transaction, with the order row locked, so that it holds across
//! concurrent requests and several payport instances: for every order, the refunds
//! not rejected or failed never exceed its total ([`check_reservation`]), and the
//! approval threshold applies to all of them together, not to each one alone.

use chrono::{DateTime, Duration, Utc};

use crate::money::Amount;
use crate::order::{Order, OrderStatus};
use crate::refund::{NewRefund, Refund, RefundGatewayKind, RefundStatus};

/// Whether a refund request needs an operator's approval before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalPolicy {
    /// Every refund is sent at once.
    Auto,
    /// Every refund waits for an operator.
    Manual,
    /// A refund waits for an operator when it takes the order's refunds above this
    /// amount: what earlier refunds hold (refunded, or reserved and not rejected or
    /// failed) plus this one. Splitting a refund into small ones cannot avoid it.
    ManualAbove(Amount),
}

impl ApprovalPolicy {
    /// The first status of a refund of `amount` when the order's other refunds already
    /// hold `held`.
    pub fn initial_status(self, held: Amount, amount: Amount) -> RefundStatus {
        let needs_operator = match self {
            ApprovalPolicy::Auto => false,
            ApprovalPolicy::Manual => true,
            // An overflowing sum is far above any limit.
            ApprovalPolicy::ManualAbove(limit) => {
                held.checked_add(amount).is_none_or(|sum| sum > limit)
            }
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

/// What a reservation runs under its lock: the invariant ([`check_reservation`]),
/// then the refund's first status from `held`, the sum the order's refunds hold. An
/// approved refund to be sent at once is then marked sent in the same transaction
/// ([`crate::event::reservation_steps`]).
///
/// # Errors
/// [`ReservationRefused`]; nothing is to be stored then.
pub fn admit_refund(
    order_status: OrderStatus,
    total: Amount,
    held: Amount,
    new: &NewRefund,
) -> Result<Refund, ReservationRefused> {
    check_reservation(order_status, total, held, new.amount)?;
    let status = new.approval.initial_status(held, new.amount);
    Ok(new.clone().into_refund(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuan(text: &str) -> Amount {
        Amount::parse_reported(text).unwrap()
    }

    #[test]
    fn approval_policies() {
        let (none, ten) = (Amount::ZERO, yuan("10.00"));
        assert_eq!(
            ApprovalPolicy::Auto.initial_status(yuan("99.00"), ten),
            RefundStatus::Approved
        );
        assert_eq!(
            ApprovalPolicy::Manual.initial_status(none, yuan("0.01")),
            RefundStatus::PendingApproval
        );
        let above = ApprovalPolicy::ManualAbove(ten);
        assert_eq!(above.initial_status(none, ten), RefundStatus::Approved);
        assert_eq!(
            above.initial_status(none, yuan("10.01")),
            RefundStatus::PendingApproval
        );
    }

    #[test]
    fn the_threshold_counts_what_the_order_already_holds() {
        let above = ApprovalPolicy::ManualAbove(yuan("5.00"));
        let five = yuan("5.00");
        // Four refunds of 5.00 in a row: only the first stays within 5.00.
        let mut held = Amount::ZERO;
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(above.initial_status(held, five));
            held = held.checked_add(five).unwrap();
        }
        assert_eq!(
            statuses,
            [
                RefundStatus::Approved,
                RefundStatus::PendingApproval,
                RefundStatus::PendingApproval,
                RefundStatus::PendingApproval
            ]
        );
        assert_eq!(
            above.initial_status(yuan("4.99"), yuan("0.01")),
            RefundStatus::Approved
        );
        assert_eq!(
            above.initial_status(yuan("4.99"), yuan("0.02")),
            RefundStatus::PendingApproval
        );
        assert_eq!(
            above.initial_status(Amount::MAX, yuan("0.01")),
            RefundStatus::PendingApproval
        );
    }

    /// A refund of 5.00, held for an operator above 5.00 in all.
    fn asked(send_at_once: Option<crate::refund::SendAtOnce>) -> NewRefund {
        use crate::ids::{OutRequestNo, OutTradeNo, RefundId};
        NewRefund {
            refund_id: RefundId::parse("rf_1").unwrap(),
            out_trade_no: OutTradeNo::parse("o1").unwrap(),
            out_request_no: OutRequestNo::parse("r1").unwrap(),
            amount: yuan("5.00"),
            reason: None,
            gateway: RefundGatewayKind::OpenApi,
            approval: ApprovalPolicy::ManualAbove(yuan("5.00")),
            created_at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            send_at_once,
        }
    }

    #[test]
    fn admitting_a_refund_checks_the_total_then_chooses_its_status() {
        let new = asked(None);
        let paid = OrderStatus::Paid;
        let first = admit_refund(paid, yuan("20.00"), Amount::ZERO, &new).unwrap();
        assert_eq!(first.status, RefundStatus::Approved);
        let second = admit_refund(paid, yuan("20.00"), yuan("5.00"), &new).unwrap();
        assert_eq!(second.status, RefundStatus::PendingApproval);
        assert_eq!(
            admit_refund(paid, yuan("20.00"), yuan("15.01"), &new),
            Err(ReservationRefused::ExceedsRefundable {
                refundable: yuan("4.99")
            })
        );
    }

    #[test]
    fn a_refund_sent_at_once_is_marked_sent_unless_it_waits_for_an_operator() {
        use crate::ids::{BatchNo, EventId};
        let batch_no = BatchNo::parse("20261121001").unwrap();
        let new = NewRefund {
            gateway: RefundGatewayKind::MapiNoPwd,
            ..asked(Some(crate::refund::SendAtOnce {
                event_id: EventId::parse("evt_2").unwrap(),
                batch_no: Some(batch_no.clone()),
            }))
        };
        let paid = OrderStatus::Paid;
        let admitted = admit_refund(paid, yuan("20.00"), Amount::ZERO, &new).unwrap();
        assert_eq!(admitted.status, RefundStatus::Approved);
        let sent = new.sent_at_once(&admitted).unwrap();
        assert_eq!((sent.status, sent.attempts), (RefundStatus::Processing, 1));
        assert_eq!(sent.submitted_at, Some(new.created_at));
        assert_eq!(sent.batch_no, Some(batch_no));
        assert_eq!(sent.version, admitted.version, "saved conditionally on it");
        let held = admit_refund(paid, yuan("20.00"), yuan("5.00"), &new).unwrap();
        assert_eq!(held.status, RefundStatus::PendingApproval);
        assert_eq!(new.sent_at_once(&held), None);
        assert_eq!(asked(None).sent_at_once(&admitted), None);
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
