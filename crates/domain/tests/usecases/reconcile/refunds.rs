//! Refund lines: settled, recorded as external, or left for a person; and legacy
//! refunds nobody settled.

use chrono::{Duration, NaiveDate};

use super::*;
use crate::support::*;
use payport_domain::ports::*;
use payport_domain::reconciliation::{ItemAction, ItemKind};
use payport_domain::refund::{Refund, RefundGatewayKind, RefundStatus};
use payport_domain::usecases::RefundRequest;

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
pub(super) async fn legacy_refund(app: &Built, amount: &str) -> Refund {
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
    let amounts = (
        report.items[0].alipay_amount,
        report.items[0].payport_amount,
    );
    assert_eq!(amounts, (Some(yuan("4.00")), Some(yuan("4.00"))));
    let settled = app.refunds.get(&refund.refund_id).await.unwrap();
    assert_eq!(settled.status, RefundStatus::Succeeded);
    assert_eq!(settled.completed_at, Some(finished()));
    assert_eq!(app.store.order("o1").refunded_amount, yuan("4.00"));

    // A re-run finds it matched, and keeps the record of what was done.
    let again = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(again.items, report.items);
    assert_eq!(again.counts.matched, 2);
    assert_eq!(again.attempts, 2);
    // The counts are about this run: the kept item is not a difference found now.
    assert_eq!((again.counts.mismatches, again.counts.unresolved), (0, 0));
}

#[tokio::test]
async fn a_legacy_line_of_another_amount_settles_nothing() {
    let (app, refund) = legacy_day("4.00", "4.50").await;
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [(ItemKind::AmountMismatch, ItemAction::None, "o1")]
    );
    let amounts = (
        report.items[0].alipay_amount,
        report.items[0].payport_amount,
    );
    assert_eq!(amounts, (Some(yuan("4.50")), Some(yuan("4.00"))));
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
    let amounts = (
        report.items[0].alipay_amount,
        report.items[0].payport_amount,
    );
    assert_eq!(amounts, (Some(yuan("1.00")), Some(yuan("1.00"))));
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
    let note = report.items[0].note.as_deref().unwrap();
    assert!(note.contains("bill does not settle it"), "{note}");
    assert_eq!(
        report.items[0].out_request_no,
        Some(refund.out_request_no.to_string())
    );
    assert_eq!((report.counts.unresolved, report.counts.mismatches), (1, 0));
    let still = app.refunds.get(&refund.refund_id).await.unwrap();
    assert_eq!(still.status, RefundStatus::Processing, "never guessed");
}

#[tokio::test]
async fn a_refund_payport_never_sent_is_recorded_as_external_unless_it_cannot_be() {
    let mut h = paid_with_bill(
        &[("o1", "10.00"), ("o2", "10.00")],
        vec![
            payment("o1", "10.00"),
            payment("o2", "10.00"),
            refund_line("o1", "console1", "3.00"),
            // More than o2 has: a contradiction for a person, never forced.
            refund_line("o2", "console2", "12.00"),
        ],
    );
    alipay_has(&mut h, &[("console1", "3.00"), ("console2", "12.00")]);
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
    // The recorded refund is payport's side now; the refused one has none.
    let amounts = |i: usize| {
        (
            report.items[i].alipay_amount,
            report.items[i].payport_amount,
        )
    };
    assert_eq!(amounts(0), (Some(yuan("3.00")), Some(yuan("3.00"))));
    assert_eq!(amounts(1), (Some(yuan("12.00")), None));
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
