//! Order events: one per status change, whichever path learns of it.

use chrono::Duration;

use super::recorder::Call::OrderUpdate;
use super::*;
use payport_domain::order::OrderStatus;
use payport_domain::ports::*;
use payport_domain::usecases::ServiceError;
use AlipayTradeStatus::{TradeClosed, TradeFinished, TradeSuccess};

fn pending() -> Order {
    pending_order("o1", "10.00")
}

fn closed() -> Order {
    let mut order = pending();
    order.close(t0() + Duration::minutes(1)).unwrap();
    order
}

fn paid() -> Order {
    paid_order("o1", "10.00")
}

/// What `Orders::sync` saves for `order` when Alipay's trade is `status`.
async fn synced(order: Order, status: AlipayTradeStatus) -> Vec<(Call, Vec<String>)> {
    let (mut h, rec) = recorded([order]);
    h.payments
        .expect_query_trade()
        .times(1)
        .returning(move |_| Ok(crate::orders::snapshot(status, "10.00")));
    let app = h.build();
    app.orders.sync(&otn("o1")).await.unwrap();
    rec.check(&app);
    rec.stored_since(0)
}

#[tokio::test]
async fn a_payment_notification_emits_order_paid() {
    let saves = notified(pending(), TradeSuccess).await;
    assert_eq!(saves, [(OrderUpdate, events(&["order.paid o1"]))]);
}

#[tokio::test]
async fn a_payment_found_by_sync_emits_order_paid() {
    let saves = synced(pending(), TradeSuccess).await;
    assert_eq!(saves, [(OrderUpdate, events(&["order.paid o1"]))]);
}

#[tokio::test]
async fn a_return_that_finds_the_payment_emits_order_paid() {
    let (mut h, rec) = recorded([pending()]);
    h.payments
        .expect_verify_return()
        .returning(|_| Ok(crate::replays::our_return(Some(SELLER_ID))));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(crate::orders::snapshot(TradeSuccess, "10.00")));
    let app = h.build();
    let order = app.notifications.handle_return(&[]).await.unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    rec.check(&app);
    assert_eq!(
        rec.stored_since(0),
        [(OrderUpdate, events(&["order.paid o1"]))]
    );
}

#[tokio::test]
async fn closing_an_unpaid_order_emits_order_closed() {
    let (mut h, rec) = recorded([pending()]);
    h.payments
        .expect_close_trade()
        .returning(|_| Ok(CloseOutcome::Closed));
    let app = h.build();
    app.orders.close(&otn("o1")).await.unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(0),
        [(OrderUpdate, events(&["order.closed o1"]))]
    );
    // Closing it again changes nothing, and says nothing.
    app.orders.close(&otn("o1")).await.unwrap();
    assert_eq!(rec.mark(), 1);
}

#[tokio::test]
async fn an_order_the_worker_closes_on_expiry_emits_order_closed() {
    // The worker closes expired orders through `Orders::close`; the buyer never
    // opened the cashier, so Alipay has no trade to close.
    let (mut h, rec) = recorded([pending()]);
    *h.now.lock().unwrap() = t0() + Duration::minutes(31);
    h.payments
        .expect_close_trade()
        .returning(|_| Ok(CloseOutcome::NeverOpened));
    let app = h.build();
    let order = app.orders.close(&otn("o1")).await.unwrap();
    assert_eq!(order.status, OrderStatus::Closed);
    rec.check(&app);
    assert_eq!(
        rec.stored_since(0),
        [(OrderUpdate, events(&["order.closed o1"]))]
    );
}

#[tokio::test]
async fn a_trade_alipay_closed_emits_order_closed_through_sync_and_notification() {
    let expected = [(OrderUpdate, events(&["order.closed o1"]))];
    assert_eq!(synced(pending(), TradeClosed).await, expected);
    assert_eq!(notified(pending(), TradeClosed).await, expected);
}

#[tokio::test]
async fn a_close_refused_because_the_buyer_paid_emits_only_order_paid() {
    let (mut h, rec) = recorded([pending()]);
    h.payments
        .expect_close_trade()
        .returning(|_| Err(rejected("ACQ.TRADE_STATUS_ERROR")));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(crate::orders::snapshot(TradeSuccess, "10.00")));
    let app = h.build();
    let err = app.orders.close(&otn("o1")).await.unwrap_err();
    assert!(matches!(err, ServiceError::InvalidState(_)), "{err}");
    rec.check(&app);
    assert_eq!(
        rec.stored_since(0),
        [(OrderUpdate, events(&["order.paid o1"]))]
    );
}

#[tokio::test]
async fn trade_finished_for_a_paid_order_emits_order_finished() {
    let saves = notified(paid(), TradeFinished).await;
    assert_eq!(saves, [(OrderUpdate, events(&["order.finished o1"]))]);
}

#[tokio::test]
async fn trade_finished_for_a_partly_refunded_order_emits_order_finished() {
    let mut order = paid();
    order
        .record_refund(yuan("1.00"), t0() + Duration::minutes(2))
        .unwrap();
    let saves = notified(order, TradeFinished).await;
    assert_eq!(saves, [(OrderUpdate, events(&["order.finished o1"]))]);
}

#[tokio::test]
async fn trade_finished_as_the_first_news_emits_paid_then_finished_in_one_save() {
    // The shop ships on order.paid: it must not miss it because Alipay's first word
    // was already TRADE_FINISHED.
    let both = [(OrderUpdate, events(&["order.paid o1", "order.finished o1"]))];
    assert_eq!(notified(pending(), TradeFinished).await, both);
    assert_eq!(synced(pending(), TradeFinished).await, both);
    assert_eq!(notified(closed(), TradeFinished).await, both);
}

#[tokio::test]
async fn a_payment_after_a_close_emits_order_paid() {
    let (mut h, rec) = recorded([closed()]);
    verifies_as(&mut h, notice(TradeSuccess));
    let app = h.build();
    app.notifications
        .handle_trade_notification(&incoming("late"))
        .await
        .unwrap();
    assert!(app.store.order("o1").paid_after_close);
    rec.check(&app);
    assert_eq!(
        rec.stored_since(0),
        [(OrderUpdate, events(&["order.paid o1"]))]
    );
}

#[tokio::test]
async fn news_that_changes_no_status_saves_nothing() {
    for (order, status) in [
        (paid(), TradeSuccess),
        (paid(), TradeClosed),
        (closed(), TradeClosed),
    ] {
        assert_eq!(notified(order, status).await, [], "{status:?}");
    }
}
