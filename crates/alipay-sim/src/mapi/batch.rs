//! The batch a refund request carries, and the whole-batch checks shared by the pwd and
//! nopwd services (PROTOCOL.md B3, B4). Any failure here refuses the whole batch and
//! records nothing; the merchant may send it again, corrected, under the same batch_no.
//!
//! Codes are B4's list, plus two from the same official error table (doc-copy in
//! UserAndy/andy-pay `WapRefundBusinessCode.java`, ⚠ not in PROTOCOL.md):
//! BATCH_NUM_ERROR (batch_num is not a number) and SELLER_INFO_NOT_EXIST (the seller
//! is missing or not this partner). Whether the batch_no date must be *today* (B3) is
//! unconfirmed, so only a real calendar date is required.

use crate::money::parse_fen;
use chrono::{NaiveDate, NaiveDateTime};

use super::request::{Params, PWD};
use crate::config::MapiConfig;
use crate::ledger::MapiRecord;

/// B3: `batch_num` ≤ 1000.
const MAX_RECORDS: usize = 1000;
/// B3: the reason is at most 256 bytes.
const MAX_REASON_BYTES: usize = 256;

/// A batch that passed every whole-batch check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub batch_no: String,
    pub notify_url: Option<String>,
    pub records: Vec<MapiRecord>,
}

/// Validates the batch of a signed request. `Err` is the mapi error code.
pub(crate) fn parse(
    params: &Params,
    service: &str,
    config: &MapiConfig,
) -> Result<Batch, &'static str> {
    check_seller(params, service, config)?;
    let batch_no = params.get("batch_no").ok_or("BATCH_NO_FORMAT_ERROR")?;
    if !valid_batch_no(batch_no) {
        return Err("BATCH_NO_FORMAT_ERROR");
    }
    let batch_num = params.get("batch_num").ok_or("BATCH_NUM_ERROR")?;
    if !batch_num.bytes().all(|b| b.is_ascii_digit()) {
        return Err("BATCH_NUM_ERROR");
    }
    if !params.get("refund_date").is_some_and(valid_refund_date) {
        return Err("REFUND_DATE_ERROR");
    }
    let detail = params
        .get("detail_data")
        .ok_or("DETAIL_DATA_FORMAT_ERROR")?;
    let texts: Vec<&str> = detail.split('#').collect();
    // Digits only, so a too-long number is simply over the limit.
    let declared = batch_num.parse::<usize>().unwrap_or(usize::MAX);
    if declared > MAX_RECORDS || texts.len() > MAX_RECORDS {
        return Err("BATCH_NUM_EXCEED_LIMIT");
    }
    if declared != texts.len() {
        return Err("BATCH_NUM_NOT_EQUAL_TOTAL");
    }
    let mut records: Vec<MapiRecord> = Vec::with_capacity(texts.len());
    for text in texts {
        let record = parse_record(text, service)?;
        if records.iter().any(|r| r.trade_no == record.trade_no) {
            return Err("DUBL_TRADE_NO_IN_SAME_BATCH");
        }
        records.push(record);
    }
    Ok(Batch {
        batch_no: batch_no.to_owned(),
        notify_url: params.get("notify_url").map(str::to_owned),
        records,
    })
}

/// B3: `seller_email` or `seller_user_id` names this partner's account; when both are
/// sent, `seller_user_id` wins. The mapi seller's user id is the partner id.
///
/// ⚠ B4 says nopwd takes "the same parameters", but the vectors' nopwd requests (made
/// by a client library) carry no seller at all: for nopwd the seller is optional (the
/// partner's own account) and checked only when sent; pwd requires it.
fn check_seller(params: &Params, service: &str, config: &MapiConfig) -> Result<(), &'static str> {
    let matches = match (params.get("seller_user_id"), params.get("seller_email")) {
        (Some(user_id), _) => user_id == config.partner,
        (None, Some(email)) => email == config.seller_email,
        (None, None) => service != PWD,
    };
    if matches {
        Ok(())
    } else {
        Err("SELLER_INFO_NOT_EXIST")
    }
}

/// B3: `yyyyMMdd` (a real date) followed by a 3–24 digit serial that is not all zeros.
fn valid_batch_no(batch_no: &str) -> bool {
    if !batch_no.bytes().all(|b| b.is_ascii_digit()) || !(11..=32).contains(&batch_no.len()) {
        return false;
    }
    let (date, serial) = batch_no.split_at(8);
    NaiveDate::parse_from_str(date, "%Y%m%d").is_ok() && serial.bytes().any(|b| b != b'0')
}

/// `yyyy-MM-dd HH:mm:ss`, zero-padded, a real time.
fn valid_refund_date(text: &str) -> bool {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .is_ok_and(|t| t.format("%Y-%m-%d %H:%M:%S").to_string() == text)
}

/// `trade_no^amount^reason`. A `$` (service-fee part) or `|` (royalty part) is not
/// simulated and refused as a format error; the pwd service never allows royalties.
fn parse_record(text: &str, service: &str) -> Result<MapiRecord, &'static str> {
    const FORMAT: &str = "DETAIL_DATA_FORMAT_ERROR";
    if text.contains('|') && service == PWD {
        return Err("PWD_REFUND_NOT_ALLOW_ROYALTY");
    }
    if text.contains(['$', '|']) {
        return Err(FORMAT);
    }
    let fields: Vec<&str> = text.split('^').collect();
    let [trade_no, amount, reason] = fields[..] else {
        return Err(FORMAT);
    };
    let trade_no_ok = !trade_no.is_empty()
        && trade_no.len() <= 64
        && trade_no.bytes().all(|b| b.is_ascii_alphanumeric());
    // ⚠ Whether Alipay accepts an empty reason is unconfirmed; refusing is the safe side.
    let reason_ok = !reason.trim().is_empty() && reason.len() <= MAX_REASON_BYTES;
    if !trade_no_ok || !reason_ok {
        return Err(FORMAT);
    }
    let amount_fen = parse_fen(amount).ok_or(FORMAT)?;
    Ok(MapiRecord {
        trade_no: trade_no.to_owned(),
        amount_fen,
        reason: reason.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_numbers() {
        assert!(valid_batch_no("20240514001"));
        assert!(valid_batch_no("20240229123456789012345678901234"));
        assert!(!valid_batch_no("202405140011234567890123456789012"));
        assert!(!valid_batch_no("20240514000"));
        assert!(!valid_batch_no("20240514000000"));
        assert!(!valid_batch_no("2024051401"));
        assert!(!valid_batch_no("20230229001"));
        assert!(!valid_batch_no("20241301001"));
        assert!(!valid_batch_no("2024051400a"));
    }

    #[test]
    fn refund_dates() {
        assert!(valid_refund_date("2024-05-14 10:00:00"));
        assert!(!valid_refund_date("2024-5-14 10:00:00"));
        assert!(!valid_refund_date("2024-05-14T10:00:00"));
        assert!(!valid_refund_date("2024-02-30 10:00:00"));
        assert!(!valid_refund_date("2024-05-14 10:00"));
    }

    #[test]
    fn records() {
        let ok = parse_record("2024051322001400001234567890^5.00^协商退款", PWD);
        assert_eq!(
            ok,
            Ok(MapiRecord {
                trade_no: "2024051322001400001234567890".into(),
                amount_fen: 500,
                reason: "协商退款".into()
            })
        );
        for bad in [
            "t^5.00",
            "t^5.00^r^x",
            "^5.00^r",
            "t^5.001^r",
            "t^0.00^r",
            "t^-1^r",
            "t^5.00^",
            "t^5.00^a$b",
        ] {
            assert_eq!(
                parse_record(bad, super::super::request::NOPWD),
                Err("DETAIL_DATA_FORMAT_ERROR"),
                "{bad}"
            );
        }
        assert_eq!(
            parse_record("t^5.00^a|b", PWD),
            Err("PWD_REFUND_NOT_ALLOW_ROYALTY")
        );
        let long = "理".repeat(86);
        assert_eq!(
            parse_record(&format!("t^1^{long}"), PWD),
            Err("DETAIL_DATA_FORMAT_ERROR")
        );
        assert!(parse_record(&format!("t^1^{}", "理".repeat(85)), PWD).is_ok());
    }
}
