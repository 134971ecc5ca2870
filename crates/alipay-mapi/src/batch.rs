//! A refund batch as the legacy services take it (PROTOCOL.md B3): pure, no IO.
//!
//! `detail_data` is `trade_no^amount^reason` records joined by `#`; `batch_num` is the
//! record count (≤ 1000); a trade appears at most once (else DUBL_TRADE_NO_IN_SAME_BATCH);
//! the reason has none of `^ | $ #` and is at most 256 bytes. `refund_date` is the
//! Beijing time the batch is built.
//!
//! [`build_batch`] serves one refund (what `submit_refund` sends) and several approved
//! refunds at once alike; it refuses what Alipay would refuse, before anything is sent.

use chrono::{DateTime, NaiveDate, Utc};
use payport_domain::ports::RefundSubmission;
use payport_domain::{Amount, BatchNo, OutTradeNo, TradeNo};

use crate::beijing;

/// B3: `batch_num` ≤ 1000.
pub const MAX_RECORDS: usize = 1000;
/// B3: the reason is at most 256 bytes (of UTF-8, the charset payport sends).
pub const MAX_REASON_BYTES: usize = 256;
/// Sent when a refund has no reason (or nothing is left of it once cleaned): whether
/// Alipay takes an empty reason is unconfirmed, so payport never sends one. The
/// official demo's example reason ("refund by agreement").
pub const DEFAULT_REASON: &str = "协商退款";

/// One refund to put in a batch, as the caller has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLine {
    pub trade_no: TradeNo,
    pub amount: Amount,
    pub reason: Option<String>,
}

impl BatchLine {
    /// The line for one refund submission.
    ///
    /// # Errors
    /// [`BatchError::MissingTradeNo`]: the legacy services refund by Alipay's trade_no.
    pub fn for_refund(refund: &RefundSubmission) -> Result<BatchLine, BatchError> {
        let trade_no = refund
            .trade_no
            .clone()
            .ok_or_else(|| BatchError::MissingTradeNo(refund.out_trade_no.clone()))?;
        Ok(BatchLine {
            trade_no,
            amount: refund.amount,
            reason: refund.reason.clone(),
        })
    }
}

/// One `detail_data` record, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    pub trade_no: TradeNo,
    pub amount: Amount,
    /// Cleaned: no separators, at most 256 bytes, never empty.
    pub reason: String,
}

/// A batch that passed every check Alipay makes on its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    batch_no: BatchNo,
    refund_date: String,
    records: Vec<BatchRecord>,
    detail_data: String,
}

impl Batch {
    pub fn batch_no(&self) -> &BatchNo {
        &self.batch_no
    }

    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    pub fn refund_date(&self) -> &str {
        &self.refund_date
    }

    pub fn records(&self) -> &[BatchRecord] {
        &self.records
    }

    /// `batch_num`: the number of records.
    pub fn batch_num(&self) -> usize {
        self.records.len()
    }

    pub fn detail_data(&self) -> &str {
        &self.detail_data
    }
}

/// Why a batch cannot be built. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("a refund batch needs at least one refund")]
    Empty,
    #[error("a refund batch holds at most {MAX_RECORDS} refunds, not {0}")]
    TooManyRecords(usize),
    #[error("trade {0} appears twice in one batch, which Alipay refuses (DUBL_TRADE_NO_IN_SAME_BATCH): put its refunds in separate batches")]
    DuplicateTrade(TradeNo),
    #[error("the refund of trade {0} is zero")]
    ZeroAmount(TradeNo),
    #[error("batch_no {0} is not yyyyMMdd followed by 3 to 24 digits that are not all zeros")]
    BatchNoFormat(BatchNo),
    #[error("order {0} has no Alipay trade_no, which the legacy refund services need")]
    MissingTradeNo(OutTradeNo),
}

/// Builds the batch `batch_no` with these refunds, dated `now`.
///
/// # Errors
/// [`BatchError`], when Alipay would refuse the batch's shape.
pub fn build_batch(
    batch_no: BatchNo,
    now: DateTime<Utc>,
    lines: &[BatchLine],
) -> Result<Batch, BatchError> {
    if !valid_batch_no(&batch_no) {
        return Err(BatchError::BatchNoFormat(batch_no));
    }
    if lines.is_empty() {
        return Err(BatchError::Empty);
    }
    if lines.len() > MAX_RECORDS {
        return Err(BatchError::TooManyRecords(lines.len()));
    }
    let mut records: Vec<BatchRecord> = Vec::with_capacity(lines.len());
    for line in lines {
        if records.iter().any(|r| r.trade_no == line.trade_no) {
            return Err(BatchError::DuplicateTrade(line.trade_no.clone()));
        }
        if line.amount.is_zero() {
            return Err(BatchError::ZeroAmount(line.trade_no.clone()));
        }
        records.push(BatchRecord {
            trade_no: line.trade_no.clone(),
            amount: line.amount,
            reason: clean_reason(line.reason.as_deref()),
        });
    }
    // TradeNo is letters and digits and Amount prints `d+.dd`: neither holds a separator.
    let detail_data = records
        .iter()
        .map(|r| format!("{}^{}^{}", r.trade_no, r.amount, r.reason))
        .collect::<Vec<_>>()
        .join("#");
    Ok(Batch {
        batch_no,
        refund_date: beijing::format(now),
        records,
        detail_data,
    })
}

/// B3's reason: `^ | $ #` (the record separators) and control characters removed,
/// surrounding spaces trimmed, cut to at most 256 bytes without splitting a character,
/// and [`DEFAULT_REASON`] when nothing is left.
pub fn clean_reason(reason: Option<&str>) -> String {
    let kept: String = reason
        .unwrap_or("")
        .chars()
        .filter(|c| !matches!(c, '^' | '|' | '$' | '#') && !c.is_control())
        .collect();
    let mut cut = kept.trim();
    if cut.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !cut.is_char_boundary(end) {
            end -= 1;
        }
        cut = cut[..end].trim_end();
    }
    if cut.is_empty() {
        DEFAULT_REASON.to_owned()
    } else {
        cut.to_owned()
    }
}

/// B3: `yyyyMMdd` (a real date) + a 3–24 digit serial that is not all zeros. The date
/// is not required to be today: a re-sent batch keeps the number it was first sent
/// with (⚠ whether Alipay insists on today's date is unconfirmed).
pub fn valid_batch_no(batch_no: &BatchNo) -> bool {
    let text = batch_no.as_str();
    if !(11..=32).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (date, serial) = text.split_at(8);
    NaiveDate::parse_from_str(date, "%Y%m%d").is_ok() && serial.bytes().any(|b| b != b'0')
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        // 2024-05-14 10:00:00 in Beijing.
        Utc.with_ymd_and_hms(2024, 5, 14, 2, 0, 0).unwrap()
    }

    fn batch_no() -> BatchNo {
        BatchNo::parse("20240514001").unwrap()
    }

    fn line(trade: &str, amount: &str, reason: Option<&str>) -> BatchLine {
        BatchLine {
            trade_no: TradeNo::parse(trade).unwrap(),
            amount: Amount::parse(amount).unwrap(),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn builds_the_vectors_two_trade_batch() {
        let batch = build_batch(
            batch_no(),
            now(),
            &[
                line("2024051322001400001234567890", "5", Some("协商退款")),
                line("2024051322001400001234567891", "10.00", Some("质量问题")),
            ],
        )
        .unwrap();
        assert_eq!(
            batch.detail_data(),
            "2024051322001400001234567890^5.00^协商退款#2024051322001400001234567891^10.00^质量问题"
        );
        assert_eq!(batch.batch_num(), 2);
        assert_eq!(batch.refund_date(), "2024-05-14 10:00:00");
        assert_eq!(batch.batch_no().as_str(), "20240514001");
    }

    #[test]
    fn separators_and_control_characters_are_stripped() {
        assert_eq!(
            clean_reason(Some(" a^b|c$d#e\n退款\t ")),
            "abcde退款".to_owned()
        );
        let batch = build_batch(
            batch_no(),
            now(),
            &[line("2024051322001400001234567890", "1", Some("x#1^2$3|4"))],
        )
        .unwrap();
        assert_eq!(
            batch.detail_data(),
            "2024051322001400001234567890^1.00^x1234"
        );
    }

    #[test]
    fn empty_reasons_get_the_default() {
        for reason in [None, Some(""), Some("  "), Some("^|$#")] {
            assert_eq!(clean_reason(reason), DEFAULT_REASON);
        }
    }

    #[test]
    fn reasons_are_cut_to_256_bytes_on_a_char_boundary() {
        // 86 × 3 bytes = 258: the cut must fall back to 85 characters (255 bytes).
        let chinese = "理".repeat(86);
        let cut = clean_reason(Some(&chinese));
        assert_eq!(cut, "理".repeat(85));
        assert_eq!(cut.len(), 255);
        // Mixed: 1 ASCII byte shifts the boundary; 256 bytes exactly fit.
        let mixed = format!("a{}", "理".repeat(90));
        let cut = clean_reason(Some(&mixed));
        assert_eq!(cut.len(), 256);
        assert!(cut.starts_with('a') && cut.ends_with('理'));
        assert_eq!(clean_reason(Some(&"x".repeat(300))).len(), 256);
        // Separators removed before measuring: 256 useful bytes survive.
        let with_separators = format!("{}{}", "#".repeat(50), "y".repeat(256));
        assert_eq!(clean_reason(Some(&with_separators)), "y".repeat(256));
    }

    #[test]
    fn at_most_1000_records() {
        let lines: Vec<BatchLine> = (0..1001)
            .map(|i| line(&format!("2024051322001400000000{i:06}"), "0.01", None))
            .collect();
        assert_eq!(
            build_batch(batch_no(), now(), &lines),
            Err(BatchError::TooManyRecords(1001))
        );
        let batch = build_batch(batch_no(), now(), &lines[..1000]).unwrap();
        assert_eq!(batch.batch_num(), 1000);
        assert_eq!(batch.detail_data().matches('#').count(), 999);
    }

    #[test]
    fn a_trade_at_most_once_and_never_empty_or_zero() {
        let t = "2024051322001400001234567890";
        assert_eq!(
            build_batch(
                batch_no(),
                now(),
                &[line(t, "1", None), line(t, "2", Some("again"))]
            ),
            Err(BatchError::DuplicateTrade(TradeNo::parse(t).unwrap()))
        );
        assert_eq!(build_batch(batch_no(), now(), &[]), Err(BatchError::Empty));
        let zero = BatchLine {
            amount: Amount::ZERO,
            ..line(t, "1", None)
        };
        assert!(matches!(
            build_batch(batch_no(), now(), &[zero]),
            Err(BatchError::ZeroAmount(_))
        ));
    }

    #[test]
    fn batch_no_must_be_a_date_and_a_serial_not_all_zeros() {
        for good in ["20240514001", "20240229123456789012345678901234"] {
            assert!(valid_batch_no(&BatchNo::parse(good).unwrap()), "{good}");
        }
        for bad in [
            "20240514000",
            "2024051400000",
            "2024051401",
            "20230229001",
            "20241301001",
        ] {
            let no = BatchNo::parse(bad).unwrap();
            assert!(!valid_batch_no(&no), "{bad}");
            assert_eq!(
                build_batch(no.clone(), now(), &[line("1", "1", None)]),
                Err(BatchError::BatchNoFormat(no))
            );
        }
    }
}
