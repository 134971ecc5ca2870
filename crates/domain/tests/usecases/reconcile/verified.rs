//! The bill is not signed: refunds are recorded or settled only on Alipay's signed
//! answers (legacy refunds aside), flagged refunds are left to a person, and a
//! refund's order is synced before its refund line is looked at.

use super::*;
use crate::events::{record, Call};
use crate::support::*;
use payport_domain::ports::*;
use payport_domain::reconciliation::{ItemAction, ItemKind};
use payport_domain::refund::{RefundStatus, RefundSuccess};
use payport_domain::usecases::{ExternalRefund, RefundRequest};

fn note(report: &Reconciliation, i: usize) -> &str {
    report.items[i].note.as_deref().unwrap_or("")
}

/// Paid order o1 (10.00) and a bill with its payment and these refund lines
/// (number, amount).
fn o1_refunded(refunds: &[(&str, &str)]) -> Harness {
    let refund_lines = refunds.iter().map(|(n, a)| refund_line("o1", n, a));
    let lines = std::iter::once(payment("o1", "10.00"))
        .chain(refund_lines)
        .collect();
    paid_with_bill(&[("o1", "10.00")], lines)
}

/// The report's one item: a refund line of o1 left for a person; its note.
fn for_a_person(report: &Reconciliation) -> &str {
    assert_eq!(
        kinds(report),
        [(ItemKind::RefundMissingHere, ItemAction::None, "o1")]
    );
    note(report, 0)
}

#[tokio::test]
async fn a_refund_alipay_s_query_does_not_confirm_is_not_recorded() {
    let mut h = o1_refunded(&[
        ("console1", "3.00"),
        ("console2", "2.00"),
        ("console3", "1.00"),
    ]);
    h.openapi_query.expect_find_refund().returning(|_, number| {
        match number.as_str() {
            // Another amount than the bill's.
            "console1" => Ok(Some(FoundRefund {
                amount: yuan("2.50"),
                refunded_at: None,
            })),
            "console2" => Ok(None),
            _ => Err(GatewayError::Unknown("timeout".into())),
        }
    });
    let app = h.build();
    let report = app.reconciliations.run(day()).await.unwrap();
    let none = (ItemKind::RefundMissingHere, ItemAction::None, "o1");
    assert_eq!(kinds(&report), [none, none, none]);
    assert!(note(&report, 0).contains("2.50"), "{}", note(&report, 0));
    assert!(note(&report, 1).contains("does not find"));
    assert!(note(&report, 2).contains("timeout"));
    assert!(app.store.refund_list().is_empty());
    assert!(app.store.order("o1").refunded_amount.is_zero());
}

#[tokio::test]
async fn without_a_refund_query_an_unknown_refund_cannot_be_verified() {
    let mut h = o1_refunded(&[("console1", "3.00")]);
    let submit: std::sync::Arc<dyn RefundSubmitter> =
        std::sync::Arc::new(MockRefundSubmitter::new());
    h.openapi_override = Some(RefundRoute::new(submit));
    let app = h.build();
    let report = app.reconciliations.run(day()).await.unwrap();
    assert!(for_a_person(&report).contains("cannot be verified"));
    assert!(app.store.refund_list().is_empty());
}

/// payport's own refund with an unknown outcome: the bill does not settle it, the
/// signed refund query does, or leaves it as it is.
#[tokio::test]
async fn an_openapi_refund_under_way_is_settled_only_by_alipay_s_refund_query() {
    let mut h = o1_refunded(&[("r1", "3.00"), ("r2", "1.00")]);
    h.openapi
        .expect_submit_refund()
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    h.openapi_query
        .expect_query_refund()
        .withf(|s| s.out_request_no.as_str() == "r1")
        .returning(|_| {
            Ok(RefundLookup::Succeeded(RefundSuccess {
                refund_fee: Some(yuan("3.00")),
                refunded_at: Some(t0() + Duration::minutes(2)),
            }))
        });
    h.openapi_query
        .expect_query_refund()
        .withf(|s| s.out_request_no.as_str() == "r2")
        .returning(|_| Err(GatewayError::Unknown("HTTP 503".into())));
    let app = h.build();
    let mut sent = Vec::new();
    for (number, amount) in [("r1", "3.00"), ("r2", "1.00")] {
        let request = RefundRequest {
            out_trade_no: otn("o1"),
            amount: yuan(amount),
            reason: None,
            out_request_no: Some(orn(number)),
            gateway: None,
        };
        let refund = app.refunds.request(request).await.unwrap();
        assert_eq!(refund.status, RefundStatus::Processing);
        sent.push(refund);
    }
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [
            (ItemKind::RefundMissingHere, ItemAction::SettledRefund, "o1"),
            (ItemKind::RefundMissingHere, ItemAction::None, "o1"),
        ]
    );
    assert!(
        note(&report, 1).contains("processing"),
        "{}",
        note(&report, 1)
    );
    let settled = app.refunds.get(&sent[0].refund_id).await.unwrap();
    assert_eq!(settled.status, RefundStatus::Succeeded);
    // Alipay's time, not the bill's.
    assert_eq!(settled.completed_at, Some(t0() + Duration::minutes(2)));
    let still = app.refunds.get(&sent[1].refund_id).await.unwrap();
    assert_eq!(still.status, RefundStatus::Processing);
    assert_eq!(app.store.order("o1").refunded_amount, yuan("3.00"));
}

/// A legacy refund whose batch notification reported another amount is flagged: the
/// bill, even of the refund's own amount, does not settle it.
#[tokio::test]
async fn a_flagged_legacy_refund_is_for_a_person_and_not_settled_by_the_bill() {
    let mut h = o1_refunded(&[("2026112100001", "4.00")]);
    h.mapi_nopwd = Some(accepting("2026112100001"));
    let app = h.build();
    let refund = super::refunds::legacy_refund(&app, "4.00").await;
    let flagged = app
        .refunds
        .apply_result(&RefundResult {
            reference: RefundReference::Batch {
                batch_no: refund.batch_no.clone().unwrap(),
                trade_no: trade_no("To1"),
                amount: yuan("4.50"),
            },
            outcome: RefundResultOutcome::Succeeded(RefundSuccess::default()),
        })
        .await
        .unwrap();
    assert!(flagged[0].has_anomaly());
    let report = app.reconciliations.run(day()).await.unwrap();
    let why = for_a_person(&report);
    assert!(why.contains("4.50"), "{why}");
    let still = app.refunds.get(&refund.refund_id).await.unwrap();
    assert_eq!(still.status, RefundStatus::Processing);
    assert!(app.store.order("o1").refunded_amount.is_zero());
}

/// A legacy refund under way may be the bill's refund under another number.
#[tokio::test]
async fn no_external_twin_is_recorded_while_a_legacy_refund_is_under_way() {
    let mut h = o1_refunded(&[("console1", "4.00")]);
    h.mapi_nopwd = Some(accepting("2026112100001"));
    alipay_has(&mut h, &[("console1", "4.00")]);
    let app = h.build();
    let ours = super::refunds::legacy_refund(&app, "4.00").await;
    let report = app.reconciliations.run(day()).await.unwrap();
    assert!(for_a_person(&report).contains(ours.refund_id.as_str()));
    assert_eq!(app.store.refund_list(), [ours]);
}

/// The payment notification was lost and the bill lists the refund first: the
/// payment is synced before the refund line is looked at.
#[tokio::test]
async fn payment_lines_are_looked_at_before_refund_lines() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(snapshot(AlipayTradeStatus::TradeSuccess, "10.00")));
    alipay_has(&mut h, &[("console1", "3.00")]);
    bill(
        &mut h,
        vec![
            refund_line("o1", "console1", "3.00"),
            payment("o1", "10.00"),
        ],
    );
    let app = h.build();
    let report = app.reconciliations.run(day()).await.unwrap();
    assert_eq!(
        kinds(&report),
        [
            (ItemKind::PaymentMissingHere, ItemAction::Synced, "o1"),
            (
                ItemKind::RefundMissingHere,
                ItemAction::RecordedExternalRefund,
                "o1"
            ),
        ]
    );
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::PartiallyRefunded);
    assert_eq!(order.refunded_amount, yuan("3.00"));
}

/// The bill's refund line console1 (3.00), which Alipay's query confirms, while another
/// path records an external refund of `amount` under that number just before this run
/// does; the app and the run's report.
async fn recorded_meanwhile(amount: &'static str) -> (Built, Reconciliation) {
    let mut h = o1_refunded(&[("console1", "3.00")]);
    alipay_has(&mut h, &[("console1", "3.00")]);
    let rec = record(&mut h);
    let app = h.build();
    let other = app.refunds.clone();
    rec.before(Call::InsertExternal, move || async move {
        let meanwhile = ExternalRefund {
            out_trade_no: otn("o1"),
            out_request_no: orn("console1"),
            amount: yuan(amount),
            refunded_at: None,
        };
        other.record_external(&meanwhile).await.unwrap();
    });
    let report = app.reconciliations.run(day()).await.unwrap();
    (app, report)
}

/// Another path recorded a refund under the line's number meanwhile, of another
/// amount: this run did not record it, and says so.
#[tokio::test]
async fn a_refund_recorded_meanwhile_is_not_an_action_of_this_run() {
    let (app, report) = recorded_meanwhile("2.00").await;
    let why = for_a_person(&report);
    assert!(why.contains("2.00"), "{why}");
    assert_eq!(report.items[0].payport_amount, Some(yuan("2.00")));
    assert_eq!(app.store.refund_list().len(), 1);
    assert_eq!(app.store.order("o1").refunded_amount, yuan("2.00"));
}

/// Another path recorded the very same external refund meanwhile: the line is
/// accounted for, once.
#[tokio::test]
async fn the_same_external_refund_recorded_meanwhile_counts_once() {
    let (app, report) = recorded_meanwhile("3.00").await;
    assert_eq!(
        kinds(&report),
        [(
            ItemKind::RefundMissingHere,
            ItemAction::RecordedExternalRefund,
            "o1"
        )]
    );
    assert_eq!(report.items[0].payport_amount, Some(yuan("3.00")));
    assert_eq!(app.store.refund_list().len(), 1);
    assert_eq!(app.store.order("o1").refunded_amount, yuan("3.00"));
}

/// payport's own refund under the line's number succeeded meanwhile, of the bill's
/// amount: it is not an external refund, and a person is told which refund it is.
#[tokio::test]
async fn payport_s_own_refund_under_the_number_meanwhile_is_not_taken_for_external() {
    let mut h = o1_refunded(&[("console1", "3.00")]);
    alipay_has(&mut h, &[("console1", "3.00")]);
    h.openapi
        .expect_submit_refund()
        .returning(|_| crate::refunds::succeeded("3.00"));
    let rec = record(&mut h);
    let app = h.build();
    let other = app.refunds.clone();
    rec.before(Call::InsertExternal, move || async move {
        let request = RefundRequest {
            out_trade_no: otn("o1"),
            amount: yuan("3.00"),
            reason: None,
            out_request_no: Some(orn("console1")),
            gateway: None,
        };
        let ours = other.request(request).await.unwrap();
        assert_eq!(ours.status, RefundStatus::Succeeded);
    });
    let report = app.reconciliations.run(day()).await.unwrap();
    let ours = app.store.refund_list();
    assert_eq!(ours.len(), 1);
    assert!(!ours[0].external);
    let why = for_a_person(&report);
    assert!(why.contains(ours[0].refund_id.as_str()), "{why}");
    assert!(!why.contains("external"), "{why}");
    assert_eq!(app.store.order("o1").refunded_amount, yuan("3.00"));
}
