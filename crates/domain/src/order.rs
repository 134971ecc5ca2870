//! The order aggregate and its state machine.
//!
//! ```text
//! pending ─pay─▶ paid ─refund─▶ partially_refunded ─refund─▶ refunded
//!    │             │                   │
//!  close           └──── finish ───────┴──▶ finished   (TRADE_FINISHED: no more refunds)
//!    ▼
//! closed ─pay─▶ paid   (late payment: recorded and flagged, money must not be lost)
//! ```
//!
//! Fields are public for storage adapters; change `status` only through the methods.

use chrono::{DateTime, Duration, Utc};

use crate::error::TransitionError;
use crate::ids::{OutTradeNo, TradeNo};
use crate::money::Amount;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Pending,
    Paid,
    PartiallyRefunded,
    Refunded,
    Closed,
    Finished,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        Self::Pending,
        Self::Paid,
        Self::PartiallyRefunded,
        Self::Refunded,
        Self::Closed,
        Self::Finished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
            Self::Closed => "closed",
            Self::Finished => "finished",
        }
    }

    /// The inverse of [`OrderStatus::as_str`]; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Proof of payment, taken from a verified notification, return or trade query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentConfirmation {
    pub trade_no: TradeNo,
    pub paid_at: DateTime<Utc>,
    pub buyer_id: Option<String>,
    pub buyer_logon_id: Option<String>,
}

/// What confirming a payment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentRecorded {
    Recorded,
    /// The order had been closed locally: recorded anyway, and flagged.
    RecordedAfterClose,
    /// The same payment was already recorded (repeated notification): nothing changed.
    AlreadyRecorded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub out_trade_no: OutTradeNo,
    pub subject: String,
    pub body: Option<String>,
    pub total_amount: Amount,
    pub status: OrderStatus,
    pub trade_no: Option<TradeNo>,
    pub buyer_id: Option<String>,
    pub buyer_logon_id: Option<String>,
    /// Sum of succeeded refunds; reservations of in-flight refunds are not included.
    pub refunded_amount: Amount,
    /// Where the buyer's browser goes after paying (set when a payment starts).
    pub return_url: Option<String>,
    /// Set when Alipay confirmed a payment after the order was closed locally.
    pub paid_after_close: bool,
    /// When the buyer was first sent to pay (the first `start_payment`).
    pub payment_started_at: Option<DateTime<Utc>>,
    /// When the catch-up worker should next ask Alipay whether this pending order was
    /// paid (a payment notification can be lost). `None` once the order is no longer
    /// pending, or before a payment started. Also the worker's claim: claiming pushes
    /// it out by the lease. Stores write it with every save, and alone through
    /// [`crate::ports::WorkQueue::schedule_payment_check`] without a new version.
    pub payment_check_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: a save succeeds only against this version.
    pub version: i64,
}

impl Order {
    pub const MAX_SUBJECT_CHARS: usize = 256;
    pub const MAX_BODY_CHARS: usize = 128;

    pub fn new(
        out_trade_no: OutTradeNo,
        subject: String,
        body: Option<String>,
        total_amount: Amount,
        now: DateTime<Utc>,
        time_to_pay: Duration,
    ) -> Order {
        Order {
            out_trade_no,
            subject,
            body,
            total_amount,
            status: OrderStatus::Pending,
            trade_no: None,
            buyer_id: None,
            buyer_logon_id: None,
            refunded_amount: Amount::ZERO,
            return_url: None,
            paid_after_close: false,
            payment_started_at: None,
            payment_check_at: None,
            created_at: now,
            expires_at: now + time_to_pay,
            paid_at: None,
            closed_at: None,
            finished_at: None,
            updated_at: now,
            version: 0,
        }
    }

    /// What succeeded refunds have not yet returned.
    pub fn unrefunded_amount(&self) -> Amount {
        self.total_amount.saturating_sub(self.refunded_amount)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.status == OrderStatus::Pending && now >= self.expires_at
    }

    fn refuse(&self, action: &'static str) -> TransitionError {
        TransitionError::new("order", self.status.as_str(), action)
    }

    /// Records a payment Alipay confirmed. Repeated confirmations are no-ops.
    ///
    /// # Errors
    /// A different `trade_no` for an order that is already paid.
    pub fn confirm_payment(
        &mut self,
        payment: PaymentConfirmation,
        now: DateTime<Utc>,
    ) -> Result<PaymentRecorded, TransitionError> {
        let recorded = match self.status {
            OrderStatus::Pending => PaymentRecorded::Recorded,
            OrderStatus::Closed => PaymentRecorded::RecordedAfterClose,
            OrderStatus::Paid
            | OrderStatus::PartiallyRefunded
            | OrderStatus::Refunded
            | OrderStatus::Finished => {
                return if self.trade_no.as_ref() == Some(&payment.trade_no) {
                    Ok(PaymentRecorded::AlreadyRecorded)
                } else {
                    Err(self.refuse("confirm a second payment (different trade_no)"))
                };
            }
        };
        self.status = OrderStatus::Paid;
        self.paid_after_close |= recorded == PaymentRecorded::RecordedAfterClose;
        self.trade_no = Some(payment.trade_no);
        self.buyer_id = payment.buyer_id;
        self.buyer_logon_id = payment.buyer_logon_id;
        self.paid_at = Some(payment.paid_at);
        self.payment_check_at = None;
        self.updated_at = now;
        Ok(recorded)
    }

    /// Closes an unpaid order. Returns `false` if it was already closed.
    ///
    /// # Errors
    /// The order is paid (or beyond): closing would hide money taken.
    pub fn close(&mut self, now: DateTime<Utc>) -> Result<bool, TransitionError> {
        match self.status {
            OrderStatus::Pending => {
                self.status = OrderStatus::Closed;
                self.closed_at = Some(now);
                self.payment_check_at = None;
                self.updated_at = now;
                Ok(true)
            }
            OrderStatus::Closed => Ok(false),
            OrderStatus::Paid
            | OrderStatus::PartiallyRefunded
            | OrderStatus::Refunded
            | OrderStatus::Finished => Err(self.refuse("close")),
        }
    }

    /// Alipay says TRADE_FINISHED: no more refunds. Returns `false` if nothing changed.
    ///
    /// # Errors
    /// The order is not paid: confirm the payment first.
    pub fn finish(&mut self, now: DateTime<Utc>) -> Result<bool, TransitionError> {
        match self.status {
            OrderStatus::Paid | OrderStatus::PartiallyRefunded => {
                self.status = OrderStatus::Finished;
                self.finished_at = Some(now);
                self.updated_at = now;
                Ok(true)
            }
            // A fully refunded trade has nothing left to refund either.
            OrderStatus::Finished | OrderStatus::Refunded => Ok(false),
            OrderStatus::Pending | OrderStatus::Closed => Err(self.refuse("finish")),
        }
    }

    /// Adds a succeeded refund to `refunded_amount`.
    ///
    /// # Errors
    /// The order was never paid, or the refunds would exceed the total.
    pub fn record_refund(
        &mut self,
        amount: Amount,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        match self.status {
            OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Finished => {}
            OrderStatus::Pending | OrderStatus::Closed | OrderStatus::Refunded => {
                return Err(self.refuse("record a refund"))
            }
        }
        let refunded = self
            .refunded_amount
            .checked_add(amount)
            .filter(|r| *r <= self.total_amount)
            .ok_or_else(|| self.refuse("record refunds beyond the total"))?;
        self.refunded_amount = refunded;
        // A refund that completes after TRADE_FINISHED is counted but the order stays
        // finished; otherwise the status follows what is left.
        if self.status != OrderStatus::Finished {
            self.status = if refunded == self.total_amount {
                OrderStatus::Refunded
            } else {
                OrderStatus::PartiallyRefunded
            };
        }
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
    }

    fn order(total: &str) -> Order {
        Order::new(
            OutTradeNo::parse("o1").unwrap(),
            "Tea".into(),
            None,
            Amount::parse(total).unwrap(),
            at(0),
            Duration::minutes(30),
        )
    }

    fn payment(trade_no: &str) -> PaymentConfirmation {
        PaymentConfirmation {
            trade_no: TradeNo::parse(trade_no).unwrap(),
            paid_at: at(60),
            buyer_id: Some("2088000000000001".into()),
            buyer_logon_id: None,
        }
    }

    #[test]
    fn payment_then_partial_then_full_refund() {
        let mut o = order("10.00");
        assert_eq!(
            o.confirm_payment(payment("T1"), at(60)),
            Ok(PaymentRecorded::Recorded)
        );
        assert_eq!(o.status, OrderStatus::Paid);
        o.record_refund(Amount::parse("4.00").unwrap(), at(70))
            .unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyRefunded);
        assert_eq!(o.unrefunded_amount().to_string(), "6.00");
        o.record_refund(Amount::parse("6.00").unwrap(), at(80))
            .unwrap();
        assert_eq!(o.status, OrderStatus::Refunded);
        assert!(o
            .record_refund(Amount::parse("0.01").unwrap(), at(90))
            .is_err());
    }

    #[test]
    fn repeated_confirmation_is_a_no_op_but_a_second_trade_is_refused() {
        let mut o = order("1.00");
        o.confirm_payment(payment("T1"), at(60)).unwrap();
        let before = o.clone();
        assert_eq!(
            o.confirm_payment(payment("T1"), at(99)),
            Ok(PaymentRecorded::AlreadyRecorded)
        );
        assert_eq!(o, before);
        assert!(o.confirm_payment(payment("T2"), at(99)).is_err());
    }

    #[test]
    fn payment_after_close_is_recorded_and_flagged() {
        let mut o = order("1.00");
        assert_eq!(o.close(at(10)), Ok(true));
        assert_eq!(o.close(at(11)), Ok(false));
        assert_eq!(
            o.confirm_payment(payment("T1"), at(60)),
            Ok(PaymentRecorded::RecordedAfterClose)
        );
        assert_eq!(o.status, OrderStatus::Paid);
        assert!(o.paid_after_close);
    }

    #[test]
    fn paid_orders_cannot_be_closed_and_unpaid_cannot_finish() {
        let mut o = order("1.00");
        assert!(o.finish(at(1)).is_err());
        o.confirm_payment(payment("T1"), at(60)).unwrap();
        let err = o.close(at(61)).unwrap_err();
        assert_eq!(err.to_string(), "cannot close an order that is paid");
        assert_eq!(o.finish(at(62)), Ok(true));
        assert_eq!(o.finish(at(63)), Ok(false));
        // A refund that was in flight when the trade finished is still counted.
        o.record_refund(Amount::parse("1.00").unwrap(), at(64))
            .unwrap();
        assert_eq!(o.status, OrderStatus::Finished);
        assert_eq!(o.refunded_amount.to_string(), "1.00");
    }

    #[test]
    fn expiry_only_concerns_pending_orders() {
        let o = order("1.00");
        assert!(!o.is_expired(at(60)));
        assert!(o.is_expired(at(30 * 60)));
    }

    #[test]
    fn status_names_round_trip_and_unknown_names_are_rejected() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("PAID"), None);
    }
}
