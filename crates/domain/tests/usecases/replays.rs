//! Callbacks that could mislead: a notify_id reused for other content, a return from
//! another seller or replayed for an order already settled, and a trade_no Alipay
//! gives to two orders. Each is refused or answered from what payport knows.

use super::support::*;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::error::RepoError;
use payport_domain::ids::{AppId, SellerId};
use payport_domain::ports::*;
use payport_domain::usecases::{NotificationHandled, ServiceError};

fn incoming(body: &str) -> IncomingNotification {
    IncomingNotification {
        raw_body: body.into(),
        fields: Vec::new(),
    }
}

fn paid_notice(notify_id: &str) -> TradeNotification {
    TradeNotification {
        notify_id: notify_id.into(),
        app_id: AppId::parse(APP_ID).unwrap(),
        seller_id: Some(SellerId::parse(SELLER_ID).unwrap()),
        out_trade_no: otn("o1"),
        trade_no: trade_no("To1"),
        trade_status: AlipayTradeStatus::TradeSuccess,
        total_amount: yuan("10.00"),
        buyer_id: None,
        buyer_logon_id: None,
        gmt_payment: Some(t0()),
        out_biz_no: None,
        refund_fee: None,
        gmt_refund: None,
    }
}

pub(crate) fn our_return(seller: Option<&str>) -> PaymentReturn {
    PaymentReturn {
        app_id: AppId::parse(APP_ID).unwrap(),
        seller_id: seller.map(|s| SellerId::parse(s).unwrap()),
        out_trade_no: otn("o1"),
        trade_no: Some(trade_no("To1")),
        total_amount: yuan("10.00"),
    }
}

#[tokio::test]
async fn a_notify_id_seen_before_with_other_content_is_refused_and_changes_nothing() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "10.00"));
    h.payments.expect_verify_notification().returning(|n| {
        let mut notice = paid_notice("n1");
        if n.raw_body.contains("TRADE_FINISHED") {
            notice.trade_status = AlipayTradeStatus::TradeFinished;
        }
        Ok(notice)
    });
    let app = h.build();
    let first = incoming("notify_id=n1&trade_status=TRADE_SUCCESS&notify_time=1&sign=a");
    let handled = app.notifications.handle_trade_notification(&first).await;
    assert_eq!(handled.unwrap(), NotificationHandled::Applied);
    let order = app.store.order("o1");

    // The same bytes again: Alipay resending, answered `success`.
    let again = app.notifications.handle_trade_notification(&first).await;
    assert_eq!(again.unwrap(), NotificationHandled::Duplicate);
    // Resent later with a new send time and signature: it says the same, a redelivery.
    let later = incoming("notify_id=n1&trade_status=TRADE_SUCCESS&notify_time=2&sign=z");
    let again = app.notifications.handle_trade_notification(&later).await;
    assert_eq!(again.unwrap(), NotificationHandled::Duplicate);

    // The same notify_id carrying something else is not a redelivery: refused, so it
    // is never acknowledged as if it had been applied.
    let other = incoming("notify_id=n1&trade_status=TRADE_FINISHED&notify_time=3&sign=b");
    let err = app
        .notifications
        .handle_trade_notification(&other)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NOTIFICATION_REFUSED", "{err}");
    assert_eq!(app.store.order("o1"), order);
    assert_eq!(
        app.store.raw_notifications.lock().unwrap().clone(),
        vec![first.raw_body.clone()],
        "the first delivery's body is the one kept"
    );
}

#[tokio::test]
async fn a_return_naming_another_seller_is_refused_before_any_query() {
    for seller in [Some("2088999999999999"), None] {
        let mut h = Harness::new();
        h.store.put_order(pending_order("o1", "10.00"));
        h.payments
            .expect_verify_return()
            .returning(move |_| Ok(our_return(seller)));
        h.payments.expect_query_trade().never();
        let app = h.build();
        let err = app.notifications.handle_return(&[]).await.unwrap_err();
        assert_eq!(err.code(), "NOTIFICATION_REFUSED", "{seller:?}: {err}");
        assert_eq!(app.store.order("o1"), pending_order("o1", "10.00"));
    }
}

#[tokio::test]
async fn a_return_for_an_order_already_paid_is_answered_without_asking_alipay() {
    let mut paid = paid_order("o1", "10.00");
    paid.trade_no = Some(trade_no("To1"));
    let mut h = Harness::new();
    h.store.put_order(paid.clone());
    h.payments
        .expect_verify_return()
        .returning(|_| Ok(our_return(Some(SELLER_ID))));
    h.payments.expect_query_trade().never();
    let shown = h.build().notifications.handle_return(&[]).await.unwrap();
    assert_eq!(shown, paid);
}

#[tokio::test]
async fn a_return_for_a_closed_order_still_finds_a_payment_made_as_it_closed() {
    let mut closed = pending_order("o1", "10.00");
    closed.close(t0()).unwrap();
    let mut h = Harness::new();
    h.store.put_order(closed);
    h.payments
        .expect_verify_return()
        .returning(|_| Ok(our_return(Some(SELLER_ID))));
    h.payments.expect_query_trade().times(1).returning(|_| {
        Ok(TradeLookup::Found(TradeSnapshot {
            status: AlipayTradeStatus::TradeSuccess,
            trade_no: trade_no("To1"),
            total_amount: yuan("10.00"),
            buyer_id: None,
            buyer_logon_id: None,
            paid_at: Some(t0()),
        }))
    });
    let shown = h.build().notifications.handle_return(&[]).await.unwrap();
    assert_eq!(shown.status.as_str(), "paid");
    assert!(shown.paid_after_close, "{shown:?}");
}

#[tokio::test]
async fn a_trade_no_that_already_belongs_to_another_order_is_a_definite_mismatch() {
    let mut h = Harness::new();
    let mut orders = MockOrderRepository::new();
    orders
        .expect_get()
        .returning(|_| Ok(Some(pending_order("o1", "10.00"))));
    orders.expect_update().returning(|_, _| {
        Err(RepoError::Duplicate(
            "update order o1: UNIQUE constraint failed: orders.trade_no".into(),
        ))
    });
    h.orders_override = Some(std::sync::Arc::new(orders));
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
    let err = h.build().orders.sync(&otn("o1")).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::GatewayDataMismatch(_)),
        "not a try-again error: {err:?}"
    );
    assert!(!err.to_string().contains("UNIQUE"), "{err}");
}

/// Any other unique-key clash is definite too: retrying cannot help.
#[test]
fn a_duplicate_key_is_never_storage_unavailable() {
    let err = ServiceError::from(RepoError::Duplicate("orders.trade_no".into()));
    assert_ne!(err.code(), "STORAGE_UNAVAILABLE");
}
