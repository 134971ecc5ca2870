//! The refunds of each trade as Alipay's books hold them, for a harness to check a
//! merchant's books against: what each trade has refunded, and each refund number with
//! how often it moved money (more than once would be a double refund) and how often it
//! was asked for again without moving any.

use serde::Serialize;

use crate::ledger::Ledger;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TradeRefunds {
    pub out_trade_no: String,
    pub trade_no: String,
    pub total_fen: i64,
    pub refunded_fen: i64,
    pub refunds: Vec<RefundCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundCount {
    pub out_request_no: String,
    pub amount_fen: i64,
    /// Records under this number that moved money: 1, unless refunded twice.
    pub performed: u32,
    /// Asks under this number answered without moving money.
    pub repeats: u32,
}

/// Every trade, with its refunds in the order they were made.
pub fn refund_report(ledger: &Ledger) -> Vec<TradeRefunds> {
    ledger
        .trades
        .iter()
        .map(|trade| {
            let mut refunds: Vec<RefundCount> = Vec::new();
            for r in ledger
                .refunds
                .iter()
                .filter(|r| r.trade_no == trade.trade_no)
            {
                match refunds
                    .iter_mut()
                    .find(|c| c.out_request_no == r.out_request_no)
                {
                    Some(count) => {
                        count.performed += 1;
                        count.amount_fen += r.amount_fen;
                        count.repeats += r.repeats;
                    }
                    None => refunds.push(RefundCount {
                        out_request_no: r.out_request_no.clone(),
                        amount_fen: r.amount_fen,
                        performed: 1,
                        repeats: r.repeats,
                    }),
                }
            }
            TradeRefunds {
                out_trade_no: trade.out_trade_no.clone(),
                trade_no: trade.trade_no.clone(),
                total_fen: trade.total_fen,
                refunded_fen: trade.refunded_fen,
                refunds,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::ledger::SimRefund;

    fn refund(trade_no: &str, number: &str, fen: i64, repeats: u32) -> SimRefund {
        SimRefund {
            trade_no: trade_no.into(),
            out_trade_no: format!("o{trade_no}"),
            out_request_no: number.into(),
            amount_fen: fen,
            reason: None,
            refunded_at: Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap(),
            batch_no: None,
            repeats,
        }
    }

    #[test]
    fn a_number_recorded_twice_on_a_trade_shows_as_performed_twice() {
        let json = serde_json::json!({
            "trades": [], "refunds": [], "batch_nos": [], "sequence": 0
        });
        let mut ledger: Ledger = serde_json::from_value(json).unwrap();
        ledger.refunds = vec![
            refund("t1", "r1", 300, 2),
            refund("t1", "r2", 100, 0),
            refund("t1", "r1", 300, 0),
            refund("t2", "r1", 50, 0),
        ];
        // A trade of each: only t1's are reported under t1.
        let mut t1: crate::ledger::Trade = serde_json::from_value(serde_json::json!({
            "out_trade_no": "ot1", "trade_no": "t1", "subject": "Tea", "body": null,
            "total_fen": 1000, "product": "precreate", "status": "TRADE_SUCCESS",
            "notify_url": null, "return_url": null, "quit_url": null,
            "seen_by_buyer": true, "created_at": "2026-11-21T08:00:00Z",
            "time_expire": null, "paid_at": null, "closed_at": null,
            "buyer_id": null, "buyer_logon_id": null, "refunded_fen": 700
        }))
        .unwrap();
        ledger.trades.push(t1.clone());
        t1.trade_no = "t2".into();
        ledger.trades.push(t1);
        let report = refund_report(&ledger);
        assert_eq!(report.len(), 2);
        let r1 = &report[0].refunds[0];
        assert_eq!((r1.performed, r1.amount_fen, r1.repeats), (2, 600, 2));
        assert_eq!(report[0].refunds[1].performed, 1);
        assert_eq!(report[1].refunds.len(), 1);
    }
}
