use chrono::Duration;

use super::{console, event_log};
use crate::events::record;
use crate::refunds::request;
use crate::support::*;
use payport_domain::ids::BatchNo;
use payport_domain::order::OrderStatus;
use payport_domain::ports::*;
use payport_domain::refund::{RefundGatewayKind, RefundStatus};
use payport_domain::usecases::{ExternalRecorded, ServiceError};

fn paid() -> Harness {
    let h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h
}

#[tokio::test]
async fn an_external_refund_is_recorded_as_succeeded_and_counted_on_the_order() {
    let app = paid().build();
    let recorded = app
        .refunds
        .record_external(&console("console1", "3.00"))
        .await;
    let Ok(ExternalRecorded::Recorded(refund)) = recorded else {
        panic!("{recorded:?}");
    };
    assert!(refund.external);
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert_eq!(refund.amount, yuan("3.00"));
    assert_eq!(refund.out_request_no.as_str(), "console1");
    assert_eq!(refund.gateway, RefundGatewayKind::OpenApi);
    assert_eq!((refund.reason.as_deref(), refund.attempts), (None, 0));
    assert_eq!(refund.completed_at, Some(t0() + Duration::minutes(4)));
    assert_eq!(app.store.refund_list(), std::slice::from_ref(&refund));
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::PartiallyRefunded);
    assert_eq!(order.refunded_amount, yuan("3.00"));
    let id = refund.refund_id.as_str();
    assert_eq!(
        event_log(&app.store),
        [
            format!("refund.succeeded {id}"),
            "order.partially_refunded o1".into()
        ]
    );
}

#[tokio::test]
async fn without_a_date_from_alipay_it_completed_when_payport_learned_of_it() {
    let app = paid().build();
    let mut undated = console("console1", "10.00");
    undated.refunded_at = None;
    let Ok(ExternalRecorded::Recorded(refund)) = app.refunds.record_external(&undated).await else {
        panic!("not recorded");
    };
    assert_eq!(refund.completed_at, Some(t0()));
    assert_eq!(app.store.order("o1").status, OrderStatus::Refunded);
}

#[tokio::test]
async fn recording_again_or_under_a_number_payport_used_changes_nothing() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .returning(|_| crate::refunds::succeeded("1.00"));
    let app = h.build();
    let first = app
        .refunds
        .record_external(&console("console1", "3.00"))
        .await;
    let Ok(ExternalRecorded::Recorded(stored)) = first else {
        panic!("{first:?}");
    };
    let again = app
        .refunds
        .record_external(&console("console1", "3.00"))
        .await;
    assert_eq!(again, Ok(ExternalRecorded::AlreadyKnown(stored)));

    // payport's own refund under the number Alipay reports.
    let ours = app.refunds.request(request("1.00")).await.unwrap();
    let number = ours.out_request_no.as_str().to_owned();
    let same = app.refunds.record_external(&console(&number, "1.00")).await;
    assert_eq!(same, Ok(ExternalRecorded::AlreadyKnown(ours)));
    assert_eq!(app.store.refund_list().len(), 2);
    assert_eq!(app.store.order("o1").refunded_amount, yuan("4.00"));
    assert_eq!(app.store.events().len(), 5, "{:?}", event_log(&app.store));
}

/// Alipay knows a legacy mapi refund by its batch_no: that is payport's own refund.
#[tokio::test]
async fn a_legacy_refund_is_known_by_its_batch_number() {
    let app = paid().build();
    let mut ours = paid_refund_in_batch(&app, "20261121001").await;
    let known = app
        .refunds
        .record_external(&console("20261121001", "2.00"))
        .await;
    ours.version = app.store.refund_list()[0].version;
    assert_eq!(known, Ok(ExternalRecorded::AlreadyKnown(ours)));
    assert_eq!(app.store.refund_list().len(), 1);
}

/// A refund of 2.00 reserved on "o1", carried by legacy batch `batch`.
async fn paid_refund_in_batch(app: &Built, batch: &str) -> payport_domain::refund::Refund {
    let new = payport_domain::refund::NewRefund {
        refund_id: payport_domain::ids::RefundId::parse("rf_legacy").unwrap(),
        out_trade_no: otn("o1"),
        out_request_no: orn("rq_legacy"),
        amount: yuan("2.00"),
        reason: None,
        gateway: RefundGatewayKind::MapiNoPwd,
        approval: payport_domain::policy::ApprovalPolicy::Manual,
        created_at: t0(),
        send_at_once: None,
    };
    let mut refund = app
        .store
        .reserve(&new, &payport_domain::ids::EventId::parse("evt_x").unwrap())
        .await
        .unwrap();
    refund.batch_no = Some(BatchNo::parse(batch).unwrap());
    RefundRepository::update(&*app.store, &refund, &[])
        .await
        .unwrap();
    refund
}

#[tokio::test]
async fn an_unpaid_order_or_more_than_is_left_is_refused_and_nothing_is_stored() {
    let h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    let app = h.build();
    let err = app
        .refunds
        .record_external(&console("console1", "1.00"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_STATE", "{err}");

    let app = paid().build();
    app.refunds
        .record_external(&console("console1", "6.00"))
        .await
        .unwrap();
    let err = app
        .refunds
        .record_external(&console("console2", "4.01"))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::InvalidState(_)), "{err}");
    assert_eq!(app.store.refund_list().len(), 1);
    assert_eq!(app.store.order("o1").refunded_amount, yuan("6.00"));
    let exact = app
        .refunds
        .record_external(&console("console3", "4.00"))
        .await;
    assert!(matches!(exact, Ok(ExternalRecorded::Recorded(_))));
    assert_eq!(app.store.order("o1").status, OrderStatus::Refunded);

    let mut missing = console("console1", "1.00");
    missing.out_trade_no = otn("nope");
    assert!(matches!(
        app.refunds.record_external(&missing).await,
        Err(ServiceError::OrderNotFound(_))
    ));
    let mut nothing = console("console9", "1.00");
    nothing.amount = payport_domain::money::Amount::ZERO;
    assert_eq!(
        app.refunds
            .record_external(&nothing)
            .await
            .unwrap_err()
            .code(),
        "VALIDATION_FAILED"
    );
}

/// The money is gone already: an external refund is recorded even when payport's own
/// refunds under way hold the rest, and later requests see that much less room.
#[tokio::test]
async fn reservations_count_external_refunds_but_do_not_stop_them() {
    let mut h = paid();
    h.settings.refund_policy.approval = payport_domain::policy::ApprovalPolicy::Manual;
    let app = h.build();
    let waiting = app.refunds.request(request("8.00")).await.unwrap();
    assert_eq!(waiting.status, RefundStatus::PendingApproval);
    let recorded = app
        .refunds
        .record_external(&console("console1", "2.00"))
        .await;
    assert!(matches!(recorded, Ok(ExternalRecorded::Recorded(_))));
    let err = app.refunds.request(request("0.01")).await.unwrap_err();
    assert_eq!(
        err,
        ServiceError::RefundExceedsRefundable {
            refundable: payport_domain::money::Amount::ZERO
        }
    );
}

#[tokio::test]
async fn a_save_that_conflicts_is_retried_and_one_recorded_meanwhile_is_already_known() {
    let mut h = paid();
    let rec = record(&mut h);
    // Another request saves the order first: a conflict, retried on a fresh read.
    let store = h.store.clone();
    rec.before(crate::events::Call::InsertExternal, move || async move {
        let mut order = store.order("o1");
        order.return_url = Some("https://shop.example/other".into());
        OrderRepository::update(&*store, &order, &[]).await.unwrap();
    });
    let app = h.build();
    let recorded = app
        .refunds
        .record_external(&console("console1", "3.00"))
        .await;
    assert!(matches!(recorded, Ok(ExternalRecorded::Recorded(_))));
    assert_eq!(app.store.order("o1").refunded_amount, yuan("3.00"));

    // Another path records the same refund just before: already known, not twice.
    let other = app.refunds.clone();
    rec.before(crate::events::Call::InsertExternal, move || async move {
        other
            .record_external(&console("console2", "1.00"))
            .await
            .unwrap();
    });
    let raced = app
        .refunds
        .record_external(&console("console2", "1.00"))
        .await;
    assert!(
        matches!(raced, Ok(ExternalRecorded::AlreadyKnown(_))),
        "{raced:?}"
    );
    assert_eq!(app.store.refund_list().len(), 2);
    assert_eq!(app.store.order("o1").refunded_amount, yuan("4.00"));
    rec.check(&app);
}

/// payport tells its legacy refunds from outside ones only by number: while one is
/// under way, or any refund of the same amount, a refund Alipay reports under another
/// number may be it, and recording a twin would count the money twice.
#[tokio::test]
async fn a_refund_that_may_be_payport_s_own_under_way_is_refused_and_nothing_is_stored() {
    let mut h = paid();
    h.mapi_nopwd = Some(accepting("20261121001"));
    h.openapi.expect_submit_refund().returning(|_| {
        Err(payport_domain::error::GatewayError::Unknown(
            "timeout".into(),
        ))
    });
    let app = h.build();
    let legacy = crate::refunds::legacy(&app, "2.00").await;
    assert_eq!(legacy.status, RefundStatus::Processing);
    let refused = |amount: &'static str| {
        let refunds = app.refunds.clone();
        async move { refunds.record_external(&console("console1", amount)).await }
    };
    // Any amount, while the legacy refund is under way.
    let err = refused("1.00").await.unwrap_err();
    assert_eq!(err.code(), "GATEWAY_DATA_MISMATCH", "{err}");
    assert!(err.to_string().contains(legacy.refund_id.as_str()), "{err}");
    assert_eq!(app.store.refund_list(), [legacy]);

    // Once it is final, only an OpenAPI refund under way of the same amount refuses.
    let failed = payport_domain::refund::Refund {
        status: RefundStatus::Failed,
        ..app.store.refund_list()[0].clone()
    };
    RefundRepository::update(&*app.store, &failed, &[])
        .await
        .unwrap();
    let unknown = app.refunds.request(request("3.00")).await.unwrap();
    assert_eq!(unknown.status, RefundStatus::Processing);
    let err = refused("3.00").await.unwrap_err();
    assert_eq!(err.code(), "GATEWAY_DATA_MISMATCH", "{err}");
    assert_eq!(app.store.refund_list().len(), 2);
    assert!(app.store.order("o1").refunded_amount.is_zero());
    let other = refused("1.50").await;
    assert!(
        matches!(other, Ok(ExternalRecorded::Recorded(_))),
        "{other:?}"
    );
}
