//! The content of `batch_refund_notify` (PROTOCOL.md B4), once its signature is checked.
//!
//! `result_details` holds one record per trade, joined by `#`:
//! `trade_no^amount^RESULT`, optionally followed by `$email^user_id^amount^RESULT`
//! (the refund of Alipay's service fee), then optionally by royalty parts, each after a
//! `|`. Royalty parts are read only for their shape and otherwise ignored: payport
//! sends no royalty refunds, but a notification that carries them must not fail.
//!
//! Each trade record becomes one domain [`RefundResult`] naming `(batch_no, trade_no)`:
//! `SUCCESS` succeeded (at `notify_time`), any other code failed with that code. The
//! fee part's result does not change the trade's: the buyer's money moved or not by
//! the first part alone. The record's amount goes with it, for the domain to compare
//! with the refund's own: a different amount settles nothing.
//!
//! Received text quoted in a [`NotifyError`] is clipped (`payport_domain::clip`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use payport_domain::clip::clip;
use payport_domain::ports::{RefundNotice, RefundReference, RefundResult, RefundResultOutcome};
use payport_domain::refund::RefundSuccess;
use payport_domain::{Amount, BatchNo, GatewayFailure, TradeNo};

use crate::beijing;

pub const NOTIFY_TYPE: &str = "batch_refund_notify";
/// The record result that means the refund was made.
pub const SUCCESS: &str = "SUCCESS";
/// At most this many records, as in a batch (`batch_num`, PROTOCOL.md B3).
pub const MAX_RECORDS: usize = 1000;

/// A `batch_refund_notify`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRefundNotify {
    pub notify_id: String,
    /// `notify_time` in Beijing time; `None` when absent or unreadable (it only dates
    /// the success, it decides nothing).
    pub notify_time: Option<DateTime<Utc>>,
    pub batch_no: BatchNo,
    /// Alipay's count of successful records, as sent (not relied on).
    pub success_num: u32,
    pub records: Vec<ResultRecord>,
}

/// One trade's line of `result_details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRecord {
    pub trade_no: TradeNo,
    pub amount: Amount,
    /// `SUCCESS` or an error code such as `TRADE_HAS_CLOSED`.
    pub result: String,
    /// The `$` part: the refund of the service fee to the merchant.
    pub fee: Option<FeeRefund>,
    /// The `|` parts, split at `^`, unchecked beyond that.
    pub royalties: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRefund {
    pub account_email: String,
    pub account_user_id: String,
    pub amount: Amount,
    pub result: String,
}

/// Why a notification's content cannot be read (records are named by position).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("field {0} is missing or empty")]
    Missing(&'static str),
    #[error("field {0} appears more than once")]
    Duplicate(String),
    #[error("notify_type is {0:?}, not batch_refund_notify")]
    WrongType(String),
    #[error("field {field}: {why}")]
    BadField { field: &'static str, why: String },
    #[error("result_details record {index}: {why}")]
    BadRecord { index: usize, why: String },
    #[error("result_details names trade {0} twice")]
    DuplicateTrade(TradeNo),
    #[error("result_details has more than {MAX_RECORDS} records")]
    TooManyRecords,
}

impl BatchRefundNotify {
    /// Reads the fields (decoded once from the form). Checks nothing about the
    /// signature: that is [`crate::md5::verify`] and `notify_verify`.
    ///
    /// # Errors
    /// [`NotifyError`] when a required field is missing, repeated or malformed.
    pub fn from_fields(fields: &[(String, String)]) -> Result<BatchRefundNotify, NotifyError> {
        let get = |name: &'static str| -> Result<Option<&str>, NotifyError> {
            let mut values = fields.iter().filter(|(k, _)| k == name);
            let first = values.next().map(|(_, v)| v.as_str());
            if values.next().is_some() {
                return Err(NotifyError::Duplicate(name.to_owned()));
            }
            Ok(first.filter(|v| !v.is_empty()))
        };
        let required = |name: &'static str| get(name)?.ok_or(NotifyError::Missing(name));
        let notify_type = required("notify_type")?;
        if notify_type != NOTIFY_TYPE {
            return Err(NotifyError::WrongType(clip(notify_type)));
        }
        let bad = |field: &'static str, why: String| NotifyError::BadField { field, why };
        let notify_id = required("notify_id")?.to_owned();
        let batch_no =
            BatchNo::parse(required("batch_no")?).map_err(|e| bad("batch_no", e.to_string()))?;
        let success_num = required("success_num")?;
        let success_num = success_num
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| success_num.parse::<u32>().ok())
            .flatten()
            .ok_or_else(|| bad("success_num", "not a count".into()))?;
        let records = parse_result_details(required("result_details")?)?;
        let notify_time = get("notify_time")?.and_then(beijing::parse);
        Ok(BatchRefundNotify {
            notify_id,
            notify_time,
            batch_no,
            success_num,
            records,
        })
    }

    /// How many records say `SUCCESS`.
    pub fn succeeded(&self) -> usize {
        self.records.iter().filter(|r| r.result == SUCCESS).count()
    }

    /// The domain's view: one result per trade record.
    pub fn into_notice(self) -> RefundNotice {
        let batch_no = self.batch_no;
        let refunded_at = self.notify_time;
        let results = self
            .records
            .into_iter()
            .map(|record| RefundResult {
                reference: RefundReference::Batch {
                    batch_no: batch_no.clone(),
                    trade_no: record.trade_no,
                    amount: record.amount,
                },
                outcome: if record.result == SUCCESS {
                    RefundResultOutcome::Succeeded(RefundSuccess {
                        // The record's amount is this refund, not the trade's total.
                        refund_fee: None,
                        refunded_at,
                    })
                } else {
                    RefundResultOutcome::Failed(GatewayFailure {
                        code: record.result,
                        sub_code: None,
                        message: NOTIFY_TYPE.to_owned(),
                    })
                },
            })
            .collect();
        RefundNotice {
            notify_id: self.notify_id,
            results,
        }
    }
}

/// Parses `result_details` (module doc). Every record must be well formed and name a
/// different trade: a notification that cannot be read whole is not applied in part.
///
/// # Errors
/// [`NotifyError::BadRecord`], [`NotifyError::DuplicateTrade`] or
/// [`NotifyError::TooManyRecords`].
pub fn parse_result_details(text: &str) -> Result<Vec<ResultRecord>, NotifyError> {
    let mut records: Vec<ResultRecord> = Vec::new();
    let mut trades = HashSet::new();
    for (index, raw) in text.split('#').enumerate() {
        if index == MAX_RECORDS {
            return Err(NotifyError::TooManyRecords);
        }
        let record = parse_record(raw).map_err(|why| NotifyError::BadRecord { index, why })?;
        if !trades.insert(record.trade_no.clone()) {
            return Err(NotifyError::DuplicateTrade(record.trade_no));
        }
        records.push(record);
    }
    Ok(records)
}

fn parse_record(raw: &str) -> Result<ResultRecord, String> {
    let mut parts = raw.split('|');
    let main = parts.next().unwrap_or("");
    // A trailing `|` leaves an empty part: nothing to read, nothing wrong.
    let royalties = parts
        .filter(|p| !p.is_empty())
        .map(|p| p.split('^').map(str::to_owned).collect())
        .collect();
    let (trade, fee) = match main.split_once('$') {
        Some((trade, fee)) => (trade, Some(fee)),
        None => (main, None),
    };
    let [trade_no, amount, result] = fields::<3>(trade, "trade_no^amount^RESULT")?;
    Ok(ResultRecord {
        trade_no: TradeNo::parse(trade_no).map_err(|e| e.to_string())?,
        amount: amount_of(amount)?,
        result: result_code(result)?,
        fee: fee.map(parse_fee).transpose()?,
        royalties,
    })
}

fn parse_fee(text: &str) -> Result<FeeRefund, String> {
    let [email, user_id, amount, result] = fields::<4>(text, "email^user_id^amount^RESULT")?;
    Ok(FeeRefund {
        account_email: email.to_owned(),
        account_user_id: user_id.to_owned(),
        amount: amount_of(amount)?,
        result: result_code(result)?,
    })
}

/// Exactly `N` fields separated by `^`.
fn fields<'a, const N: usize>(text: &'a str, shape: &str) -> Result<[&'a str; N], String> {
    let parts: Vec<&str> = text.split('^').collect();
    parts
        .try_into()
        .map_err(|p: Vec<&str>| format!("{} fields where {shape} has {N}", p.len()))
}

fn amount_of(text: &str) -> Result<Amount, String> {
    Amount::parse_reported(text).map_err(|e| e.to_string())
}

/// `SUCCESS` or an error code: capitals, digits and `_`.
fn result_code(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!("result {:?} is not a result code", clip(text)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// PROTOCOL.md B4's real sample.
    const SAMPLE: &str =
        "2015042100001000760048511054^1.00^SUCCESS$cnonlinegroup@lanecrawford.com^2088711824364505^0.01^SUCCESS";

    fn form(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn notify(details: &str) -> Vec<(String, String)> {
        form(&[
            ("notify_time", "2015-04-21 10:01:03"),
            ("notify_type", "batch_refund_notify"),
            ("notify_id", "70fec0c2730b27528665af4517c27b95"),
            ("batch_no", "20150421001"),
            ("success_num", "1"),
            ("result_details", details),
            ("sign_type", "MD5"),
            ("sign", "not checked here"),
        ])
    }

    #[test]
    fn reads_the_real_sample_with_its_fee_part() {
        let records = parse_result_details(SAMPLE).unwrap();
        assert_eq!(
            records,
            vec![ResultRecord {
                trade_no: TradeNo::parse("2015042100001000760048511054").unwrap(),
                amount: Amount::parse("1.00").unwrap(),
                result: "SUCCESS".into(),
                fee: Some(FeeRefund {
                    account_email: "cnonlinegroup@lanecrawford.com".into(),
                    account_user_id: "2088711824364505".into(),
                    amount: Amount::parse("0.01").unwrap(),
                    result: "SUCCESS".into(),
                }),
                royalties: vec![],
            }]
        );
    }

    #[test]
    fn maps_records_to_domain_results() {
        let details = format!("{SAMPLE}#2015042100001000760048511055^2.00^TRADE_HAS_CLOSED");
        let parsed = BatchRefundNotify::from_fields(&notify(&details)).unwrap();
        assert_eq!(parsed.succeeded(), 1);
        let notice = parsed.into_notice();
        assert_eq!(notice.notify_id, "70fec0c2730b27528665af4517c27b95");
        let batch_no = BatchNo::parse("20150421001").unwrap();
        assert_eq!(
            notice.results,
            vec![
                RefundResult {
                    reference: RefundReference::Batch {
                        batch_no: batch_no.clone(),
                        trade_no: TradeNo::parse("2015042100001000760048511054").unwrap(),
                        amount: Amount::parse("1.00").unwrap(),
                    },
                    outcome: RefundResultOutcome::Succeeded(RefundSuccess {
                        refund_fee: None,
                        // 10:01:03 in Beijing.
                        refunded_at: Some(Utc.with_ymd_and_hms(2015, 4, 21, 2, 1, 3).unwrap()),
                    }),
                },
                RefundResult {
                    reference: RefundReference::Batch {
                        batch_no,
                        trade_no: TradeNo::parse("2015042100001000760048511055").unwrap(),
                        amount: Amount::parse("2.00").unwrap(),
                    },
                    outcome: RefundResultOutcome::Failed(GatewayFailure {
                        code: "TRADE_HAS_CLOSED".into(),
                        sub_code: None,
                        message: "batch_refund_notify".into(),
                    }),
                },
            ]
        );
    }

    #[test]
    fn royalty_parts_are_read_and_ignored() {
        let details = "2010031906272929^80^SUCCESS$jax_chuanhang@alipay.com^2088101003147483^0.01^SUCCESS|ra@x.com^2088101003147483^rb@x.com^2088101003147484^0.01^SUCCESS|";
        let records = parse_result_details(details).unwrap();
        assert_eq!(records[0].amount, Amount::parse("80.00").unwrap());
        assert_eq!(records[0].royalties.len(), 1);
        assert_eq!(records[0].royalties[0].len(), 6);
        // Royalty part without a fee part.
        let records = parse_result_details("2010031906272929^80^SUCCESS|a^b").unwrap();
        assert_eq!(records[0].fee, None);
        assert_eq!(records[0].result, "SUCCESS");
    }

    #[test]
    fn malformed_records_are_refused() {
        for bad in [
            "",
            "#",
            "2015042100001000760048511054^1.00",
            "2015042100001000760048511054^1.00^SUCCESS^x",
            "2015042100001000760048511054^1.00^",
            "2015042100001000760048511054^1.00^success",
            "2015042100001000760048511054^one^SUCCESS",
            "2015042100001000760048511054^-1^SUCCESS",
            "^1.00^SUCCESS",
            "2015-0421^1.00^SUCCESS",
            "2015042100001000760048511054^1.00^SUCCESS$a^b^0.01",
            "2015042100001000760048511054^1.00^SUCCESS$a^b^x^SUCCESS",
            "2015042100001000760048511054^1.00^SUCCESS#",
        ] {
            assert!(
                matches!(
                    parse_result_details(bad),
                    Err(NotifyError::BadRecord { .. })
                ),
                "{bad:?} must be refused"
            );
        }
        let too_many: Vec<String> = (0..=MAX_RECORDS)
            .map(|i| {
                format!(
                    "{}^1.00^SUCCESS",
                    2015042100001000760048511054u128 + i as u128
                )
            })
            .collect();
        assert_eq!(
            parse_result_details(&too_many.join("#")),
            Err(NotifyError::TooManyRecords)
        );
        assert_eq!(
            parse_result_details(&too_many[..MAX_RECORDS].join("#")).map(|r| r.len()),
            Ok(MAX_RECORDS)
        );
        let huge = format!(
            "2015042100001000760048511054^1.00^{}",
            "x".repeat(2_000_000)
        );
        let err = parse_result_details(&huge).unwrap_err().to_string();
        assert!(err.len() < 200, "{}", err.len());
        let twice =
            "2015042100001000760048511054^1.00^SUCCESS#2015042100001000760048511054^1.00^SUCCESS";
        assert!(matches!(
            parse_result_details(twice),
            Err(NotifyError::DuplicateTrade(_))
        ));
    }

    #[test]
    fn required_fields_and_type() {
        let full = notify(SAMPLE);
        assert!(BatchRefundNotify::from_fields(&full).is_ok());
        for field in [
            "notify_type",
            "notify_id",
            "batch_no",
            "success_num",
            "result_details",
        ] {
            let without: Vec<_> = full.iter().filter(|(k, _)| k != field).cloned().collect();
            assert_eq!(
                BatchRefundNotify::from_fields(&without),
                Err(NotifyError::Missing(field)),
                "{field}"
            );
            let empty: Vec<_> = full
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if k == field { String::new() } else { v.clone() },
                    )
                })
                .collect();
            assert_eq!(
                BatchRefundNotify::from_fields(&empty),
                Err(NotifyError::Missing(field))
            );
        }
        let mut trade = full.clone();
        trade[1].1 = "trade_status_sync".into();
        assert!(matches!(
            BatchRefundNotify::from_fields(&trade),
            Err(NotifyError::WrongType(_))
        ));
        let mut twice = full.clone();
        twice.push(("batch_no".into(), "20150421002".into()));
        assert!(matches!(
            BatchRefundNotify::from_fields(&twice),
            Err(NotifyError::Duplicate(_))
        ));
        for (field, value) in [
            ("batch_no", "2015-04-21"),
            ("success_num", "-1"),
            ("success_num", "x"),
        ] {
            let bad: Vec<_> = full
                .iter()
                .map(|(k, v)| (k.clone(), if k == field { value.into() } else { v.clone() }))
                .collect();
            assert!(matches!(
                BatchRefundNotify::from_fields(&bad),
                Err(NotifyError::BadField { .. })
            ));
        }
        // notify_time only dates a success.
        let no_time: Vec<_> = full
            .iter()
            .filter(|(k, _)| k != "notify_time")
            .cloned()
            .collect();
        assert_eq!(
            BatchRefundNotify::from_fields(&no_time)
                .unwrap()
                .notify_time,
            None
        );
    }
}
