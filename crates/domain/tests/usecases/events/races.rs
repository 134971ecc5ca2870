//! Saves that conflict: a refused save writes none of its events, and a retry hands
//! fresh ones only when the change is still to be made, so one transition is never
//! announced twice.

use super::recorder::Call::{OrderUpdate, UpdateWithOrder};
use super::*;
use crate::refunds::{request, succeeded};
use payport_domain::ports::*;

/// Another request saves the order without changing its status (a new return_url):
/// the next save conditional on the old version conflicts.
fn bump_order_version(rec: &Recorder, call: Call, store: Arc<MemoryStore>) {
    rec.before(call, move || async move {
        let mut order = store.order("o1");
        order.return_url = Some("https://shop.example/other".into());
        OrderRepository::update(&*store, &order, &[]).await.unwrap();
    });
}

/// Alipay's trade notification is handled, and saved, just before the next `call`.
fn notification_lands_before(rec: &Recorder, call: Call, app: &Built) {
    let notifications = app.notifications.clone();
    rec.before(call, move || async move {
        notifications
            .handle_trade_notification(&incoming("notified"))
            .await
            .unwrap();
    });
}

/// Both the refused call and the retry, and the retry conditional on the newer version.
fn assert_retried_once(rec: &Recorder, mark: usize, call: Call, handed: &[&str]) {
    assert_eq!(
        rec.tried_since(mark),
        [(call, false, events(handed)), (call, true, events(handed)),]
    );
    let saves = rec.saves();
    let order_version = |i: usize| {
        saves[mark + i]
            .objects
            .iter()
            .find(|o| o.subject.object_id() == "o1")
            .unwrap()
            .version
    };
    assert_eq!(order_version(1), order_version(0) + 1);
}

#[tokio::test]
async fn a_payment_save_that_conflicts_is_retried_with_fresh_events() {
    let (mut h, rec) = recorded([pending_order("o1", "10.00")]);
    h.payments.expect_query_trade().returning(|_| {
        Ok(crate::orders::snapshot(
            AlipayTradeStatus::TradeSuccess,
            "10.00",
        ))
    });
    bump_order_version(&rec, OrderUpdate, h.store.clone());
    let app = h.build();
    app.orders.sync(&otn("o1")).await.unwrap();
    // `check` also proves the retry's event has another id than the refused one's.
    rec.check(&app);
    assert_retried_once(&rec, 0, OrderUpdate, &["order.paid o1"]);
}

#[tokio::test]
async fn a_payment_a_notification_recorded_first_is_announced_once() {
    // A sync is about to save the payment when Alipay's notification of it lands and
    // is saved first: the sync's save conflicts, and its retry finds nothing to do.
    let (mut h, rec) = recorded([pending_order("o1", "10.00")]);
    h.payments.expect_query_trade().returning(|_| {
        let mut found = crate::orders::snapshot(AlipayTradeStatus::TradeSuccess, "10.00");
        if let TradeLookup::Found(trade) = &mut found {
            trade.trade_no = notice(AlipayTradeStatus::TradeSuccess).trade_no;
        }
        Ok(found)
    });
    verifies_as(&mut h, notice(AlipayTradeStatus::TradeSuccess));
    let app = h.build();
    notification_lands_before(&rec, OrderUpdate, &app);
    app.orders.sync(&otn("o1")).await.unwrap();
    rec.check(&app);
    assert_eq!(
        rec.tried_since(0),
        [
            (OrderUpdate, true, events(&["order.paid o1"])),
            (OrderUpdate, false, events(&["order.paid o1"])),
        ]
    );
}

#[tokio::test]
async fn a_refund_settlement_that_conflicts_is_retried_with_fresh_events() {
    let (mut h, rec) = recorded([paid_order("o1", "10.00")]);
    h.openapi
        .expect_submit_refund()
        .returning(|_| succeeded("1.00"));
    bump_order_version(&rec, UpdateWithOrder, h.store.clone());
    let app = h.build();
    app.refunds.request(request("1.00")).await.unwrap();
    rec.check(&app);
    assert_retried_once(&rec, 1, UpdateWithOrder, &FIRST_REFUND_SETTLED);
}

#[tokio::test]
async fn a_refund_a_notification_settled_first_is_announced_once() {
    // Alipay answers the refund call with success, but its notification of the same
    // refund is saved first: the answer's save conflicts, and its retry finds the
    // refund already succeeded.
    let (h, rec) = answered_and_notified();
    let app = h.build();
    notification_lands_before(&rec, UpdateWithOrder, &app);
    request_r1(&app).await;
    rec.check(&app);
    let settled = events(&FIRST_REFUND_SETTLED);
    assert_eq!(
        rec.tried_since(1),
        [
            (UpdateWithOrder, true, settled.clone()),
            (UpdateWithOrder, false, settled),
        ]
    );
}

#[tokio::test]
async fn an_order_status_another_refund_changed_first_is_not_announced_again() {
    // Two refunds time out. A sync learns that the second succeeded, but before it
    // saves, Alipay's notification settles the first and makes the order partially
    // refunded. The sync's save, which would have announced that too, conflicts; its
    // retry announces only its own refund.
    let (mut h, rec) = recorded([paid_order("o1", "10.00")]);
    notifies_refund_r1(&mut h);
    h.openapi.expect_submit_refund().returning(|_| {
        Err(payport_domain::error::GatewayError::Unknown(
            "timeout".into(),
        ))
    });
    h.openapi_query
        .expect_query_refund()
        .returning(|_| Ok(RefundLookup::Succeeded(Default::default())));
    let app = h.build();
    request_r1(&app).await;
    let second = app.refunds.request(request("2.00")).await.unwrap();
    notification_lands_before(&rec, UpdateWithOrder, &app);
    let mark = rec.mark();
    app.refunds.sync(&second.refund_id).await.unwrap();
    rec.check(&app);
    let id = second.refund_id.as_str();
    assert_eq!(
        rec.tried_since(mark),
        [
            (UpdateWithOrder, true, events(&FIRST_REFUND_SETTLED)),
            (
                UpdateWithOrder,
                false,
                vec![
                    format!("refund.succeeded {id}"),
                    "order.partially_refunded o1".into()
                ]
            ),
            (
                UpdateWithOrder,
                true,
                vec![format!("refund.succeeded {id}")]
            ),
        ]
    );
}
