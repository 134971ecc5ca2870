use chrono::Duration;

use super::event_log;
use crate::notifications::{incoming, notice, verifies_as};
use crate::support::*;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::error::GatewayError;
use payport_domain::order::OrderStatus;
use payport_domain::ports::*;
use payport_domain::refund::RefundStatus;
use payport_domain::usecases::NotificationHandled;

/// Order "o1" (10.00) paid; Alipay notifies a refund under `number`, reporting the
/// trade's cumulative `refund_fee` of `cumulative`.
fn notified_refund(number: &str, cumulative: &str) -> Harness {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    let mut n = notice(AlipayTradeStatus::TradeSuccess);
    n.out_biz_no = Some(number.into());
    n.refund_fee = Some(yuan(cumulative));
    n.gmt_refund = Some(t0() + Duration::minutes(6));
    verifies_as(&mut h, n);
    h
}

fn found(amount: &str) -> Result<Option<FoundRefund>, GatewayError> {
    Ok(Some(FoundRefund {
        amount: yuan(amount),
        refunded_at: Some(t0() + Duration::minutes(5)),
    }))
}

/// Alipay's notification "n1" arrives; what payport made of it.
async fn handle(app: &Built) -> NotificationHandled {
    app.notifications
        .handle_trade_notification(&incoming("n1"))
        .await
        .unwrap()
}

fn assert_nothing_recorded(app: &Built) {
    assert!(app.store.refund_list().is_empty());
    assert_eq!(
        app.store.order("o1").refunded_amount,
        payport_domain::money::Amount::ZERO
    );
}

/// The notification says 5.00 refunded so far (another refund came before, in any
/// order): the amount recorded is the one the refund query gives for this number.
#[tokio::test]
async fn an_unknown_refund_is_recorded_with_the_amount_alipay_s_query_gives() {
    let mut h = notified_refund("console1", "5.00");
    h.openapi_query
        .expect_find_refund()
        .withf(|o, r| o.as_str() == "o1" && r.as_str() == "console1")
        .times(1)
        .returning(|_, _| found("3.00"));
    let app = h.build();
    let handled = handle(&app).await;
    assert_eq!(handled, NotificationHandled::Applied);
    let refunds = app.store.refund_list();
    assert_eq!(refunds.len(), 1);
    let refund = &refunds[0];
    assert!(refund.external);
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert_eq!(refund.amount, yuan("3.00"));
    assert_eq!(refund.completed_at, Some(t0() + Duration::minutes(5)));
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::PartiallyRefunded);
    assert_eq!(order.refunded_amount, yuan("3.00"));
    assert_eq!(
        event_log(&app.store),
        [
            format!("refund.succeeded {}", refund.refund_id),
            "order.partially_refunded o1".into()
        ]
    );

    // Redelivered: a duplicate, and no second question to Alipay.
    assert_eq!(handle(&app).await, NotificationHandled::Duplicate);
    assert_eq!(app.store.refund_list().len(), 1);
}

/// Without the amount nothing is recorded; the rest of the notification is applied
/// and acknowledged, and the daily reconciliation finds the refund in the bill.
#[tokio::test]
async fn when_the_query_fails_or_finds_nothing_the_refund_is_left_for_reconciliation() {
    for answer in [
        Err(GatewayError::Unknown("timeout after 15 s".into())),
        Ok(None),
    ] {
        let mut h = notified_refund("console1", "3.00");
        h.store.put_order(pending_order("o1", "10.00"));
        h.openapi_query
            .expect_find_refund()
            .times(1)
            .returning(move |_, _| answer.clone());
        let app = h.build();
        let handled = handle(&app).await;
        let NotificationHandled::Deferred(why) = handled else {
            panic!("{handled:?}");
        };
        assert!(why.contains("console1") && why.contains("o1"), "{why}");
        assert_nothing_recorded(&app);
        let order = app.store.order("o1");
        assert_eq!(order.status, OrderStatus::Paid, "the payment is applied");
        assert_eq!(
            handle(&app).await,
            NotificationHandled::Duplicate,
            "acknowledged and marked handled"
        );
    }
}

#[tokio::test]
async fn an_amount_beyond_what_is_left_is_for_a_person_and_changes_nothing() {
    let mut h = notified_refund("console1", "12.00");
    h.openapi_query
        .expect_find_refund()
        .returning(|_, _| found("12.00"));
    let app = h.build();
    let handled = handle(&app).await;
    let NotificationHandled::NeedsAPerson(what) = handled else {
        panic!("{handled:?}");
    };
    assert!(
        what[0].contains("console1") && what[0].contains("12.00"),
        "{what:?}"
    );
    assert_nothing_recorded(&app);
}

/// Alipay notifies a legacy refund under its batch_no: that is payport's own, which
/// the batch notification settles; Alipay is not asked, nothing is recorded.
#[tokio::test]
async fn a_legacy_refund_s_batch_number_is_not_mistaken_for_an_external_refund() {
    let mut h = notified_refund("20261121001", "2.00");
    h.openapi_query.expect_find_refund().never();
    h.mapi_nopwd = Some(accepting("20261121001"));
    let app = h.build();
    let ours = crate::refunds::legacy(&app, "2.00").await;
    assert_eq!(
        ours.batch_no.as_ref().map(|b| b.as_str()),
        Some("20261121001")
    );
    let handled = handle(&app).await;
    assert_eq!(handled, NotificationHandled::Applied);
    assert_eq!(app.store.refund_list(), [ours]);
    assert_eq!(
        app.store.order("o1").refunded_amount,
        payport_domain::money::Amount::ZERO
    );
}

#[tokio::test]
async fn without_a_refund_query_the_refund_is_left_for_reconciliation() {
    let mut h = notified_refund("console1", "3.00");
    let submit: std::sync::Arc<dyn RefundSubmitter> =
        std::sync::Arc::new(MockRefundSubmitter::new());
    h.openapi_override = Some(RefundRoute::new(submit));
    let app = h.build();
    let handled = handle(&app).await;
    assert!(
        matches!(handled, NotificationHandled::Deferred(_)),
        "{handled:?}"
    );
    assert_nothing_recorded(&app);
}

/// A refund under a number payport does not know, while its own legacy refund is
/// under way: it may be that refund under another number, so a person decides.
#[tokio::test]
async fn a_refund_that_may_be_a_legacy_one_under_way_is_for_a_person() {
    let mut h = notified_refund("console1", "2.00");
    h.mapi_nopwd = Some(accepting("20261121001"));
    h.openapi_query
        .expect_find_refund()
        .returning(|_, _| found("2.00"));
    let app = h.build();
    let ours = crate::refunds::legacy(&app, "2.00").await;
    let handled = handle(&app).await;
    let NotificationHandled::NeedsAPerson(what) = handled else {
        panic!("{handled:?}");
    };
    assert!(what[0].contains(ours.refund_id.as_str()), "{what:?}");
    assert_eq!(app.store.refund_list(), [ours]);
    assert!(app.store.order("o1").refunded_amount.is_zero());
}
