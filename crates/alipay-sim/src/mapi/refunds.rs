//! Carrying out an accepted batch, record by record (PROTOCOL.md B3, B4, C).
//!
//! Each record is one refund through the same books and rules as
//! `alipay.trade.refund`, with `out_request_no = batch_no`: a trade appears at most
//! once per batch and batch numbers are unique, so Alipay's one-refund-per-request
//! rule holds. Records fail independently; a failure is reported in
//! `result_details` by its code, never as a refusal of the batch.
//!
//! Ledger sub_code → mapi result code (B4's list; ⚠ the pairing is the simulator's):
//!
//! | ledger (A7) | mapi record result |
//! |---|---|
//! | — (refunded) | `SUCCESS` |
//! | ACQ.TRADE_NOT_EXIST | `TRADE_NOT_EXIST` |
//! | ACQ.TRADE_STATUS_ERROR, ACQ.TRADE_HAS_FINISHED, ACQ.TRADE_NOT_ALLOW_REFUND | `TRADE_STATUS_ERROR` |
//! | ACQ.REFUND_AMT_NOT_EQUAL_TOTAL, ACQ.INVALID_PARAMETER, ACQ.REFUND_FEE_ERROR | `REFUND_AMOUNT_NOT_VALID` |
//! | ACQ.REASON_TRADE_REFUND_FEE_ERR | `REASON_TRADE_REFUND_FEE_ERR` |
//! | ACQ.SELLER_BALANCE_NOT_ENOUGH | `TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH` |
//! | ACQ.DISCORDANT_REPEAT_REQUEST, or a repeat (`fund_change=N`) | `DUPLICATE_BATCH_NO` |
//! | anything else | `TRADE_STATUS_ERROR` ("the trade does not allow a refund") |
//!
//! The last two rows can only happen when an OpenAPI refund of the same trade used
//! this batch_no as its out_request_no: the batch then moves no money, and says so.

use chrono::{DateTime, Utc};

use crate::ledger::{Event, Ledger, MapiRecord, RefundAsk};

pub(crate) const SUCCESS: &str = "SUCCESS";

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordResult {
    pub trade_no: String,
    pub amount_fen: i64,
    /// `SUCCESS` or the failure code.
    pub result: &'static str,
}

/// Refunds every record; the events are the trades' `trade_status_sync` notifications.
pub(crate) fn perform(
    ledger: &mut Ledger,
    batch_no: &str,
    records: &[MapiRecord],
    now: DateTime<Utc>,
) -> (Vec<RecordResult>, Vec<Event>) {
    let mut results = Vec::with_capacity(records.len());
    let mut events = Vec::new();
    for record in records {
        let ask = RefundAsk {
            out_trade_no: None,
            trade_no: Some(record.trade_no.clone()),
            amount_fen: record.amount_fen,
            out_request_no: Some(batch_no.to_owned()),
            reason: Some(record.reason.clone()),
            batch_no: Some(batch_no.to_owned()),
        };
        let result = match ledger.refund(ask, now) {
            Ok(done) if done.fund_change => {
                events.push(Event::Refunded {
                    trade: done.trade,
                    refund: done.refund,
                });
                SUCCESS
            }
            Ok(_) => "DUPLICATE_BATCH_NO",
            Err(e) => result_code(&e.sub_code),
        };
        results.push(RecordResult {
            trade_no: record.trade_no.clone(),
            amount_fen: record.amount_fen,
            result,
        });
    }
    (results, events)
}

/// The table in the module docs.
fn result_code(sub_code: &str) -> &'static str {
    match sub_code {
        "ACQ.TRADE_NOT_EXIST" => "TRADE_NOT_EXIST",
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" | "ACQ.INVALID_PARAMETER" | "ACQ.REFUND_FEE_ERROR" => {
            "REFUND_AMOUNT_NOT_VALID"
        }
        "ACQ.REASON_TRADE_REFUND_FEE_ERR" => "REASON_TRADE_REFUND_FEE_ERR",
        "ACQ.SELLER_BALANCE_NOT_ENOUGH" => "TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH",
        "ACQ.DISCORDANT_REPEAT_REQUEST" => "DUPLICATE_BATCH_NO",
        _ => "TRADE_STATUS_ERROR",
    }
}

/// `result_details` (B4): records joined by `#`, each `trade_no^amount^RESULT`.
pub(crate) fn result_details(results: &[RecordResult]) -> String {
    results
        .iter()
        .map(|r| {
            format!(
                "{}^{}^{}",
                r.trade_no,
                crate::notify::fen(r.amount_fen),
                r.result
            )
        })
        .collect::<Vec<_>>()
        .join("#")
}

pub(crate) fn success_num(results: &[RecordResult]) -> usize {
    results.iter().filter(|r| r.result == SUCCESS).count()
}
