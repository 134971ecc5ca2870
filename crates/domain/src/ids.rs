//! Identifiers, parsed once at the edge so that the rest of the code can trust them.
//!
//! Merchant-chosen ids (`OutTradeNo`, `OutRequestNo`) are restricted to ASCII letters,
//! digits and `_`: Alipay's documented alphabet for `out_trade_no`, and free of the
//! `^ | $ #` separators the legacy mapi `detail_data` format uses.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is invalid: {rule}")]
pub struct IdError {
    pub kind: &'static str,
    /// The refused value, [clipped](crate::clip::clip): it may be any size.
    pub value: String,
    pub rule: &'static str,
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, max = $max:literal, $allowed:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            /// # Errors
            /// [`IdError`] when the value is empty, too long or has other characters.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                let allowed: fn(char) -> bool = $allowed;
                if value.is_empty() || value.len() > $max || !value.chars().all(allowed) {
                    return Err(IdError { kind: $kind, value: crate::clip::clip(&value), rule: $rule });
                }
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

string_id!(
    /// The merchant's order number, unique per merchant (Alipay `out_trade_no`).
    OutTradeNo, "out_trade_no", max = 64, word_char,
    "1 to 64 letters, digits or underscores"
);
string_id!(
    /// The merchant's refund request number, unique within an order; Alipay dedupes
    /// retries on it, so one refund keeps one number for life.
    OutRequestNo, "out_request_no", max = 64, word_char,
    "1 to 64 letters, digits or underscores"
);
string_id!(
    /// Alipay's trade number (`trade_no`).
    TradeNo, "trade_no", max = 64, |c| c.is_ascii_alphanumeric(),
    "1 to 64 letters or digits"
);
string_id!(
    /// payport's own refund id.
    RefundId, "refund_id", max = 64, word_char,
    "1 to 64 letters, digits or underscores"
);
string_id!(
    /// The Alipay application id (`app_id`).
    AppId, "app_id", max = 32, |c| c.is_ascii_digit(),
    "1 to 32 digits"
);
string_id!(
    /// The seller's Alipay user id (`seller_id`, `2088` + 12 digits).
    SellerId, "seller_id", max = 32, |c| c.is_ascii_digit(),
    "1 to 32 digits"
);
string_id!(
    /// A legacy mapi batch number (`batch_no`): Beijing date plus a serial.
    BatchNo, "batch_no", max = 32, |c| c.is_ascii_digit(),
    "1 to 32 digits"
);

string_id!(
    /// An event's id (`evt_...`): the receiver's dedupe key for webhook deliveries.
    EventId, "event_id", max = 64, word_char,
    "1 to 64 letters, digits or underscores"
);
string_id!(
    /// A webhook endpoint's id (`we_...`).
    EndpointId, "endpoint_id", max = 64, word_char,
    "1 to 64 letters, digits or underscores"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_trade_no_follows_alipays_alphabet() {
        assert!(OutTradeNo::parse("ORDER_20261121_0001").is_ok());
        assert!(OutTradeNo::parse("a".repeat(64)).is_ok());
        for bad in ["", "has space", "dash-ed", "a^b", "订单1", &"a".repeat(65)] {
            let err = OutTradeNo::parse(bad).unwrap_err();
            assert_eq!(err.kind, "out_trade_no");
        }
    }

    #[test]
    fn error_names_the_field_and_the_rule() {
        let err = OutRequestNo::parse("r#1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "out_request_no \"r#1\" is invalid: 1 to 64 letters, digits or underscores"
        );
    }

    #[test]
    fn a_huge_value_is_clipped_in_the_error() {
        let err = TradeNo::parse("x".repeat(2_000_000)).unwrap_err();
        assert!(err.to_string().len() < 200, "{}", err.to_string().len());
    }

    #[test]
    fn alipay_ids_are_digits() {
        assert!(TradeNo::parse("2026112122001400000000000001").is_ok());
        assert!(SellerId::parse("2088102000000000").is_ok());
        assert!(SellerId::parse("2088x").is_err());
        assert!(BatchNo::parse("20261121001").is_ok());
    }
}
