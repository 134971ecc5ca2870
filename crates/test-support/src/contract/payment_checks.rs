//! Payment checks: pending orders whose payment notification may be lost are claimed
//! when their check is due, never twice at once, and rescheduled without a new version.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use payport_domain::ports::{OrderRepository, WorkQueue};
use payport_domain::Order;

use super::fixtures::{at, no, paid_order, pending_order};
use super::{four_at_once, StoreUnderTest};

const LEASE: Duration = Duration::from_secs(60);

/// A pending order whose payment started at `at(10)` and is next checked at `check`.
fn checked_order(out_trade_no: &str, check: Option<DateTime<Utc>>) -> Order {
    let mut order = pending_order(out_trade_no, 100);
    order.payment_started_at = Some(at(10));
    order.payment_check_at = check;
    order
}

fn nos(orders: &[Order]) -> Vec<String> {
    orders.iter().map(|o| o.out_trade_no.to_string()).collect()
}

pub async fn due_payment_checks_are_claimed_earliest_first_once_per_lease<D: StoreUnderTest>(
    db: &D,
) {
    let store = db.store();
    let due = checked_order("due", Some(at(100)));
    let earlier = checked_order("earlier", Some(at(50)));
    for order in [
        &due,
        &earlier,
        &checked_order("not_due", Some(at(500))),
        &checked_order("never", None),
    ] {
        store.insert(order).await.unwrap();
    }
    // Orders no longer pending are never checked, whatever their check time says.
    let mut paid = paid_order("paid", 100);
    paid.payment_check_at = Some(at(20));
    store.insert(&paid).await.unwrap();
    let mut closed = checked_order("closed", None);
    closed.close(at(30)).unwrap();
    closed.payment_check_at = Some(at(30));
    store.insert(&closed).await.unwrap();

    let now = at(100);
    let first = store.claim_payment_checks(now, 1, LEASE).await.unwrap();
    assert_eq!(nos(&first), ["earlier"], "the earliest due check first");
    let claimed = store.claim_payment_checks(now, 10, LEASE).await.unwrap();
    let until = Some(at(160));
    let expected = Order {
        payment_check_at: until,
        ..due.clone()
    };
    assert_eq!(
        claimed,
        vec![expected.clone()],
        "pushed out by the lease, the version unchanged"
    );
    assert_eq!(store.get(&due.out_trade_no).await.unwrap(), Some(expected));
    assert!(store
        .claim_payment_checks(at(159), 10, LEASE)
        .await
        .unwrap()
        .is_empty());

    // A worker that died holding a claim loses it when the lease runs out.
    let again = store
        .claim_payment_checks(at(160), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(nos(&again), ["due", "earlier"]);
    let later = store
        .claim_payment_checks(at(500), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(nos(&later), ["due", "earlier", "not_due"]);
    assert!(store
        .claim_payment_checks(at(9_000), 0, LEASE)
        .await
        .unwrap()
        .is_empty());
}

pub async fn scheduling_sets_only_the_check_time_of_a_pending_order<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let order = checked_order("o1", Some(at(100)));
    store.insert(&order).await.unwrap();

    store
        .schedule_payment_check(&order.out_trade_no, Some(at(700)))
        .await
        .unwrap();
    let expected = Order {
        payment_check_at: Some(at(700)),
        ..order.clone()
    };
    assert_eq!(
        store.get(&order.out_trade_no).await.unwrap(),
        Some(expected)
    );
    store
        .schedule_payment_check(&order.out_trade_no, None)
        .await
        .unwrap();
    let stopped = store.get(&order.out_trade_no).await.unwrap().unwrap();
    assert_eq!(stopped.payment_check_at, None);
    assert_eq!(stopped.version, order.version, "no new version");
    // ...so the order's next save is not refused for it.
    let mut paid = stopped.clone();
    paid.confirm_payment(super::fixtures::payment("o1"), at(800))
        .unwrap();
    OrderRepository::update(store, &paid, &[]).await.unwrap();

    // A paid order needs no more checks: scheduling leaves it alone.
    store
        .schedule_payment_check(&order.out_trade_no, Some(at(900)))
        .await
        .unwrap();
    let stored = store.get(&order.out_trade_no).await.unwrap().unwrap();
    assert_eq!(stored.payment_check_at, None);
    assert_eq!(stored.status, paid.status);

    // Scheduling an order that does not exist is not an error.
    store
        .schedule_payment_check(&no("missing"), Some(at(900)))
        .await
        .unwrap();
    assert_eq!(store.get(&no("missing")).await.unwrap(), None);
}

async fn drain_checks<S: WorkQueue + ?Sized>(store: Arc<S>) -> Vec<String> {
    let mut mine = Vec::new();
    loop {
        let batch = store
            .claim_payment_checks(at(5_000), 4, LEASE)
            .await
            .unwrap();
        if batch.is_empty() {
            return mine;
        }
        mine.extend(nos(&batch));
    }
}

pub async fn concurrent_payment_check_claimers_never_share_an_order<D: StoreUnderTest>(db: &D) {
    for i in 0..30 {
        let order = checked_order(&format!("o{i}"), Some(at(i)));
        OrderRepository::insert(db.store(), &order).await.unwrap();
    }
    let all = four_at_once(db, |_, store| drain_checks(store)).await;
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(
        all.len(),
        30,
        "every due check claimed exactly once: {all:?}"
    );
    assert_eq!(unique.len(), 30);
}
