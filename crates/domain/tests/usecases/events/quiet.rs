//! Saves that keep the status hand no event: a receiver hears of changes, not of
//! payport's bookkeeping.

use super::recorder::Call::{OrderUpdate, RefundUpdate, UpdateWithOrder};
use super::*;
use crate::notifications::{batch_line, batch_notice};
use crate::refunds::{request, succeeded};
use payport_domain::error::GatewayError;
use payport_domain::ports::*;
use payport_domain::refund::{RefundGatewayKind, RefundStatus, RefundSuccess};

fn timed_out() -> Result<RefundSubmitted, GatewayError> {
    Err(GatewayError::Unknown("timeout".into()))
}

#[tokio::test]
async fn an_unknown_outcome_recorded_again_hands_no_event() {
    let (mut h, rec) = recorded([paid_order("o1", "10.00")]);
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| timed_out());
    h.openapi_query
        .expect_query_refund()
        .returning(|_| Err(GatewayError::Unknown("HTTP 503".into())));
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    assert_eq!(
        rec.stored_since(0)[1],
        (RefundUpdate, Vec::new()),
        "the timeout itself is no change: it stays processing"
    );
    let mark = rec.mark();
    app.refunds.sync(&refund.refund_id).await.unwrap();
    rec.check(&app);
    assert_eq!(rec.stored_since(mark), [(RefundUpdate, Vec::new())]);
}

#[tokio::test]
async fn a_refund_accepted_or_waiting_for_its_notification_hands_no_event() {
    let (mut h, rec) = recorded([paid_order("o1", "10.00")]);
    h.mapi_nopwd = Some(accepting("20261121002"));
    let app = h.build();
    let mut r = request("1.00");
    r.gateway = Some(RefundGatewayKind::MapiNoPwd);
    let refund = app.refunds.request(r).await.unwrap();
    assert_eq!(rec.stored_since(0)[1], (RefundUpdate, Vec::new()));
    let mark = rec.mark();
    app.refunds.sync(&refund.refund_id).await.unwrap();
    rec.check(&app);
    assert_eq!(rec.stored_since(mark), [(RefundUpdate, Vec::new())]);
}

#[tokio::test]
async fn a_resend_hands_no_event_and_its_success_one() {
    let (mut h, rec) = recorded([paid_order("o1", "10.00")]);
    let mut seq = mockall::Sequence::new();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| timed_out());
    h.openapi_query
        .expect_query_refund()
        .returning(|_| Ok(RefundLookup::NotRefunded));
    h.openapi
        .expect_submit_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| succeeded("1.00"));
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let mark = rec.mark();
    app.refunds.sync(&refund.refund_id).await.unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(mark),
        [
            (RefundUpdate, Vec::new()),
            (UpdateWithOrder, events(&FIRST_REFUND_SETTLED)),
        ]
    );
}

#[tokio::test]
async fn a_new_return_url_hands_no_event() {
    let (mut h, rec) = recorded([pending_order("o1", "10.00")]);
    h.payments
        .expect_create_payment()
        .returning(|_| Ok(PaymentInstruction::QrCode("https://qr.alipay.com/x".into())));
    let app = h.build();
    app.orders
        .start_payment(
            &otn("o1"),
            PaymentMethod::Qr,
            Some("https://shop.example/thanks".into()),
            None,
        )
        .await
        .unwrap();
    rec.check(&app);
    assert_eq!(rec.stored_since(0), [(OrderUpdate, Vec::new())]);
}

#[tokio::test]
async fn an_anomaly_hands_no_event() {
    // Alipay's batch line says 2.00 for a refund of 3.00: nothing is settled.
    let (mut h, rec) = recorded([paid_order("a", "10.00")]);
    h.mapi_nopwd = Some(accepting("20261121001"));
    h.refund_notifications = Some(batch_notice(vec![batch_line(
        "Ta",
        RefundResultOutcome::Succeeded(RefundSuccess::default()),
    )]));
    let app = h.build();
    let mut r = request("3.00");
    r.out_trade_no = otn("a");
    r.gateway = Some(RefundGatewayKind::MapiNoPwd);
    app.refunds.request(r).await.unwrap();
    let mark = rec.mark();
    app.notifications
        .handle_refund_notification(&incoming("batch"))
        .await
        .unwrap();
    assert_eq!(app.store.refund_list()[0].status, RefundStatus::Processing);
    rec.check(&app);
    assert_eq!(rec.stored_since(mark), [(RefundUpdate, Vec::new())]);
}

#[tokio::test]
async fn news_of_a_refund_already_settled_saves_nothing() {
    // The refund succeeded on the gateway's answer; Alipay's notification of it (a
    // new notify_id, so not a redelivery) then finds nothing to change.
    let (h, rec) = answered_and_notified();
    let app = h.build();
    request_r1(&app).await;
    let mark = rec.mark();
    app.notifications
        .handle_trade_notification(&incoming("refund"))
        .await
        .unwrap();
    rec.check(&app);
    assert_eq!(rec.stored_since(mark), []);
}
