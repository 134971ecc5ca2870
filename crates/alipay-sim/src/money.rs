//! Amounts as Alipay writes them: yuan with at most two decimals, `0.01` to
//! `100000000.00`, no sign, no exponent, no leading zeros (PROTOCOL.md A3).
//!
//! Written here rather than borrowed from `payport_domain::Amount` on purpose: the
//! simulator is the adapters' referee, so a money bug in the payport code must meet
//! different code here, not the same bug.

/// `100000000.00` yuan, in fen: the most one trade or refund can carry.
pub const MAX_FEN: i64 = 10_000_000_000;

/// Parses an amount a merchant sent (`total_amount`, `refund_amount`, a mapi batch
/// line) into fen. `None` unless it is `0.01..=100000000.00` in Alipay's format.
pub fn parse_fen(text: &str) -> Option<i64> {
    let (whole, decimals) = match text.split_once('.') {
        Some((whole, decimals)) => (whole, Some(decimals)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (whole.len() > 1 && whole.starts_with('0')) || whole.len() > 9 {
        return None;
    }
    let cents = match decimals {
        None => 0,
        Some(d) if digits(d) && d.len() == 1 => d.parse::<i64>().ok()? * 10,
        Some(d) if digits(d) && d.len() == 2 => d.parse::<i64>().ok()?,
        Some(_) => return None,
    };
    let fen = whole.parse::<i64>().ok()? * 100 + cents;
    (1..=MAX_FEN).contains(&fen).then_some(fen)
}

/// Writes fen the way Alipay does, always with two decimals (`20.00`). An amount
/// outside `0..=MAX_FEN` cannot come from the ledger; it is written as `""` rather
/// than as a number Alipay would never send.
pub fn format_fen(fen: i64) -> String {
    if (0..=MAX_FEN).contains(&fen) {
        format!("{}.{:02}", fen / 100, fen % 100)
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_alipays_format_into_fen() {
        assert_eq!(parse_fen("0.01"), Some(1));
        assert_eq!(parse_fen("0.1"), Some(10));
        assert_eq!(parse_fen("1"), Some(100));
        assert_eq!(parse_fen("20.00"), Some(2000));
        assert_eq!(parse_fen("88.88"), Some(8888));
        assert_eq!(parse_fen("100000000.00"), Some(MAX_FEN));
        assert_eq!(parse_fen("100000000"), Some(MAX_FEN));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "0",
            "0.00",
            "0.001",
            "1.234",
            "100000000.01",
            "999999999",
            "1000000000",
            "-1.00",
            "+1.00",
            "1e2",
            "1.0e1",
            "01.00",
            "00.01",
            ".5",
            "5.",
            "1,00",
            " 1.00",
            "1.00 ",
            "1.-1",
            "１.00",
            "NaN",
        ] {
            assert_eq!(parse_fen(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(format_fen(0), "0.00");
        assert_eq!(format_fen(1), "0.01");
        assert_eq!(format_fen(10), "0.10");
        assert_eq!(format_fen(2000), "20.00");
        assert_eq!(format_fen(MAX_FEN), "100000000.00");
        assert_eq!(format_fen(-1), "");
        assert_eq!(format_fen(MAX_FEN + 1), "");
    }

    #[test]
    fn format_and_parse_round_trip() {
        for fen in [1, 9, 10, 99, 100, 101, 12_345, MAX_FEN - 1, MAX_FEN] {
            assert_eq!(parse_fen(&format_fen(fen)), Some(fen), "{fen}");
        }
    }
}
