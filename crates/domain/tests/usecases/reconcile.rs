//! Reconciliation against a mocked bill: what each difference becomes, what payport
//! does about it, and a bill that is not there.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::orders::snapshot;
use super::support::*;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::error::GatewayError;
use payport_domain::order::OrderStatus;
use payport_domain::ports::*;
use payport_domain::reconciliation::{
    ItemAction, ItemKind, Reconciliation, ReconciliationItem, ReconciliationStatus,
};
use payport_domain::refund::{Refund, RefundGatewayKind, RefundStatus};
use payport_domain::usecases::{RefundRequest, PENDING_RETRY};

/// The Beijing day of [`t0`] (16:00 Beijing).
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn line(kind: BillLineKind, out_trade_no: &str, number: Option<&str>, amount: &str) -> BillLine {
    BillLine {
        kind,
        out_trade_no: out_trade_no.into(),
        trade_no: format!("T{out_trade_no}"),
        out_request_no: number.map(Into::into),
        amount: yuan(amount),
        finished_at: finished(),
    }
}

fn finished() -> DateTime<Utc> {
    t0() + Duration::minutes(5)
}

fn payment(out_trade_no: &str, amount: &str) -> BillLine {
    line(BillLineKind::Payment, out_trade_no, None, amount)
}

fn refund_line(out_trade_no: &str, number: &str, amount: &str) -> BillLine {
    line(BillLineKind::Refund, out_trade_no, Some(number), amount)
}

/// A harness with these paid orders (out_trade_no, total) and the day's bill.
fn paid_with_bill(orders: &[(&str, &str)], lines: Vec<BillLine>) -> Harness {
    let mut h = Harness::new();
    for (no, total) in orders {
        h.store.put_order(paid_order(no, total));
    }
    bill(&mut h, lines);
    h
}

fn bill(h: &mut Harness, lines: Vec<BillLine>) {
    h.bills
        .expect_trade_bill()
        .withf(|date| *date == day())
        .returning(move |_| Ok(TradeBill::Ready(lines.clone())));
}

/// Paid order o1 with a legacy refund of `refunded` never settled, and a bill where
/// batch 2026112100001 refunds `billed` of o1.
async fn legacy_day(refunded: &str, billed: &str) -> (Built, Refund) {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h.mapi_nopwd = Some(accepting("2026112100001"));
    let lines = vec![
        payment("o1", "10.00"),
        refund_line("o1", "2026112100001", billed),
    ];
    bill(&mut h, lines);
    let app = h.build();
    let refund = legacy_refund(&app, refunded).await;
    (app, refund)
}

/// A legacy no-password refund of `amount` on o1, accepted and never settled.
async fn legacy_refund(app: &Built, amount: &str) -> Refund {
    let request = RefundRequest {
        out_trade_no: otn("o1"),
        amount: yuan(amount),
        reason: None,
        out_request_no: Some(orn("lr1")),
        gateway: Some(RefundGatewayKind::MapiNoPwd),
    };
    let refund = app.refunds.request(request).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    refund
}

fn kinds(report: &Reconciliation) -> Vec<(ItemKind, ItemAction, &str)> {
    report
        .items
        .iter()
        .map(|i| (i.kind, i.action, i.out_trade_no.as_str()))
        .collect()
}

#[tokio::test]
async fn a_day_with_nothing_wrong_is_completed_with_every_line_matched() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h.store.put_order(paid_order("o2", "20.00"));
    h.openapi
        .expect_submit_refund()
        .returning(|_| Ok(RefundSubmitted::Succeeded(Default::default())));
    bill(
        &mut h,
        vec![
            payment("o1", "10.00"),
            payment("o2", "20.00"),
            refund_line("o1", "r1", "3.00"),
        ],
    );
    let app = h.build();
    let request = RefundRequest {
        out_trade_no: otn("o1"),
        amount: yuan("3.00"),
        reason: None,
        out_request_no: Some(orn("r1")),
        gateway: None,
    };
    app.refunds.request(request).await.unwrap();
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(report.status, ReconciliationStatus::Completed);
    assert_eq!(report.items, vec![]);
    let c = report.counts;
    assert_eq!(
        (
            c.alipay_payments,
            c.alipay_refunds,
            c.payport_payments,
            c.payport_refunds
        ),
        (2, 1, 2, 1)
    );
    assert_eq!((c.matched, c.mismatches, c.unresolved), (3, 0, 0));
    assert_eq!((report.attempts, report.last_error.as_deref()), (1, None));
    assert_eq!(app.reconciliations.get(day()).await.unwrap(), report);
}

#[tokio::test]
async fn a_bill_not_ready_or_not_fetched_leaves_the_report_pending() {
    let mut h = Harness::new();
    let mut seq = mockall::Sequence::new();
    h.bills
        .expect_trade_bill()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(TradeBill::NotReady));
    h.bills
        .expect_trade_bill()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(GatewayError::Unknown("HTTP 502".into())));
    let app = h.build();
    let err = app.reconciliations.get(day()).await.unwrap_err();
    assert_eq!(err.code(), "RECONCILIATION_NOT_FOUND");

    let first = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(first.status, ReconciliationStatus::Pending);
    assert!(first
        .last_error
        .as_deref()
        .unwrap()
        .contains("not available"));
    assert_eq!(first.attempts, 1);
    assert_eq!(first.next_attempt_at, Some(t0() + PENDING_RETRY));
    assert_eq!(first.counts.matched, 0, "never all matched");

    app.advance(Duration::minutes(30));
    let second = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(second.status, ReconciliationStatus::Pending);
    assert!(second.last_error.as_deref().unwrap().contains("HTTP 502"));
    assert_eq!(second.attempts, 2);
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(app.reconciliations.get(day()).await.unwrap(), second);
}

#[tokio::test]
async fn a_payment_payport_has_unpaid_is_synced_and_one_it_cannot_confirm_is_for_a_person() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "88.88"));
    h.store.put_order(pending_order("o2", "88.88"));
    h.payments
        .expect_query_trade()
        .withf(|no| no.as_str() == "o1")
        .returning(|_| Ok(snapshot(AlipayTradeStatus::TradeSuccess, "88.88")));
    h.payments
        .expect_query_trade()
        .withf(|no| no.as_str() == "o2")
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    bill(&mut h, vec![payment("o1", "88.88"), payment("o2", "88.88")]);
    let app = h.build();
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [
            (ItemKind::PaymentMissingHere, ItemAction::Synced, "o1"),
            (ItemKind::PaymentMissingHere, ItemAction::None, "o2"),
        ]
    );
    assert!(report.items[1].note.as_deref().unwrap().contains("timeout"));
    assert_eq!(app.store.order("o1").status, OrderStatus::Paid);
    assert_eq!(app.store.order("o2").status, OrderStatus::Pending);
    assert_eq!(report.counts.mismatches, 2);
    // o1 was paid on the day: payport now has it, as the bill does.
    assert_eq!(report.counts.payport_payments, 1);
}

#[tokio::test]
async fn unknown_orders_and_other_amounts_are_for_a_person() {
    let h = paid_with_bill(
        &[("o1", "10.00"), ("o2", "10.00")],
        vec![
            payment("o1", "10.01"),
            payment("nobody", "5.00"),
            refund_line("ghost", "r9", "1.00"),
            payment("o2", "10.00"),
        ],
    );
    let app = h.build();
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        report.items[0],
        ReconciliationItem {
            kind: ItemKind::AmountMismatch,
            out_trade_no: "o1".into(),
            out_request_no: None,
            alipay_amount: Some(yuan("10.01")),
            payport_amount: Some(yuan("10.00")),
            action: ItemAction::None,
            note: None,
        }
    );
    // o1 is named by a line (of another amount): not also missing at Alipay.
    assert_eq!(
        kinds(&report)[1..],
        [
            (ItemKind::PaymentMissingHere, ItemAction::None, "nobody"),
            (ItemKind::RefundMissingHere, ItemAction::None, "ghost"),
        ]
    );
    assert_eq!(report.counts.matched, 1);
    assert_eq!(report.items.len(), 3);
}

#[tokio::test]
async fn what_payport_has_and_the_bill_lacks_is_missing_at_alipay() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h.store.put_order(paid_order("o2", "20.00"));
    bill(&mut h, vec![payment("o1", "10.00")]);
    let app = h.build();
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [(ItemKind::MissingAtAlipay, ItemAction::None, "o2")]
    );
    assert_eq!(report.items[0].payport_amount, Some(yuan("20.00")));
}

#[tokio::test]
async fn a_legacy_refund_whose_notification_was_lost_is_settled_by_the_bill() {
    let (app, refund) = legacy_day("4.00", "4.00").await;
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [(ItemKind::RefundMissingHere, ItemAction::SettledRefund, "o1")]
    );
    assert_eq!(
        report.items[0].out_request_no.as_deref(),
        Some("2026112100001")
    );
    let settled = app.refunds.get(&refund.refund_id).await.unwrap();
    assert_eq!(settled.status, RefundStatus::Succeeded);
    assert_eq!(settled.completed_at, Some(finished()));
    assert_eq!(app.store.order("o1").refunded_amount, yuan("4.00"));

    // A re-run finds it matched, and keeps the record of what was done.
    let again = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(again.items, report.items);
    assert_eq!(again.counts.matched, 2);
    assert_eq!(again.attempts, 2);
}

#[tokio::test]
async fn a_legacy_line_of_another_amount_settles_nothing() {
    let (app, refund) = legacy_day("4.00", "4.50").await;
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [(ItemKind::AmountMismatch, ItemAction::None, "o1")]
    );
    let still = app.refunds.get(&refund.refund_id).await.unwrap();
    assert_eq!(still.status, RefundStatus::Processing);
}

#[tokio::test]
async fn a_refund_payport_has_as_failed_is_for_a_person() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h.openapi
        .expect_submit_refund()
        .returning(|_| Err(rejected("ACQ.SYSTEM_ERROR")));
    bill(
        &mut h,
        vec![payment("o1", "10.00"), refund_line("o1", "r1", "1.00")],
    );
    let app = h.build();
    let request = RefundRequest {
        out_trade_no: otn("o1"),
        amount: yuan("1.00"),
        reason: None,
        out_request_no: Some(orn("r1")),
        gateway: None,
    };
    let failed = app.refunds.request(request).await.unwrap();
    assert_eq!(failed.status, RefundStatus::Failed);
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [(ItemKind::RefundMissingHere, ItemAction::None, "o1")]
    );
    assert!(report.items[0].note.as_deref().unwrap().contains("failed"));
    assert_eq!(
        app.refunds.get(&failed.refund_id).await.unwrap().status,
        RefundStatus::Failed
    );
}

#[tokio::test]
async fn a_legacy_refund_unsettled_for_days_is_unresolved() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h.mapi_nopwd = Some(accepting("2026112100001"));
    let later = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    h.bills
        .expect_trade_bill()
        .returning(|_| Ok(TradeBill::Ready(Vec::new())));
    let app = h.build();
    let refund = legacy_refund(&app, "4.00").await;
    // Three days after it was sent it is not stranded yet; a minute more, it is.
    app.advance(Duration::days(3));
    let report = app.reconciliations.run(later).await.unwrap();
    assert_eq!(report.items, vec![]);
    app.advance(Duration::minutes(1));
    let report = app.reconciliations.run(later).await.unwrap();
    assert_eq!(
        kinds(&report),
        [(ItemKind::Unresolved, ItemAction::None, "o1")]
    );
    assert_eq!(report.items[0].payport_amount, Some(yuan("4.00")));
    assert_eq!((report.counts.unresolved, report.counts.mismatches), (1, 0));
    let still = app.refunds.get(&refund.refund_id).await.unwrap();
    assert_eq!(still.status, RefundStatus::Processing, "never guessed");
}

#[tokio::test]
async fn the_daily_run_runs_a_date_once() {
    let mut h = Harness::new();
    h.bills
        .expect_trade_bill()
        .times(1)
        .returning(|_| Ok(TradeBill::Ready(Vec::new())));
    let app = h.build();
    let lease = std::time::Duration::from_secs(600);
    let report = app.reconciliations.run_claimed(day(), lease).await.unwrap();
    assert_eq!(report.unwrap().status, ReconciliationStatus::Completed);
    assert_eq!(
        app.reconciliations.run_claimed(day(), lease).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_refund_payport_never_sent_is_recorded_as_external_unless_it_cannot_be() {
    let h = paid_with_bill(
        &[("o1", "10.00"), ("o2", "10.00")],
        vec![
            payment("o1", "10.00"),
            payment("o2", "10.00"),
            refund_line("o1", "console1", "3.00"),
            // More than o2 has: a contradiction for a person, never forced.
            refund_line("o2", "console2", "12.00"),
        ],
    );
    let app = h.build();
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [
            (
                ItemKind::RefundMissingHere,
                ItemAction::RecordedExternalRefund,
                "o1"
            ),
            (ItemKind::RefundMissingHere, ItemAction::None, "o2"),
        ]
    );
    assert!(report.items[1].note.is_some());
    let o1 = app.store.order("o1");
    assert_eq!(o1.refunded_amount, yuan("3.00"));
    let recorded = app.refunds.list_for_order(&otn("o1")).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].external);
    assert_eq!(recorded[0].completed_at, Some(finished()));
    assert!(app.store.order("o2").refunded_amount.is_zero());

    // Run again: the recorded refund now matches its line, and its item is kept
    // after the new run's own (o2's, listed again).
    let again = app.reconciliations.run(day()).await.unwrap();
    let kept = vec![report.items[1].clone(), report.items[0].clone()];
    assert_eq!(again.items, kept);
    assert_eq!(again.counts.matched, 3);
}
