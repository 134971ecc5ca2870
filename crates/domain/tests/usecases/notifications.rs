use chrono::Duration;

use super::support::*;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::error::GatewayError;
use payport_domain::ids::{AppId, BatchNo, SellerId};
use payport_domain::order::OrderStatus;
use payport_domain::ports::*;
use payport_domain::refund::{GatewayFailure, RefundGatewayKind, RefundStatus, RefundSuccess};
use payport_domain::usecases::{NotificationHandled, RefundRequest, ServiceError};

pub(crate) fn incoming(body: &str) -> IncomingNotification {
    IncomingNotification {
        raw_body: body.into(),
        fields: vec![("notify_id".into(), body.into())],
    }
}

pub(crate) fn notice(status: AlipayTradeStatus) -> TradeNotification {
    TradeNotification {
        notify_id: "n1".into(),
        app_id: AppId::parse(APP_ID).unwrap(),
        seller_id: Some(SellerId::parse(SELLER_ID).unwrap()),
        out_trade_no: otn("o1"),
        trade_no: trade_no("To1"),
        trade_status: status,
        total_amount: yuan("10.00"),
        buyer_id: Some("2088000000000009".into()),
        buyer_logon_id: None,
        gmt_payment: Some(t0() + Duration::minutes(3)),
        out_biz_no: None,
        refund_fee: None,
        gmt_refund: None,
    }
}

pub(crate) fn verifies_as(h: &mut Harness, n: TradeNotification) {
    h.payments
        .expect_verify_notification()
        .returning(move |_| Ok(n.clone()));
}

#[tokio::test]
async fn a_payment_notification_marks_the_order_paid_and_is_kept_verbatim() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    verifies_as(&mut h, notice(AlipayTradeStatus::TradeSuccess));
    let app = h.build();
    let handled = app
        .notifications
        .handle_trade_notification(&incoming("raw=1"))
        .await
        .unwrap();
    assert_eq!(handled, NotificationHandled::Applied);
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.paid_at, Some(t0() + Duration::minutes(3)));
    assert_eq!(
        app.store.raw_notifications.lock().unwrap().clone(),
        vec!["raw=1"]
    );
}

#[tokio::test]
async fn a_redelivered_notification_is_a_harmless_duplicate() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    verifies_as(&mut h, notice(AlipayTradeStatus::TradeSuccess));
    let app = h.build();
    let n = incoming("raw=1");
    app.notifications
        .handle_trade_notification(&n)
        .await
        .unwrap();
    let order = app.store.order("o1");
    let again = app
        .notifications
        .handle_trade_notification(&n)
        .await
        .unwrap();
    assert_eq!(again, NotificationHandled::Duplicate);
    assert_eq!(app.store.order("o1"), order);
}

#[tokio::test]
async fn notifications_that_fail_verification_or_merchant_checks_change_nothing() {
    let bad_signature = Err(GatewayError::BadSignature("RSA2 mismatch".into()));
    let mut other_app = notice(AlipayTradeStatus::TradeSuccess);
    other_app.app_id = AppId::parse("2021999999999999").unwrap();
    let mut other_seller = notice(AlipayTradeStatus::TradeSuccess);
    other_seller.seller_id = Some(SellerId::parse("2088999999999999").unwrap());
    let mut no_seller = notice(AlipayTradeStatus::TradeSuccess);
    no_seller.seller_id = None;
    let mut other_amount = notice(AlipayTradeStatus::TradeSuccess);
    other_amount.total_amount = yuan("0.01");
    let mut unknown_order = notice(AlipayTradeStatus::TradeSuccess);
    unknown_order.out_trade_no = otn("not_ours");
    for (case, verdict) in [
        ("bad signature", bad_signature),
        ("app_id", Ok(other_app)),
        ("seller_id", Ok(other_seller)),
        ("no seller_id", Ok(no_seller)),
        ("total_amount", Ok(other_amount)),
        ("out_trade_no", Ok(unknown_order)),
    ] {
        let mut h = Harness::new();
        h.store.put_order(pending_order("o1", "10.00"));
        h.payments
            .expect_verify_notification()
            .returning(move |_| verdict.clone());
        let app = h.build();
        let err = app
            .notifications
            .handle_trade_notification(&incoming("forged"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "NOTIFICATION_REFUSED", "{case}");
        assert_eq!(
            app.store.order("o1"),
            pending_order("o1", "10.00"),
            "{case}"
        );
        assert!(
            app.store.raw_notifications.lock().unwrap().is_empty(),
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_payment_after_a_local_close_is_recorded_and_flagged() {
    let mut h = Harness::new();
    let mut order = pending_order("o1", "10.00");
    order.close(t0()).unwrap();
    h.store.put_order(order);
    verifies_as(&mut h, notice(AlipayTradeStatus::TradeSuccess));
    let app = h.build();
    app.notifications
        .handle_trade_notification(&incoming("late"))
        .await
        .unwrap();
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::Paid);
    assert!(order.paid_after_close);
}

#[tokio::test]
async fn trade_finished_and_trade_closed_are_applied() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    verifies_as(&mut h, notice(AlipayTradeStatus::TradeFinished));
    let app = h.build();
    app.notifications
        .handle_trade_notification(&incoming("finished"))
        .await
        .unwrap();
    assert_eq!(app.store.order("o1").status, OrderStatus::Finished);

    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    verifies_as(&mut h, notice(AlipayTradeStatus::TradeClosed));
    let app = h.build();
    app.notifications
        .handle_trade_notification(&incoming("closed"))
        .await
        .unwrap();
    assert_eq!(app.store.order("o1").status, OrderStatus::Closed);
}

/// A paid 10.00 order with a refund of `amount` whose outcome is unknown (processing).
async fn with_processing_refund(amount: &str, mut h: Harness) -> super::support::Built {
    h.store.put_order(paid_order("o1", "10.00"));
    h.openapi
        .expect_submit_refund()
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    let app = h.build();
    let refund = app
        .refunds
        .request(RefundRequest {
            out_trade_no: otn("o1"),
            amount: yuan(amount),
            reason: None,
            out_request_no: Some(orn("r1")),
            gateway: None,
        })
        .await
        .unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    app
}

#[tokio::test]
async fn a_refund_notification_completes_the_processing_refund() {
    let mut h = Harness::new();
    let mut n = notice(AlipayTradeStatus::TradeSuccess);
    n.out_biz_no = Some("r1".into());
    n.refund_fee = Some(yuan("3.00"));
    n.gmt_refund = Some(t0() + Duration::minutes(9));
    verifies_as(&mut h, n);
    let app = with_processing_refund("3.00", h).await;
    app.notifications
        .handle_trade_notification(&incoming("refund"))
        .await
        .unwrap();
    let refund = &app.store.refund_list()[0];
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert_eq!(refund.refund_fee, Some(yuan("3.00")));
    assert_eq!(refund.completed_at, Some(t0() + Duration::minutes(9)));
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::PartiallyRefunded);
    assert_eq!(order.refunded_amount, yuan("3.00"));
}

#[tokio::test]
async fn a_second_notification_of_a_settled_refund_changes_nothing_and_is_handled() {
    let mut h = Harness::new();
    let mut n = notice(AlipayTradeStatus::TradeSuccess);
    n.out_biz_no = Some("r1".into());
    n.refund_fee = Some(yuan("3.00"));
    // Each delivery its own notify_id (its raw body), as two notifications are.
    h.payments
        .expect_verify_notification()
        .returning(move |incoming| {
            let mut n = n.clone();
            n.notify_id = incoming.raw_body.clone();
            Ok(n)
        });
    let app = with_processing_refund("3.00", h).await;
    app.notifications
        .handle_trade_notification(&incoming("first"))
        .await
        .unwrap();
    let (order, refund) = (app.store.order("o1"), app.store.refund_list()[0].clone());
    let events = app.store.events().len();

    let handled = app
        .notifications
        .handle_trade_notification(&incoming("second"))
        .await
        .unwrap();
    assert_eq!(handled, NotificationHandled::Applied);
    assert_eq!(app.store.order("o1"), order);
    assert_eq!(app.store.refund_list(), vec![refund]);
    assert_eq!(app.store.events().len(), events);
    // Recorded and handled: its redelivery is a duplicate.
    assert_eq!(
        app.notifications
            .handle_trade_notification(&incoming("second"))
            .await
            .unwrap(),
        NotificationHandled::Duplicate
    );
}

#[tokio::test]
async fn a_full_refund_notification_with_trade_closed_leaves_the_order_refunded() {
    let mut h = Harness::new();
    let mut n = notice(AlipayTradeStatus::TradeClosed);
    n.out_biz_no = Some("r1".into());
    n.refund_fee = Some(yuan("10.00"));
    verifies_as(&mut h, n);
    let app = with_processing_refund("10.00", h).await;
    app.notifications
        .handle_trade_notification(&incoming("closed"))
        .await
        .unwrap();
    assert_eq!(app.store.order("o1").status, OrderStatus::Refunded);
}

#[tokio::test]
async fn a_refund_made_elsewhere_is_acknowledged_but_invents_nothing() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    let mut n = notice(AlipayTradeStatus::TradeSuccess);
    n.out_biz_no = Some("portal-refund-1".into());
    n.refund_fee = Some(yuan("1.00"));
    verifies_as(&mut h, n);
    let app = h.build();
    let handled = app
        .notifications
        .handle_trade_notification(&incoming("x"))
        .await
        .unwrap();
    // Its number is no out_request_no: it cannot be recorded, a person must look.
    let NotificationHandled::NeedsAPerson(what) = handled else {
        panic!("{handled:?}");
    };
    assert!(what[0].contains("portal-refund-1"), "{what:?}");
    assert!(app.store.refund_list().is_empty());
    assert_eq!(
        app.store.order("o1").refunded_amount,
        payport_domain::money::Amount::ZERO
    );
}

#[tokio::test]
async fn the_return_is_verified_then_synced() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    h.payments.expect_verify_return().returning(|_| {
        Ok(PaymentReturn {
            app_id: AppId::parse(APP_ID).unwrap(),
            seller_id: Some(SellerId::parse(SELLER_ID).unwrap()),
            out_trade_no: otn("o1"),
            trade_no: Some(trade_no("To1")),
            total_amount: yuan("10.00"),
        })
    });
    h.payments.expect_query_trade().returning(|_| {
        Ok(TradeLookup::Found(TradeSnapshot {
            status: AlipayTradeStatus::TradeSuccess,
            trade_no: trade_no("To1"),
            total_amount: yuan("10.00"),
            buyer_id: None,
            buyer_logon_id: None,
            paid_at: None,
        }))
    });
    let order = h.build().notifications.handle_return(&[]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
}

#[tokio::test]
async fn a_return_whose_query_fails_shows_the_order_as_it_is() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    h.payments.expect_verify_return().returning(|_| {
        Ok(PaymentReturn {
            app_id: AppId::parse(APP_ID).unwrap(),
            seller_id: Some(SellerId::parse(SELLER_ID).unwrap()),
            out_trade_no: otn("o1"),
            trade_no: None,
            total_amount: yuan("10.00"),
        })
    });
    h.payments
        .expect_query_trade()
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    let order = h.build().notifications.handle_return(&[]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
}

#[tokio::test]
async fn a_forged_or_foreign_return_is_refused() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    h.payments
        .expect_verify_return()
        .returning(|_| Err(GatewayError::BadSignature("bad".into())));
    h.payments.expect_query_trade().never();
    let err = h
        .build()
        .notifications
        .handle_return(&[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NOTIFICATION_REFUSED");

    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    h.payments.expect_verify_return().returning(|_| {
        Ok(PaymentReturn {
            app_id: AppId::parse(APP_ID).unwrap(),
            seller_id: None,
            out_trade_no: otn("o1"),
            trade_no: None,
            total_amount: yuan("0.01"),
        })
    });
    h.payments.expect_query_trade().never();
    let err = h
        .build()
        .notifications
        .handle_return(&[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NOTIFICATION_REFUSED");
}

pub(crate) fn batch_line(trade: &str, outcome: RefundResultOutcome) -> RefundResult {
    RefundResult {
        reference: RefundReference::Batch {
            batch_no: BatchNo::parse("20261121001").unwrap(),
            trade_no: trade_no(trade),
            // Every refund in these tests is of 2.00.
            amount: yuan("2.00"),
        },
        outcome,
    }
}

/// A batch's lines: Alipay refunded the refund of trade "Ta", refused that of "Tb".
pub(crate) fn a_paid_b_refused() -> Vec<RefundResult> {
    let refused = GatewayFailure {
        code: "TRADE_STATUS_ERROR".into(),
        sub_code: None,
        message: "batch_refund_notify".into(),
    };
    vec![
        batch_line(
            "Ta",
            RefundResultOutcome::Succeeded(RefundSuccess::default()),
        ),
        batch_line("Tb", RefundResultOutcome::Failed(refused)),
    ]
}

/// A legacy refund notification that verifies and reports `lines`.
pub(crate) fn batch_notice(lines: Vec<RefundResult>) -> MockRefundNotificationVerifier {
    let mut verifier = MockRefundNotificationVerifier::new();
    verifier
        .expect_verify_refund_notification()
        .returning(move |_| {
            Ok(RefundNotice {
                notify_id: "batch-n1".into(),
                results: lines.clone(),
            })
        });
    verifier
}

#[tokio::test]
async fn a_mapi_batch_notification_applies_each_line() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("a", "10.00"));
    h.store.put_order(paid_order("b", "10.00"));
    h.mapi_nopwd = Some(accepting("20261121001"));
    h.refund_notifications = Some(batch_notice(a_paid_b_refused()));
    let app = h.build();
    for id in ["a", "b"] {
        app.refunds
            .request(RefundRequest {
                out_trade_no: otn(id),
                amount: yuan("2.00"),
                reason: None,
                out_request_no: None,
                gateway: Some(RefundGatewayKind::MapiNoPwd),
            })
            .await
            .unwrap();
    }
    let n = incoming("batch_no=20261121001");
    let handled = app
        .notifications
        .handle_refund_notification(&n)
        .await
        .unwrap();
    assert_eq!(handled, NotificationHandled::Applied);
    let statuses: Vec<_> = app.store.refund_list().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![RefundStatus::Succeeded, RefundStatus::Failed]
    );
    assert_eq!(app.store.order("a").refunded_amount, yuan("2.00"));
    assert_eq!(
        app.store.order("b").refunded_amount,
        payport_domain::money::Amount::ZERO
    );
    let again = app
        .notifications
        .handle_refund_notification(&n)
        .await
        .unwrap();
    assert_eq!(again, NotificationHandled::Duplicate);
}

#[tokio::test]
async fn a_batch_result_finds_a_refund_whose_send_was_never_answered() {
    // The batch number is saved before the call, so the notification still finds the
    // refund when the gateway's answer was lost (timeout, SYSTEM_ERROR after refunding).
    let mut h = Harness::new();
    h.store.put_order(paid_order("a", "10.00"));
    let mut batches = MockRefundBatches::new();
    // The batch is dated by the same reading of the clock that the send carries as
    // its submitted_at (a legacy batch's refund_date): they agree across midnight.
    batches
        .expect_next_batch_no()
        .withf(|now| *now == t0())
        .times(1)
        .returning(|_| Ok(BatchNo::parse("20261121001").unwrap()));
    let mut nopwd = MockRefundSubmitter::new();
    nopwd
        .expect_submit_refund()
        .withf(|s| {
            s.batch_no.as_ref().map(|b| b.as_str()) == Some("20261121001")
                && s.submitted_at == Some(t0())
        })
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    h.mapi_nopwd = Some(nopwd);
    h.mapi_nopwd_batches = Some(batches);
    h.refund_notifications = Some(batch_notice(vec![batch_line(
        "Ta",
        RefundResultOutcome::Succeeded(RefundSuccess::default()),
    )]));
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
    assert_eq!(
        refund.batch_no.as_ref().map(|b| b.as_str()),
        Some("20261121001")
    );
    app.notifications
        .handle_refund_notification(&incoming("batch"))
        .await
        .unwrap();
    assert_eq!(app.store.refund_list()[0].status, RefundStatus::Succeeded);
    assert_eq!(app.store.order("a").refunded_amount, yuan("2.00"));
}

#[tokio::test]
async fn mapi_notifications_need_a_mapi_gateway_and_a_valid_signature() {
    let app = Harness::new().build();
    let err = app
        .notifications
        .handle_refund_notification(&incoming("x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "GATEWAY_NOT_CONFIGURED");

    let mut h = Harness::new();
    let mut verifier = MockRefundNotificationVerifier::new();
    verifier.expect_verify_refund_notification().returning(|_| {
        Err(GatewayError::BadSignature(
            "notify_verify said false".into(),
        ))
    });
    h.refund_notifications = Some(verifier);
    let app = h.build();
    let err = app
        .notifications
        .handle_refund_notification(&incoming("x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NOTIFICATION_REFUSED");
    assert!(app.store.raw_notifications.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_success_for_a_refund_recorded_as_failed_is_not_swallowed() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h.openapi
        .expect_submit_refund()
        .returning(|_| Err(rejected("ACQ.SELLER_BALANCE_NOT_ENOUGH")));
    let mut n = notice(AlipayTradeStatus::TradeSuccess);
    n.out_biz_no = Some("r1".into());
    n.refund_fee = Some(yuan("1.00"));
    verifies_as(&mut h, n);
    let app = h.build();
    app.refunds
        .request(RefundRequest {
            out_trade_no: otn("o1"),
            amount: yuan("1.00"),
            reason: None,
            out_request_no: Some(orn("r1")),
            gateway: None,
        })
        .await
        .unwrap();
    let err = app
        .notifications
        .handle_trade_notification(&incoming("contradiction"))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::InvalidState(_)), "{err}");
    // Not marked handled: Alipay redelivers until a person resolves it.
    let inbox = app.store.inbox.lock().unwrap();
    assert_eq!(inbox.values().copied().collect::<Vec<_>>(), vec![false]);
}
