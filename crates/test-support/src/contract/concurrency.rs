//! Concurrency over real pools (and two store instances on one database; for the memory
//! store, two handles on one store): parallel reservations never exceed the total; of
//! two concurrent saves of one version, exactly one wins.

use std::sync::Arc;

use payport_domain::policy::{ApprovalPolicy, ReservationRefused};
use payport_domain::ports::{RefundRepository, ReserveError};
use payport_domain::{RefundStatus, RepoError};
use tokio::sync::Barrier;

use super::fixtures::{at, fen, insert_paid, new_refund, no, repos, Rng};
use super::StoreUnderTest;

const TOTAL_FEN: i64 = 10_000;
const REQUESTS: usize = 50;

pub async fn fifty_parallel_reservations_never_exceed_the_total<D: StoreUnderTest>(db: &D) {
    insert_paid(db.store(), "o1", TOTAL_FEN).await;
    let stores = [db.shared(), db.another_instance().await];
    let mut rng = Rng::from_time();
    // 50 requests of 1 fen .. 6.00 yuan: about 150 yuan asked of a 100 yuan order.
    let amounts: Vec<i64> = (0..REQUESTS)
        .map(|_| i64::try_from(rng.up_to(600)).unwrap())
        .collect();
    let barrier = Arc::new(Barrier::new(REQUESTS));
    let tasks: Vec<_> = amounts
        .iter()
        .enumerate()
        .map(|(i, &amount)| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let new = new_refund("o1", &format!("r{i}"), amount);
                barrier.wait().await;
                (amount, store.reserve(&new, &crate::event_id()).await)
            })
        })
        .collect();

    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (amount, Ok(refund)) => {
                assert_eq!(refund.amount.fen(), amount);
                accepted.push(amount);
            }
            (
                amount,
                Err(ReserveError::Refused(ReservationRefused::ExceedsRefundable { refundable })),
            ) => {
                assert!(
                    amount > refundable.fen(),
                    "{amount} refused with {refundable} left"
                );
                refused.push(amount);
            }
            (amount, Err(e)) => panic!("reservation of {amount} fen failed: {e:?}"),
        }
    }
    let reserved: i64 = accepted.iter().sum();
    assert!(
        reserved <= TOTAL_FEN,
        "reserved {reserved} of {TOTAL_FEN}: {amounts:?}"
    );
    // Nothing was refused that would have fit: every refusal saw at least what is
    // left now, and asked for more.
    let left = TOTAL_FEN - reserved;
    assert!(
        refused.iter().all(|&amount| amount > left),
        "refused {refused:?} with {left} left"
    );
    assert_eq!(accepted.len() + refused.len(), REQUESTS);
    if amounts.iter().sum::<i64>() > TOTAL_FEN {
        assert!(!refused.is_empty());
    }

    // The database agrees.
    let (_, refunds) = repos(db.store());
    let stored = refunds.list_for_order(&no("o1")).await.unwrap();
    assert_eq!(stored.len(), accepted.len());
    assert_eq!(stored.iter().map(|r| r.amount.fen()).sum::<i64>(), reserved);
}

pub async fn of_two_concurrent_saves_exactly_one_wins<D: StoreUnderTest>(db: &D) {
    insert_paid(db.store(), "o1", TOTAL_FEN).await;
    let other = db.another_instance().await;
    for round in 0..10 {
        let mut new = new_refund("o1", &format!("r{round}"), 1);
        new.approval = ApprovalPolicy::Manual;
        let refund = db.store().reserve(&new, &crate::event_id()).await.unwrap();

        // Two operators act on the same version at once, through two instances.
        let mut approved = refund.clone();
        approved.approve(at(200)).unwrap();
        let mut rejected = refund.clone();
        rejected.reject("duplicate".into(), at(200)).unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let save = |store: Arc<D::Store>, refund: payport_domain::Refund| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                RefundRepository::update(&*store, &refund, &[]).await
            })
        };
        let a = save(db.shared(), approved.clone());
        let b = save(other.clone(), rejected.clone());
        let (a, b) = (a.await.unwrap(), b.await.unwrap());

        let stored = RefundRepository::get(db.store(), &refund.refund_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.version, 1,
            "round {round}: one save, one version step"
        );
        match (a, b) {
            (Ok(()), Err(RepoError::Conflict(_))) => {
                assert_eq!(stored.status, RefundStatus::Approved, "round {round}");
            }
            (Err(RepoError::Conflict(_)), Ok(())) => {
                assert_eq!(stored.status, RefundStatus::Rejected, "round {round}");
            }
            other => panic!("round {round}: expected exactly one winner, got {other:?}"),
        }
    }
}

/// The approval threshold is decided under the reservation's lock: of many parallel
/// refunds that each fit under it alone, only those that fit together skip approval.
pub async fn parallel_reservations_share_one_approval_threshold<D: StoreUnderTest>(db: &D) {
    insert_paid(db.store(), "o1", TOTAL_FEN).await;
    let stores = [db.shared(), db.another_instance().await];
    let barrier = Arc::new(Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                // 10 refunds of 5.00 under a threshold of 12.00: two fit together.
                let mut new = new_refund("o1", &format!("r{i}"), 500);
                new.approval = ApprovalPolicy::ManualAbove(fen(1_200));
                barrier.wait().await;
                store
                    .reserve(&new, &crate::event_id())
                    .await
                    .unwrap()
                    .status
            })
        })
        .collect();
    let mut approved = 0;
    for task in tasks {
        match task.await.unwrap() {
            RefundStatus::Approved => approved += 1,
            RefundStatus::PendingApproval => {}
            other => panic!("reserved as {other:?}"),
        }
    }
    assert_eq!(approved, 2);
}
