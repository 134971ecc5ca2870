//! RefundRepository::insert_external: a refund made outside payport, recorded with
//! its order's new refunded amount and its events, or nothing at all.

use payport_domain::event::EventType;
use payport_domain::policy::ReservationRefused;
use payport_domain::ports::ReserveError;
use payport_domain::{Order, OrderStatus, Refund, RefundStatus, RepoError};

use super::fixtures::{at, bodies, event, fen, insert_paid, new_refund, no, repos};
use super::StoreUnderTest;

/// Refund `out_request_no` of `amount_fen` made in Alipay's console, as the domain
/// builds it: succeeded from the start, never sent by payport.
fn external(out_trade_no: &str, out_request_no: &str, amount_fen: i64) -> Refund {
    let mut refund =
        new_refund(out_trade_no, out_request_no, amount_fen).into_refund(RefundStatus::Succeeded);
    refund.reason = None;
    refund.external = true;
    refund.completed_at = Some(at(150));
    refund
}

/// `order` with `refund` counted, and the events of both.
fn credited(order: &Order, refund: &Refund) -> (Order, [payport_domain::event::NewEvent; 2]) {
    let mut order = order.clone();
    order.record_refund(refund.amount, at(160)).unwrap();
    let events = [
        event(EventType::RefundSucceeded, refund.refund_id.as_str()),
        event(
            EventType::OrderPartiallyRefunded,
            order.out_trade_no.as_str(),
        ),
    ];
    (order, events)
}

pub async fn an_external_refund_is_stored_with_its_order_and_events<D: StoreUnderTest>(db: &D) {
    let (orders, refunds) = repos(db.store());
    let order = insert_paid(db.store(), "o1", 1_000).await;
    let refund = external("o1", "console1", 300);
    let (order_after, events) = credited(&order, &refund);
    refunds
        .insert_external(&refund, &order_after, &events)
        .await
        .unwrap();

    let stored = refunds.get(&refund.refund_id).await.unwrap().unwrap();
    assert_eq!(stored, refund);
    assert!(stored.external);
    let listed = refunds.list_for_order(&no("o1")).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&refund));
    assert_eq!(
        orders.get(&no("o1")).await.unwrap(),
        Some(Order {
            version: order.version + 1,
            ..order_after
        })
    );
    assert_eq!(
        bodies(db.store()).await,
        [
            "refund.succeeded rf_o1_console1 succeeded v0",
            "order.partially_refunded o1 partially_refunded v1 refunds=1",
        ]
    );
}

pub async fn a_used_number_or_a_stale_order_saves_nothing<D: StoreUnderTest>(db: &D) {
    let (orders, refunds) = repos(db.store());
    let order = insert_paid(db.store(), "o1", 1_000).await;
    let ours = refunds
        .reserve(&new_refund("o1", "r1", 100), &crate::event_id())
        .await
        .unwrap();
    let before = bodies(db.store()).await;

    // payport's own refund has the number already.
    let mut clash = external("o1", "r1", 300);
    clash.refund_id = payport_domain::RefundId::parse("rf_other").unwrap();
    let (order_after, events) = credited(&order, &clash);
    assert!(matches!(
        refunds.insert_external(&clash, &order_after, &events).await,
        Err(RepoError::Duplicate(_))
    ));

    // The order changed since it was read.
    let console = external("o1", "console1", 300);
    let (mut stale, events) = credited(&order, &console);
    let mut other_writer = order.clone();
    other_writer.return_url = Some("https://shop.example/r".into());
    orders.update(&other_writer, &[]).await.unwrap();
    assert!(matches!(
        refunds.insert_external(&console, &stale, &events).await,
        Err(RepoError::Conflict(_))
    ));

    // Neither wrote anything.
    assert_eq!(refunds.list_for_order(&no("o1")).await.unwrap(), [ours]);
    let now = orders.get(&no("o1")).await.unwrap().unwrap();
    assert_eq!(now.refunded_amount, fen(0));
    assert_eq!(now.version, 1);
    assert_eq!(bodies(db.store()).await, before);

    // Current, it is stored; the same number again is a duplicate.
    stale.version = now.version;
    stale.return_url = now.return_url.clone();
    let (_, events) = credited(&order, &console);
    refunds
        .insert_external(&console, &stale, &events)
        .await
        .unwrap();
    let mut again = console.clone();
    again.refund_id = payport_domain::RefundId::parse("rf_again").unwrap();
    let mut newer = orders.get(&no("o1")).await.unwrap().unwrap();
    newer.record_refund(again.amount, at(170)).unwrap();
    assert!(matches!(
        refunds.insert_external(&again, &newer, &[]).await,
        Err(RepoError::Duplicate(_))
    ));
    assert_eq!(
        orders
            .get(&no("o1"))
            .await
            .unwrap()
            .unwrap()
            .refunded_amount,
        fen(300)
    );
}

/// An external refund is not checked against reservations (the money is gone), but
/// it holds its amount afterwards: later reservations see less room.
pub async fn reservations_count_external_refunds<D: StoreUnderTest>(db: &D) {
    let (orders, refunds) = repos(db.store());
    let order = insert_paid(db.store(), "o1", 1_000).await;
    refunds
        .reserve(&new_refund("o1", "r1", 500), &crate::event_id())
        .await
        .unwrap();
    // 500 held by payport's refund still under way, 400 refunded in the console.
    let console = external("o1", "console1", 400);
    let (order_after, events) = credited(&order, &console);
    refunds
        .insert_external(&console, &order_after, &events)
        .await
        .unwrap();
    assert_eq!(
        orders.get(&no("o1")).await.unwrap().unwrap().status,
        OrderStatus::PartiallyRefunded
    );

    let refused = refunds
        .reserve(&new_refund("o1", "r2", 101), &crate::event_id())
        .await;
    assert!(
        matches!(
            refused,
            Err(ReserveError::Refused(ReservationRefused::ExceedsRefundable { refundable }))
                if refundable == fen(100)
        ),
        "{refused:?}"
    );
    refunds
        .reserve(&new_refund("o1", "r2", 100), &crate::event_id())
        .await
        .unwrap();
}
