//! Fuzzing `Amount`'s parser and printer, on stable Rust with proptest.
//!
//! Amounts come from merchants (the API), from Alipay (responses, notifications) and
//! from the configuration. The parser must never panic, must accept exactly Alipay's
//! format (checked against an independent reading in i128 below), and what it prints
//! must parse back to the same amount.
//!
//! Cases: `PROPTEST_CASES` (proptest's default, 256, when unset). CI runs 10,000; see
//! the README's Tests section for a longer local run.

use payport_domain::{Amount, AmountError};
use proptest::prelude::*;

const MAX_FEN: i64 = 10_000_000_000;

/// An independent reading of Alipay's format: `0|[1-9][0-9]*`, then optionally `.`
/// and one or two digits. `Some(fen)` whatever the range, `None` if not that shape.
fn oracle_fen(text: &str) -> Option<i128> {
    let (whole, frac) = match text.find('.') {
        Some(dot) => (&text[..dot], Some(&text[dot + 1..])),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || (whole.len() > 1 && whole.starts_with('0')) {
        return None;
    }
    let cents = match frac {
        None => 0,
        Some(f) if digits(f) && f.len() == 1 => i128::from(f.as_bytes()[0] - b'0') * 10,
        Some(f) if digits(f) && f.len() == 2 => {
            i128::from(f.as_bytes()[0] - b'0') * 10 + i128::from(f.as_bytes()[1] - b'0')
        }
        Some(_) => return None,
    };
    // Long digit runs are out of range anyway; cap them so i128 cannot overflow.
    let yuan: i128 = if whole.len() > 20 {
        i128::MAX / 1000
    } else {
        whole.parse().ok()?
    };
    Some(yuan * 100 + cents)
}

/// Text that is often almost an amount: digits, dots, signs, exponents, spaces.
fn near_amount() -> impl Strategy<Value = String> {
    prop_oneof![
        "(0|[1-9][0-9]{0,11})(\\.[0-9]{0,3})?",
        "[0-9]{0,12}(\\.[0-9]{0,3})?",
        "[-+ ]?[0-9]{1,10}(\\.[0-9]{1,3})?[eE ]?[0-9]?",
        "[0-9.+\\-eE ,_]{0,14}",
        // Unicode digits and look-alikes must never count as digits.
        "[0-9０-９٠-٩.．]{1,8}",
    ]
}

fn check_against_oracle(text: &str) {
    let reported = Amount::parse_reported(text);
    let merchant = Amount::parse(text);
    let as_fromstr: Result<Amount, AmountError> = text.parse();
    assert_eq!(merchant, as_fromstr, "FromStr is parse for {text:?}");
    match oracle_fen(text) {
        None => {
            assert!(reported.is_err(), "{text:?} is not an amount: {reported:?}");
            assert!(merchant.is_err(), "{text:?} is not an amount: {merchant:?}");
        }
        Some(fen) if (0..=i128::from(MAX_FEN)).contains(&fen) => {
            let got = reported.unwrap_or_else(|e| panic!("{text:?} must parse: {e}"));
            assert_eq!(i128::from(got.fen()), fen, "{text:?}");
            if fen == 0 {
                assert!(
                    matches!(merchant, Err(AmountError::OutOfRange(_))),
                    "{text:?}"
                );
            } else {
                assert_eq!(merchant, Ok(got), "{text:?}");
            }
        }
        Some(_) => {
            assert!(
                matches!(reported, Err(AmountError::OutOfRange(_))),
                "{text:?} is out of range: {reported:?}"
            );
            assert!(
                matches!(merchant, Err(AmountError::OutOfRange(_))),
                "{text:?}"
            );
        }
    }
}

proptest! {
    #[test]
    fn fuzz_amount_parse_never_panics_on_any_text(text in any::<String>()) {
        check_against_oracle(&text);
    }

    #[test]
    fn fuzz_amount_parse_accepts_exactly_alipays_format(text in near_amount()) {
        check_against_oracle(&text);
    }

    #[test]
    fn fuzz_amount_print_then_parse_round_trips(fen in 0..=MAX_FEN) {
        let amount = Amount::from_fen(fen).expect("in range");
        let printed = amount.to_string();
        // Always `yuan.dd`, the way Alipay writes it.
        let (yuan, cents) = printed.split_once('.').expect("a dot");
        prop_assert_eq!(cents.len(), 2);
        prop_assert!(yuan == "0" || !yuan.starts_with('0'), "{}", printed);
        prop_assert_eq!(Amount::parse_reported(&printed), Ok(amount));
        if fen > 0 {
            prop_assert_eq!(Amount::parse(&printed), Ok(amount));
        }
    }

    #[test]
    fn fuzz_amount_parse_then_print_then_parse_is_stable(text in near_amount()) {
        if let Ok(amount) = Amount::parse_reported(&text) {
            let printed = amount.to_string();
            let again = Amount::parse_reported(&printed);
            prop_assert_eq!(again.clone(), Ok(amount));
            prop_assert_eq!(again.map(|a| a.to_string()), Ok(printed));
        }
    }

    #[test]
    fn fuzz_amount_from_fen_bounds(fen in any::<i64>()) {
        let amount = Amount::from_fen(fen);
        prop_assert_eq!(amount.is_some(), (0..=MAX_FEN).contains(&fen));
        if let Some(amount) = amount {
            prop_assert_eq!(amount.fen(), fen);
        }
    }
}
