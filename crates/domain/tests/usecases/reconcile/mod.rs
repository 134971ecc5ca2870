//! Reconciliation against a mocked bill: what each difference becomes, what payport
//! does about it, and a bill that is not there. Refund lines are in `refunds`.

mod daily;
mod refunds;
mod verified;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::orders::snapshot;
use super::support::*;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::error::GatewayError;
use payport_domain::money::Amount;
use payport_domain::order::OrderStatus;
use payport_domain::ports::*;
use payport_domain::reconciliation::{
    ItemAction, ItemKind, Reconciliation, ReconciliationItem, ReconciliationStatus,
};
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

/// Alipay's signed refund query finds these refunds (number, amount) of any order,
/// refunded at the bill's time; no other.
fn alipay_has(h: &mut Harness, refunds: &[(&str, &str)]) {
    let refunds: Vec<(String, Amount)> = refunds
        .iter()
        .map(|(number, amount)| (number.to_string(), yuan(amount)))
        .collect();
    h.openapi_query
        .expect_find_refund()
        .returning(move |_, number| {
            Ok(refunds
                .iter()
                .find(|(n, _)| n == number.as_str())
                .map(|(_, amount)| FoundRefund {
                    amount: *amount,
                    refunded_at: Some(finished()),
                }))
        });
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
    // A person sees both sides' amounts: the order's total is the bill's.
    for item in &report.items {
        let both = (item.alipay_amount, item.payport_amount);
        assert_eq!(both, (Some(yuan("88.88")), Some(yuan("88.88"))));
    }
    assert_eq!(app.store.order("o1").status, OrderStatus::Paid);
    assert_eq!(app.store.order("o2").status, OrderStatus::Pending);
    assert_eq!(report.counts.mismatches, 2);
    // o1 was paid on the day: payport now has it, as the bill does.
    assert_eq!(report.counts.payport_payments, 1);
}

/// The bill lists a payment, but Alipay's signed trade query still says the buyer has
/// not paid: the order stays as it is, and a person is told, not "synced".
#[tokio::test]
async fn a_payment_alipay_s_query_does_not_confirm_leaves_the_order_and_is_for_a_person() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "88.88"));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(snapshot(AlipayTradeStatus::WaitBuyerPay, "88.88")));
    bill(&mut h, vec![payment("o1", "88.88")]);
    let app = h.build();
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [(ItemKind::PaymentMissingHere, ItemAction::None, "o1")]
    );
    let note = report.items[0].note.as_deref().unwrap();
    assert!(note.contains("pending"), "{note}");
    assert_eq!(app.store.order("o1").status, OrderStatus::Pending);
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
