//! Money as an integer count of fen (1 yuan = 100 fen). Never a float.
//!
//! `Amount` parses and prints exactly Alipay's wire format: digits, optionally a dot
//! and one or two decimals, no sign, exponent, whitespace or superfluous leading zero.

use std::fmt;
use std::str::FromStr;

use crate::clip::clip;

/// A non-negative amount of CNY in fen, at most [`Amount::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

/// Why an amount was refused; the text it carries is [clipped](crate::clip::clip).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error("amount {0:?} is not a decimal like \"88.88\" (digits, at most two decimals, no sign, exponent or spaces)")]
    Format(String),
    #[error("amount {0:?} is outside 0.01 ... 100000000.00")]
    OutOfRange(String),
}

impl Amount {
    /// Alipay's upper bound for `total_amount` and `refund_amount`: 100 000 000.00 yuan.
    pub const MAX: Amount = Amount(10_000_000_000);
    pub const ZERO: Amount = Amount(0);

    /// A count of fen in `0..=MAX`; `None` outside it.
    pub const fn from_fen(fen: i64) -> Option<Amount> {
        if fen >= 0 && fen <= Self::MAX.0 {
            Some(Amount(fen))
        } else {
            None
        }
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses an amount a merchant may ask for: `0.01` to `100000000.00`.
    ///
    /// # Errors
    /// [`AmountError`] when the text is not in Alipay's format or is out of range.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        let amount = Self::parse_reported(text)?;
        if amount.is_zero() {
            return Err(AmountError::OutOfRange(clip(text)));
        }
        Ok(amount)
    }

    /// Parses an amount Alipay reports, where `0.00` is legal (`point_amount`,
    /// `refund_fee` before any refund).
    ///
    /// # Errors
    /// As [`Amount::parse`], except that zero is accepted.
    pub fn parse_reported(text: &str) -> Result<Amount, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        let format_error = || AmountError::Format(clip(text));
        let (whole, decimals) = match text.split_once('.') {
            Some((whole, decimals)) => (whole, Some(decimals)),
            None => (text, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || (whole.len() > 1 && whole.starts_with('0')) {
            return Err(format_error());
        }
        // 11 digits are already beyond MAX; refusing early keeps the arithmetic small.
        if whole.len() > 10 {
            return Err(AmountError::OutOfRange(clip(text)));
        }
        let fraction_fen = match decimals {
            None => 0,
            Some(d) if all_digits(d) && d.len() <= 2 => {
                let value: i64 = d.parse().map_err(|_| format_error())?;
                if d.len() == 1 {
                    value * 10
                } else {
                    value
                }
            }
            Some(_) => return Err(format_error()),
        };
        let yuan: i64 = whole.parse().map_err(|_| format_error())?;
        yuan.checked_mul(100)
            .and_then(|fen| fen.checked_add(fraction_fen))
            .and_then(Amount::from_fen)
            .ok_or_else(|| AmountError::OutOfRange(clip(text)))
    }

    /// `None` when the sum would exceed [`Amount::MAX`].
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).and_then(Amount::from_fen)
    }

    /// `None` when `other` is larger than `self`.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).and_then(Amount::from_fen)
    }

    /// Subtraction that stops at zero, for "what is left" figures.
    pub fn saturating_sub(self, other: Amount) -> Amount {
        self.checked_sub(other).unwrap_or(Amount::ZERO)
    }

    /// Sums amounts; `None` on overflow past [`Amount::MAX`].
    pub fn sum<I: IntoIterator<Item = Amount>>(amounts: I) -> Option<Amount> {
        amounts
            .into_iter()
            .try_fold(Amount::ZERO, |acc, a| acc.checked_add(a))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fen(text: &str) -> i64 {
        Amount::parse(text).expect(text).fen()
    }

    #[test]
    fn parses_alipay_amounts_exactly() {
        // 0.29 is the classic float trap: 0.29 * 100.0 as i32 == 28.
        assert_eq!(fen("0.29"), 29);
        assert_eq!(fen("1.13"), 113);
        assert_eq!(fen("0.01"), 1);
        assert_eq!(fen("88.8"), 8880);
        assert_eq!(fen("88"), 8800);
        assert_eq!(fen("100000000.00"), 10_000_000_000);
        assert_eq!(fen("100000000"), 10_000_000_000);
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "100000000.01",
            "1.234",
            "-1",
            "+1",
            "1e2",
            " 1",
            "1 ",
            "",
            "01.00",
            "00",
            ".5",
            "5.",
            "1,00",
            "0.00",
            "0",
            "NaN",
            "99999999999",
            "１",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(Amount::parse(""), Err(AmountError::Empty));
        assert_eq!(
            Amount::parse("100000000.01"),
            Err(AmountError::OutOfRange("100000000.01".into()))
        );
        assert_eq!(Amount::parse("1e2"), Err(AmountError::Format("1e2".into())));
        // Too many digits for an i64 is still a number, just too large.
        let huge = "99999999999999999999.00";
        assert_eq!(
            Amount::parse(huge),
            Err(AmountError::OutOfRange(huge.into()))
        );
    }

    #[test]
    fn zero_is_only_accepted_where_alipay_reports_it() {
        assert_eq!(Amount::parse_reported("0.00"), Ok(Amount::ZERO));
        assert_eq!(Amount::parse_reported("0"), Ok(Amount::ZERO));
        assert!(Amount::parse("0.00").is_err());
    }

    #[test]
    fn prints_two_decimals() {
        assert_eq!(Amount::parse("88.8").unwrap().to_string(), "88.80");
        assert_eq!(Amount::parse("0.01").unwrap().to_string(), "0.01");
        assert_eq!(Amount::ZERO.to_string(), "0.00");
        assert_eq!(Amount::MAX.to_string(), "100000000.00");
    }

    #[test]
    fn arithmetic_is_checked() {
        let one = Amount::parse("1.00").unwrap();
        assert_eq!(Amount::MAX.checked_add(one), None);
        assert_eq!(Amount::ZERO.checked_sub(one), None);
        assert_eq!(Amount::ZERO.saturating_sub(one), Amount::ZERO);
        assert_eq!(Amount::from_fen(-1), None);
        assert_eq!(Amount::sum([one, one]), Amount::from_fen(200));
        assert_eq!(Amount::sum([Amount::MAX, one]), None);
    }

    proptest! {
        #[test]
        fn printing_then_parsing_is_identity(f in 1i64..=10_000_000_000) {
            let amount = Amount::from_fen(f).unwrap();
            prop_assert_eq!(Amount::parse(&amount.to_string()), Ok(amount));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,16}") {
            let _ = Amount::parse(&s);
        }
    }
}
