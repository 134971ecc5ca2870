//! A legacy batch line reports the amount it refunded (PROTOCOL.md B4). One that is not
//! the refund's own amount settles nothing: it is an anomaly, recorded for a person.

use super::support::*;
use payport_domain::ids::BatchNo;
use payport_domain::ports::*;
use payport_domain::refund::{GatewayFailure, RefundGatewayKind, RefundStatus, RefundSuccess};
use payport_domain::usecases::{NotificationHandled, RefundRequest};
use payport_domain::Amount;

const BATCH: &str = "20261121001";

fn incoming(body: &str) -> IncomingNotification {
    IncomingNotification {
        raw_body: body.into(),
        fields: vec![("notify_id".into(), body.into())],
    }
}

/// A processing no-password refund of 2.00 on order `a` in batch [`BATCH`], and a
/// notification whose one line reports `reported` with `outcome`.
async fn refund_then_notify(
    reported: &str,
    outcome: RefundResultOutcome,
) -> (Built, NotificationHandled) {
    let mut h = Harness::new();
    h.store.put_order(paid_order("a", "10.00"));
    let mut nopwd = MockRefundSubmitter::new();
    nopwd.expect_submit_refund().returning(|_| {
        Ok(RefundSubmitted::Accepted {
            batch_no: Some(BatchNo::parse(BATCH).unwrap()),
        })
    });
    let reported = yuan(reported);
    let mut verifier = MockRefundNotificationVerifier::new();
    verifier
        .expect_verify_refund_notification()
        .returning(move |_| {
            Ok(RefundNotice {
                notify_id: "batch-amounts".into(),
                results: vec![RefundResult {
                    reference: RefundReference::Batch {
                        batch_no: BatchNo::parse(BATCH).unwrap(),
                        trade_no: trade_no("Ta"),
                        amount: reported,
                    },
                    outcome: outcome.clone(),
                }],
            })
        });
    h.mapi_nopwd = Some(nopwd);
    h.refund_notifications = Some(verifier);
    let app = h.build();
    let refund = app
        .refunds
        .request(RefundRequest {
            out_trade_no: otn("a"),
            amount: yuan("2.00"),
            reason: None,
            out_request_no: None,
            gateway: Some(RefundGatewayKind::MapiNoPwd),
        })
        .await
        .unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    let handled = app
        .notifications
        .handle_refund_notification(&incoming("batch"))
        .await
        .unwrap();
    (app, handled)
}

#[tokio::test]
async fn a_success_for_another_amount_is_an_anomaly_never_a_success() {
    let success = RefundResultOutcome::Succeeded(RefundSuccess::default());
    let (app, handled) = refund_then_notify("3.00", success).await;
    let NotificationHandled::NeedsAPerson(anomalies) = handled else {
        panic!("not reported as an anomaly: {handled:?}");
    };
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    let refund = &app.store.refund_list()[0];
    assert_eq!(refund.status, RefundStatus::Processing);
    let why = refund.last_error.clone().unwrap();
    assert!(
        why.contains("Alipay reported 3.00 for a refund of 2.00")
            && why.ends_with("needs a person"),
        "{why}"
    );
    assert!(anomalies[0].contains(&why), "{anomalies:?}");
    assert_eq!(app.store.order("a").refunded_amount, Amount::ZERO);

    // Waiting longer does not hide it: the sync keeps the anomaly on the refund.
    let synced = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Processing);
    assert_eq!(synced.last_error.as_deref(), Some(why.as_str()));
}

#[tokio::test]
async fn a_failure_for_another_amount_does_not_release_the_refund() {
    let failure = RefundResultOutcome::Failed(GatewayFailure {
        code: "TRADE_STATUS_ERROR".into(),
        sub_code: None,
        message: "batch_refund_notify".into(),
    });
    let (app, handled) = refund_then_notify("0.50", failure).await;
    assert!(
        matches!(handled, NotificationHandled::NeedsAPerson(_)),
        "{handled:?}"
    );
    let refund = &app.store.refund_list()[0];
    assert_eq!(refund.status, RefundStatus::Processing);
    assert!(refund.has_anomaly(), "{refund:?}");
}

#[tokio::test]
async fn the_same_amount_settles_as_before() {
    let success = RefundResultOutcome::Succeeded(RefundSuccess::default());
    let (app, handled) = refund_then_notify("2.00", success).await;
    assert_eq!(handled, NotificationHandled::Applied);
    assert_eq!(app.store.refund_list()[0].status, RefundStatus::Succeeded);
    assert_eq!(app.store.order("a").refunded_amount, yuan("2.00"));
}
