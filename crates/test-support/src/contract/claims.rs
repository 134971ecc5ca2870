//! Claiming background work: due refunds and expired orders, never twice at once.

use payport_domain::refund::RefundSuccess;
use std::collections::HashSet;
use std::time::Duration;

use payport_domain::ports::{OrderRepository, RefundRepository, WorkKind, WorkQueue};
use payport_domain::{Refund, RefundStatus};
use std::sync::Arc;

use super::fixtures::{
    at, insert_paid, new_refund, paid_order, pending_order, processing_refund, repos,
};
use super::{four_at_once, StoreUnderTest};

const LEASE: Duration = Duration::from_secs(60);

pub async fn due_refunds_are_claimed_once_per_lease<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let (_, refunds) = repos(store);
    insert_paid(store, "o1", 10_000).await;
    let due = processing_refund(store, "o1", "due", Some(at(1_000))).await;
    let later = processing_refund(store, "o1", "later", Some(at(5_000))).await;
    // Processing with no next_sync_at: a submission that crashed mid-call (at 980).
    let mut crashed = processing_refund(store, "o1", "crashed", None).await;
    crashed.updated_at = at(980);
    RefundRepository::update(store, &crashed, &[])
        .await
        .unwrap();
    // Approved but never sent (a crash between approval and sending, at 990): due once
    // untouched for a lease, like the crashed submission.
    let mut approved = refunds
        .reserve(&new_refund("o1", "approved", 1), &crate::event_id())
        .await
        .unwrap();
    approved.updated_at = at(990);
    RefundRepository::update(store, &approved, &[])
        .await
        .unwrap();
    // Settled refunds are never claimed.
    let mut settled = processing_refund(store, "o1", "settled", Some(at(1_000))).await;
    settled.succeed(RefundSuccess::default(), at(999)).unwrap();
    RefundRepository::update(store, &settled, &[])
        .await
        .unwrap();

    let now = at(1_000);
    let claimed = store.claim_due_refunds(now, 10, LEASE).await.unwrap();
    let expected = Refund {
        next_sync_at: Some(now + chrono::Duration::seconds(60)),
        version: due.version + 1,
        ..due.clone()
    };
    assert_eq!(claimed, vec![expected.clone()]);
    assert_eq!(refunds.get(&due.refund_id).await.unwrap(), Some(expected));
    assert!(store
        .claim_due_refunds(now, 10, LEASE)
        .await
        .unwrap()
        .is_empty());

    // The stale copy of the claimed refund cannot undo the claim.
    assert!(RefundRepository::update(store, &due, &[]).await.is_err());

    // When the lease runs out, whatever is still due is claimed again; the crashed
    // submission is due once it has been untouched for a lease (since 980 + 60).
    let ids = |claimed: &[Refund]| -> Vec<String> {
        let mut ids: Vec<_> = claimed.iter().map(|r| r.refund_id.to_string()).collect();
        ids.sort();
        ids
    };
    assert!(store
        .claim_due_refunds(at(1_030), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_due_refunds(at(1_060), 10, LEASE).await.unwrap();
    assert_eq!(
        ids(&claimed),
        ["rf_o1_approved", "rf_o1_crashed", "rf_o1_due"]
    );
    let claimed = store.claim_due_refunds(at(5_000), 10, LEASE).await.unwrap();
    assert_eq!(
        ids(&claimed),
        [
            "rf_o1_approved",
            "rf_o1_crashed",
            "rf_o1_due",
            "rf_o1_later"
        ]
    );
    assert!(claimed
        .iter()
        .all(|r| matches!(r.status, RefundStatus::Processing | RefundStatus::Approved)));
    let later_now = claimed
        .iter()
        .find(|r| r.refund_id == later.refund_id)
        .unwrap();
    assert_eq!(later_now.version, later.version + 1);

    assert!(store
        .claim_due_refunds(at(9_000), 0, LEASE)
        .await
        .unwrap()
        .is_empty());
}

/// Claims until nothing is left, returning what this claimer got.
async fn drain_refunds<S: WorkQueue + ?Sized>(store: Arc<S>) -> Vec<String> {
    let mut mine = Vec::new();
    loop {
        let batch = store.claim_due_refunds(at(1_000), 3, LEASE).await.unwrap();
        if batch.is_empty() {
            return mine;
        }
        mine.extend(batch.into_iter().map(|r| r.refund_id.to_string()));
    }
}

/// The order of claims is the same on every backend: refunds due by their sync time,
/// oldest first, then stale ones without one (SQL leaves where NULLs sort to the
/// database, so the store must say it).
pub async fn refunds_with_a_sync_time_are_claimed_before_stale_ones<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    insert_paid(store, "o1", 10_000).await;
    let mut stale = processing_refund(store, "o1", "a_stale", None).await;
    stale.updated_at = at(900);
    RefundRepository::update(store, &stale, &[]).await.unwrap();
    let due = processing_refund(store, "o1", "b_due", Some(at(1_000))).await;
    let claimed = store.claim_due_refunds(at(1_000), 1, LEASE).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|r| r.refund_id.clone()).collect();
    assert_eq!(ids, [due.refund_id]);
}

pub async fn concurrent_refund_claimers_never_share_a_refund<D: StoreUnderTest>(db: &D) {
    insert_paid(db.store(), "o1", 10_000).await;
    for i in 0..30 {
        processing_refund(db.store(), "o1", &format!("r{i}"), Some(at(i))).await;
    }
    let all = four_at_once(db, |_, store| drain_refunds(store)).await;
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(
        all.len(),
        30,
        "every due refund claimed exactly once: {all:?}"
    );
    assert_eq!(unique.len(), 30);
}

pub async fn expired_orders_are_claimed_once_per_lease<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let expired = pending_order("expired", 100); // expires at(1800)
    store.insert(&expired).await.unwrap();
    let mut fresh = pending_order("fresh", 100);
    fresh.expires_at = at(9_000);
    store.insert(&fresh).await.unwrap();
    store.insert(&paid_order("paid", 100)).await.unwrap();

    let now = at(2_000);
    let claimed = store.claim_expired_orders(now, 10, LEASE).await.unwrap();
    assert_eq!(
        claimed,
        vec![expired.clone()],
        "the claim leaves the order as it was"
    );
    assert!(store
        .claim_expired_orders(now, 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    // The claim does not get in the way of saving the order.
    let mut closed = expired.clone();
    closed.close(now).unwrap();
    OrderRepository::update(store, &closed, &[]).await.unwrap();
    assert!(store
        .claim_expired_orders(at(3_000), 10, LEASE)
        .await
        .unwrap()
        .is_empty());

    let mut abandoned = pending_order("abandoned", 100);
    abandoned.expires_at = at(2_500);
    store.insert(&abandoned).await.unwrap();
    let first = store
        .claim_expired_orders(at(3_000), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(first, vec![abandoned.clone()]);
    // The worker died: after the lease the order is claimable again.
    assert!(store
        .claim_expired_orders(at(3_059), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let again = store
        .claim_expired_orders(at(3_060), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(again, vec![abandoned]);
}

async fn drain_orders<S: WorkQueue + ?Sized>(store: Arc<S>) -> Vec<String> {
    let mut mine = Vec::new();
    loop {
        let batch = store
            .claim_expired_orders(at(5_000), 4, LEASE)
            .await
            .unwrap();
        if batch.is_empty() {
            return mine;
        }
        mine.extend(batch.into_iter().map(|o| o.out_trade_no.to_string()));
    }
}

pub async fn concurrent_order_claimers_never_share_an_order<D: StoreUnderTest>(db: &D) {
    for i in 0..30 {
        let mut order = pending_order(&format!("o{i}"), 100);
        order.expires_at = at(i);
        OrderRepository::insert(db.store(), &order).await.unwrap();
    }
    let all = four_at_once(db, |_, store| drain_orders(store)).await;
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(
        all.len(),
        30,
        "every expired order claimed exactly once: {all:?}"
    );
    assert_eq!(unique.len(), 30);
}

/// The backlog is what the claims would take: as many rows, and the longest-waiting
/// one's due time; a row claimed by another worker is not due.
pub async fn the_backlog_is_what_the_claims_then_take<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let now = at(2_000);
    let empty = store.backlog(now, LEASE).await.unwrap();
    assert_eq!(
        empty
            .iter()
            .map(|b| (b.kind, b.due, b.oldest_due_at))
            .collect::<Vec<_>>(),
        WorkKind::ALL.map(|kind| (kind, 0, None))
    );

    insert_paid(store, "o1", 10_000).await;
    processing_refund(store, "o1", "due", Some(at(1_000))).await;
    processing_refund(store, "o1", "later", Some(at(5_000))).await;
    // No sync time, untouched since 900: abandoned (due) since 900 + the lease.
    let mut crashed = processing_refund(store, "o1", "crashed", None).await;
    crashed.updated_at = at(900);
    RefundRepository::update(store, &crashed, &[])
        .await
        .unwrap();
    for (no, expires, check) in [
        ("claimed", 1_700, None),
        ("expired", 1_800, Some(1_500)),
        ("fresh", 9_000, Some(1_900)),
        ("unchecked", 9_000, Some(2_100)),
    ] {
        let mut order = pending_order(no, 100);
        order.expires_at = at(expires);
        order.payment_check_at = check.map(at);
        store.insert(&order).await.unwrap();
    }
    // Another worker holds the oldest expired order.
    let held = store.claim_expired_orders(now, 1, LEASE).await.unwrap();
    assert_eq!(held[0].out_trade_no.as_str(), "claimed");

    let backlog = store.backlog(now, LEASE).await.unwrap();
    let seen: Vec<_> = backlog
        .iter()
        .map(|b| (b.kind, b.due, b.oldest_due_at))
        .collect();
    assert_eq!(
        seen,
        [
            (WorkKind::RefundSync, 2, Some(at(960))),
            (WorkKind::PaymentCheck, 2, Some(at(1_500))),
            (WorkKind::ExpiredOrder, 1, Some(at(1_800))),
        ]
    );
    // What the claims take matches, and after them nothing is due.
    let refunds = store.claim_due_refunds(now, 10, LEASE).await.unwrap();
    let checks = store.claim_payment_checks(now, 10, LEASE).await.unwrap();
    let expired = store.claim_expired_orders(now, 10, LEASE).await.unwrap();
    assert_eq!(
        [refunds.len(), checks.len(), expired.len()],
        [2, 2, 1],
        "{refunds:?} {checks:?} {expired:?}"
    );
    let after = store.backlog(now, LEASE).await.unwrap();
    assert!(
        after
            .iter()
            .all(|b| b.due == 0 && b.oldest_due_at.is_none()),
        "{after:?}"
    );
}
