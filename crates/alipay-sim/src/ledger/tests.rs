use chrono::{Duration, TimeZone, Utc};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap()
}

fn new(id: &str, fen: i64, seen: bool) -> NewTrade {
    NewTrade {
        out_trade_no: id.into(),
        subject: "Tea".into(),
        body: None,
        total_fen: fen,
        product: Product::Precreate,
        notify_url: Some("http://127.0.0.1:1/notify".into()),
        return_url: None,
        quit_url: None,
        time_expire: Some(t0() + Duration::minutes(30)),
        seen_by_buyer: seen,
    }
}

fn ask(id: &str, fen: i64, number: Option<&str>) -> RefundAsk {
    RefundAsk {
        out_trade_no: Some(id.into()),
        trade_no: None,
        amount_fen: fen,
        out_request_no: number.map(str::to_owned),
        reason: None,
        batch_no: None,
    }
}

fn paid(fen: i64) -> Ledger {
    let mut l = Ledger::default();
    l.open_trade(new("o1", fen, true), t0()).unwrap();
    l.pay("o1", t0()).unwrap();
    l
}

fn sub(e: AlipayError) -> String {
    e.sub_code
}

#[test]
fn amounts_must_be_within_alipays_limits() {
    let mut l = Ledger::default();
    assert_eq!(
        sub(l.open_trade(new("a", 0, true), t0()).unwrap_err()),
        "ACQ.TOTAL_FEE_EXCEED"
    );
    assert_eq!(
        sub(l.open_trade(new("b", MAX_FEN + 1, true), t0()).unwrap_err()),
        "ACQ.TOTAL_FEE_EXCEED"
    );
    assert!(l.open_trade(new("c", MAX_FEN, true), t0()).is_ok());
    assert_eq!(
        sub(l.open_trade(new("bad-id", 1, true), t0()).unwrap_err()),
        "ACQ.INVALID_PARAMETER"
    );
}

#[test]
fn one_trade_per_out_trade_no() {
    let mut l = Ledger::default();
    let first = l.open_trade(new("o1", 100, false), t0()).unwrap();
    assert_eq!(l.open_trade(new("o1", 100, false), t0()).unwrap(), first);
    assert_eq!(
        sub(l.open_trade(new("o1", 101, false), t0()).unwrap_err()),
        "ACQ.CONTEXT_INCONSISTENT"
    );
    l.pay("o1", t0()).unwrap();
    assert_eq!(
        sub(l.open_trade(new("o1", 100, false), t0()).unwrap_err()),
        "ACQ.TRADE_HAS_SUCCESS"
    );
    let mut l = Ledger::default();
    l.open_trade(new("o2", 100, true), t0()).unwrap();
    l.close(Some("o2"), None, t0()).unwrap();
    assert_eq!(
        sub(l.open_trade(new("o2", 100, true), t0()).unwrap_err()),
        "ACQ.TRADE_HAS_CLOSE"
    );
}

#[test]
fn unopened_trades_do_not_exist_for_query() {
    let mut l = Ledger::default();
    l.open_trade(new("o1", 100, false), t0()).unwrap();
    assert_eq!(
        sub(l.visible(Some("o1"), None).unwrap_err()),
        "ACQ.TRADE_NOT_EXIST"
    );
    l.seen("o1");
    assert!(l.visible(Some("o1"), None).is_ok());
}

#[test]
fn trade_no_wins_over_out_trade_no() {
    let mut l = paid(100);
    l.open_trade(new("o2", 200, true), t0()).unwrap();
    let t1 = l.trade("o1").unwrap().trade_no.clone();
    assert_eq!(l.visible(Some("o2"), Some(&t1)).unwrap().out_trade_no, "o1");
}

#[test]
fn partial_refunds_accumulate_and_a_full_refund_closes() {
    let mut l = paid(1000);
    let a = l.refund(ask("o1", 300, Some("r1")), t0()).unwrap();
    assert!(a.fund_change);
    assert_eq!(a.trade.refunded_fen, 300);
    assert_eq!(a.trade.status, TradeStatus::TradeSuccess);
    let b = l.refund(ask("o1", 700, Some("r2")), t0()).unwrap();
    assert_eq!(b.trade.refunded_fen, 1000);
    assert_eq!(b.trade.status, TradeStatus::TradeClosed);
}

#[test]
fn the_same_out_request_no_refunds_once() {
    let mut l = paid(1000);
    l.refund(ask("o1", 300, Some("r1")), t0()).unwrap();
    let again = l.refund(ask("o1", 300, Some("r1")), t0()).unwrap();
    assert!(!again.fund_change);
    assert_eq!(again.trade.refunded_fen, 300);
    assert_eq!(again.refund.repeats, 1);
    assert_eq!(
        sub(l.refund(ask("o1", 400, Some("r1")), t0()).unwrap_err()),
        "ACQ.DISCORDANT_REPEAT_REQUEST"
    );
    assert_eq!(l.refunds.len(), 1);
}

#[test]
fn refund_limits_and_statuses() {
    let mut l = paid(1000);
    assert_eq!(
        sub(l.refund(ask("o1", 1001, Some("r1")), t0()).unwrap_err()),
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    );
    assert_eq!(
        sub(l.refund(ask("o1", 500, None), t0()).unwrap_err()),
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    );
    assert!(l.refund(ask("o1", 1000, None), t0()).unwrap().fund_change);
    assert_eq!(
        sub(l.refund(ask("nope", 1, Some("r")), t0()).unwrap_err()),
        "ACQ.TRADE_NOT_EXIST"
    );
    let mut unpaid = Ledger::default();
    unpaid.open_trade(new("o1", 100, true), t0()).unwrap();
    assert_eq!(
        sub(unpaid.refund(ask("o1", 100, Some("r1")), t0()).unwrap_err()),
        "ACQ.TRADE_STATUS_ERROR"
    );
}

#[test]
fn time_expires_unpaid_trades_and_ends_the_refund_window() {
    let mut l = paid(1000);
    l.open_trade(new("o2", 100, true), t0()).unwrap();
    let events = l.tick(t0() + Duration::minutes(30), Duration::days(90));
    assert!(matches!(&events[..], [Event::Closed(t)] if t.out_trade_no == "o2"));
    let events = l.tick(t0() + Duration::days(91), Duration::days(90));
    assert!(matches!(&events[..], [Event::Finished(t)] if t.out_trade_no == "o1"));
    assert_eq!(
        sub(l
            .refund(ask("o1", 1, Some("r1")), t0() + Duration::days(91))
            .unwrap_err()),
        "ACQ.TRADE_HAS_FINISHED"
    );
}

#[test]
fn only_unpaid_trades_close() {
    let mut l = paid(100);
    assert_eq!(
        sub(l.close(Some("o1"), None, t0()).unwrap_err()),
        "ACQ.TRADE_STATUS_ERROR"
    );
    assert_eq!(
        sub(l.close(Some("zz"), None, t0()).unwrap_err()),
        "ACQ.TRADE_NOT_EXIST"
    );
}
