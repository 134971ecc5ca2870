//! OrderRepository: round trips, unique out_trade_no, conditional updates, pages.

use payport_domain::ports::{OrderFilter, OrderRepository};
use payport_domain::{Order, OrderStatus, RepoError, TradeNo};

use super::fixtures::{at, fen, no, paid_order, pending_order};
use super::StoreUnderTest;

/// An order with every optional field set (and a microsecond in its timestamps).
fn full_order() -> Order {
    let mut order = paid_order("full_1", 8888);
    order.body = Some("2 x green tea".into());
    order.return_url = Some("https://shop.example/return?o=full_1".into());
    order.refunded_amount = fen(1234);
    order.status = OrderStatus::PartiallyRefunded;
    order.paid_after_close = true;
    order.closed_at = Some(at(30));
    order.finished_at = Some(at(90) + chrono::Duration::microseconds(7));
    order.updated_at = at(95) + chrono::Duration::microseconds(123_456);
    order.version = 7;
    order
}

pub async fn every_field_round_trips<D: StoreUnderTest>(db: &D) {
    let store: &dyn OrderRepository = db.store();
    let order = full_order();
    store.insert(&order).await.unwrap();
    assert_eq!(
        store.get(&order.out_trade_no).await.unwrap(),
        Some(order.clone())
    );
    let trade_no = order.trade_no.clone().unwrap();
    assert_eq!(
        store.find_by_trade_no(&trade_no).await.unwrap(),
        Some(order.clone())
    );

    let bare = pending_order("bare_1", 1);
    store.insert(&bare).await.unwrap();
    assert_eq!(store.get(&bare.out_trade_no).await.unwrap(), Some(bare));

    assert_eq!(store.get(&no("missing")).await.unwrap(), None);
    let unknown = TradeNo::parse("T0").unwrap();
    assert_eq!(store.find_by_trade_no(&unknown).await.unwrap(), None);
}

pub async fn out_trade_no_is_unique<D: StoreUnderTest>(db: &D) {
    let store: &dyn OrderRepository = db.store();
    store.insert(&paid_order("o1", 100)).await.unwrap();
    let mut again = pending_order("o1", 999);
    again.subject = "Another".into();
    match store.insert(&again).await {
        Err(RepoError::Duplicate(_)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.get(&no("o1")).await.unwrap(),
        Some(paid_order("o1", 100))
    );

    // Alipay's trade_no names one trade: a second order cannot claim it.
    let mut thief = paid_order("o2", 100);
    thief.trade_no = paid_order("o1", 100).trade_no;
    assert!(matches!(
        store.insert(&thief).await,
        Err(RepoError::Duplicate(_))
    ));
}

pub async fn updates_are_conditional_on_the_version<D: StoreUnderTest>(db: &D) {
    let store: &dyn OrderRepository = db.store();
    let order = pending_order("o1", 100);
    store.insert(&order).await.unwrap();

    let mut closed = order.clone();
    assert!(closed.close(at(10)).unwrap());
    store.update(&closed, &[]).await.unwrap();
    let stored = store.get(&no("o1")).await.unwrap().unwrap();
    assert_eq!(
        stored,
        Order {
            version: 1,
            ..closed.clone()
        }
    );

    // A writer that read version 0 loses, and changes nothing.
    let mut stale = order.clone();
    stale.subject = "Stale".into();
    match store.update(&stale, &[]).await {
        Err(RepoError::Conflict(why)) => assert!(why.contains("version 1"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.get(&no("o1")).await.unwrap(), Some(stored.clone()));

    // With the current version it goes through, and the version moves on again.
    let mut current = stored;
    current.return_url = Some("https://shop.example/r".into());
    store.update(&current, &[]).await.unwrap();
    assert_eq!(
        store.get(&no("o1")).await.unwrap(),
        Some(Order {
            version: 2,
            ..current
        })
    );

    match store.update(&pending_order("ghost", 1), &[]).await {
        Err(RepoError::NotFound(_)) => {}
        other => panic!("{other:?}"),
    }
}

pub async fn total_amount_cannot_change<D: StoreUnderTest>(db: &D) {
    let store: &dyn OrderRepository = db.store();
    let order = paid_order("o1", 100);
    store.insert(&order).await.unwrap();
    let mut bigger = order.clone();
    bigger.total_amount = fen(10_000);
    assert!(matches!(
        store.update(&bigger, &[]).await,
        Err(RepoError::Conflict(_))
    ));
    assert_eq!(store.get(&no("o1")).await.unwrap(), Some(order));
}

pub async fn lists_newest_first_in_pages<D: StoreUnderTest>(db: &D) {
    let store: &dyn OrderRepository = db.store();
    let mut inserted = Vec::new();
    for i in 0..5 {
        let mut order = if i % 2 == 0 {
            paid_order(&format!("o{i}"), 100)
        } else {
            pending_order(&format!("o{i}"), 100)
        };
        // o3 and o4 share a created_at: the id breaks the tie.
        order.created_at = at(i64::from(i.min(3)));
        store.insert(&order).await.unwrap();
        inserted.push(order);
    }
    let ids = |orders: &[Order]| -> Vec<String> {
        orders.iter().map(|o| o.out_trade_no.to_string()).collect()
    };

    let mut filter = OrderFilter {
        status: None,
        limit: 2,
        cursor: None,
    };
    let first = store.list(&filter).await.unwrap();
    assert_eq!(ids(&first.items), ["o4", "o3"]);
    filter.cursor = first.next_cursor;
    let second = store.list(&filter).await.unwrap();
    assert_eq!(ids(&second.items), ["o2", "o1"]);
    filter.cursor = second.next_cursor;
    let last = store.list(&filter).await.unwrap();
    assert_eq!(ids(&last.items), ["o0"]);
    assert_eq!(last.next_cursor, None);
    assert_eq!(last.items[0], inserted[0]);

    let paid = OrderFilter {
        status: Some(OrderStatus::Paid),
        limit: 0,
        cursor: None,
    };
    let page = store.list(&paid).await.unwrap();
    assert_eq!(ids(&page.items), ["o4", "o2", "o0"]);
    assert_eq!(page.next_cursor, None);

    let bad = OrderFilter {
        cursor: Some("not-a-cursor".into()),
        ..paid
    };
    assert!(store.list(&bad).await.is_err());
}
