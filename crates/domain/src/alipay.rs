//! Alipay's own vocabulary, mapped exhaustively onto payport's.
//!
//! An unknown wire value is an error, never a silent "pending": an Alipay status we do
//! not understand must stop processing, not be guessed.

/// `trade_status` as Alipay sends it in notifications and `alipay.trade.query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlipayTradeStatus {
    /// Created, not paid yet.
    WaitBuyerPay,
    /// Paid and refundable.
    TradeSuccess,
    /// Closed unpaid, or fully refunded after payment.
    TradeClosed,
    /// Paid and no longer refundable.
    TradeFinished,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Alipay {field} {value:?}")]
pub struct UnknownWireValue {
    pub field: &'static str,
    pub value: String,
}

impl AlipayTradeStatus {
    /// # Errors
    /// [`UnknownWireValue`] for anything but the four documented statuses.
    pub fn parse(wire: &str) -> Result<Self, UnknownWireValue> {
        match wire {
            "WAIT_BUYER_PAY" => Ok(Self::WaitBuyerPay),
            "TRADE_SUCCESS" => Ok(Self::TradeSuccess),
            "TRADE_CLOSED" => Ok(Self::TradeClosed),
            "TRADE_FINISHED" => Ok(Self::TradeFinished),
            other => Err(UnknownWireValue {
                field: "trade_status",
                value: crate::clip::clip(other),
            }),
        }
    }

    pub fn as_wire(self) -> &'static str {
        match self {
            Self::WaitBuyerPay => "WAIT_BUYER_PAY",
            Self::TradeSuccess => "TRADE_SUCCESS",
            Self::TradeClosed => "TRADE_CLOSED",
            Self::TradeFinished => "TRADE_FINISHED",
        }
    }
}

/// `refund_status` of `alipay.trade.fastpay.refund.query`.
///
/// PROTOCOL.md A7: `REFUND_SUCCESS` means refunded; an absent status means Alipay did not
/// receive the refund or it failed, which is safe to retry with the same out_request_no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlipayRefundStatus {
    RefundSuccess,
    NotRefunded,
}

impl AlipayRefundStatus {
    /// # Errors
    /// [`UnknownWireValue`] for a status other than `REFUND_SUCCESS` or empty/absent.
    pub fn parse(wire: Option<&str>) -> Result<Self, UnknownWireValue> {
        match wire {
            Some("REFUND_SUCCESS") => Ok(Self::RefundSuccess),
            None | Some("") => Ok(Self::NotRefunded),
            Some(other) => Err(UnknownWireValue {
                field: "refund_status",
                value: crate::clip::clip(other),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_trade_statuses_round_trip() {
        for status in [
            AlipayTradeStatus::WaitBuyerPay,
            AlipayTradeStatus::TradeSuccess,
            AlipayTradeStatus::TradeClosed,
            AlipayTradeStatus::TradeFinished,
        ] {
            assert_eq!(AlipayTradeStatus::parse(status.as_wire()), Ok(status));
        }
    }

    #[test]
    fn unknown_or_miscased_statuses_are_errors_not_pending() {
        for bad in ["", "trade_success", "TRADE_PENDING", "WAIT_BUYER_PAY "] {
            assert_eq!(
                AlipayTradeStatus::parse(bad).unwrap_err().field,
                "trade_status"
            );
        }
        assert!(AlipayRefundStatus::parse(Some("REFUND_PROCESSING")).is_err());
    }

    #[test]
    fn absent_refund_status_means_not_refunded() {
        assert_eq!(
            AlipayRefundStatus::parse(None),
            Ok(AlipayRefundStatus::NotRefunded)
        );
        assert_eq!(
            AlipayRefundStatus::parse(Some("REFUND_SUCCESS")),
            Ok(AlipayRefundStatus::RefundSuccess)
        );
    }
}
