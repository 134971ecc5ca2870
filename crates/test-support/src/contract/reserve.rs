//! The reservation: the over-refund invariant at the database.

use std::time::Duration;

use payport_domain::policy::{ApprovalPolicy, ReservationRefused};
use payport_domain::ports::{ReserveError, WorkQueue};
use payport_domain::refund::{NewRefund, SendAtOnce};
use payport_domain::{BatchNo, GatewayFailure, OrderStatus, RefundGatewayKind, RefundStatus};

use super::fixtures::{
    all_events, at, fen, insert_paid, new_refund, no, paid_order, pending_order, repos,
};
use super::StoreUnderTest;

fn exceeds(refundable_fen: i64) -> ReserveError {
    ReserveError::Refused(ReservationRefused::ExceedsRefundable {
        refundable: fen(refundable_fen),
    })
}

pub async fn an_exact_fit_is_accepted_and_one_fen_more_is_refused<D: StoreUnderTest>(db: &D) {
    let (orders, refunds) = repos(db.store());
    insert_paid(db.store(), "o1", 1_000).await;
    refunds
        .reserve(&new_refund("o1", "r1", 600), &crate::event_id())
        .await
        .unwrap();
    assert_eq!(
        refunds
            .reserve(&new_refund("o1", "r2", 401), &crate::event_id())
            .await
            .unwrap_err(),
        exceeds(400)
    );
    refunds
        .reserve(&new_refund("o1", "r3", 400), &crate::event_id())
        .await
        .unwrap();
    assert_eq!(
        refunds
            .reserve(&new_refund("o1", "r4", 1), &crate::event_id())
            .await
            .unwrap_err(),
        exceeds(0)
    );
    let stored = refunds.list_for_order(&no("o1")).await.unwrap();
    let amounts: Vec<i64> = stored.iter().map(|r| r.amount.fen()).collect();
    assert_eq!(amounts, [600, 400], "refused reservations store nothing");

    // A refunded order has nothing left, said as such.
    let mut refunded = paid_order("o2", 100);
    refunded.record_refund(fen(100), at(70)).unwrap();
    assert_eq!(refunded.status, OrderStatus::Refunded);
    orders.insert(&refunded).await.unwrap();
    assert_eq!(
        refunds
            .reserve(&new_refund("o2", "r1", 1), &crate::event_id())
            .await
            .unwrap_err(),
        exceeds(0)
    );
}

pub async fn unpaid_closed_finished_and_missing_orders_refuse<D: StoreUnderTest>(db: &D) {
    let (orders, refunds) = repos(db.store());
    orders.insert(&pending_order("pending", 100)).await.unwrap();
    let mut closed = pending_order("closed", 100);
    closed.close(at(5)).unwrap();
    orders.insert(&closed).await.unwrap();
    let mut finished = paid_order("finished", 100);
    finished.finish(at(70)).unwrap();
    orders.insert(&finished).await.unwrap();

    for (order, status) in [
        ("pending", OrderStatus::Pending),
        ("closed", OrderStatus::Closed),
        ("finished", OrderStatus::Finished),
    ] {
        assert_eq!(
            refunds
                .reserve(&new_refund(order, "r1", 1), &crate::event_id())
                .await
                .unwrap_err(),
            ReserveError::Refused(ReservationRefused::OrderNotRefundable(status)),
            "{order}"
        );
        assert!(refunds.list_for_order(&no(order)).await.unwrap().is_empty());
    }
    assert_eq!(
        refunds
            .reserve(&new_refund("missing", "r1", 1), &crate::event_id())
            .await
            .unwrap_err(),
        ReserveError::OrderNotFound
    );
}

pub async fn a_used_out_request_no_returns_the_existing_refund<D: StoreUnderTest>(db: &D) {
    let (_, refunds) = repos(db.store());
    insert_paid(db.store(), "o1", 1_000).await;
    insert_paid(db.store(), "o2", 1_000).await;
    let first = refunds
        .reserve(&new_refund("o1", "r1", 300), &crate::event_id())
        .await
        .unwrap();

    let mut retry = new_refund("o1", "r1", 700);
    retry.refund_id = payport_domain::RefundId::parse("rf_other").unwrap();
    assert_eq!(
        refunds
            .reserve(&retry, &crate::event_id())
            .await
            .unwrap_err(),
        ReserveError::DuplicateOutRequestNo(Box::new(first.clone()))
    );
    // Still only the first holds anything: 700 fits.
    let mut fresh = new_refund("o1", "r2", 700);
    fresh.refund_id = payport_domain::RefundId::parse("rf_fresh").unwrap();
    refunds.reserve(&fresh, &crate::event_id()).await.unwrap();

    // out_request_no is unique per order, not globally.
    refunds
        .reserve(&new_refund("o2", "r1", 300), &crate::event_id())
        .await
        .unwrap();

    // A refund_id used twice is a plain duplicate.
    let mut same_id = new_refund("o2", "r2", 1);
    same_id.refund_id = first.refund_id.clone();
    assert!(matches!(
        refunds.reserve(&same_id, &crate::event_id()).await,
        Err(ReserveError::Repo(payport_domain::RepoError::Duplicate(_)))
    ));
}

pub async fn rejected_and_failed_refunds_release_their_amount<D: StoreUnderTest>(db: &D) {
    let (_, refunds) = repos(db.store());
    insert_paid(db.store(), "o1", 1_000).await;

    let mut asked = new_refund("o1", "r1", 1_000);
    asked.approval = ApprovalPolicy::Manual;
    let mut rejected = refunds.reserve(&asked, &crate::event_id()).await.unwrap();
    assert_eq!(
        refunds
            .reserve(&new_refund("o1", "r2", 1), &crate::event_id())
            .await
            .unwrap_err(),
        exceeds(0)
    );
    rejected
        .reject("duplicate request".into(), at(200))
        .unwrap();
    refunds.update(&rejected, &[]).await.unwrap();

    let mut failed = refunds
        .reserve(&new_refund("o1", "r3", 1_000), &crate::event_id())
        .await
        .unwrap();
    failed.start_submission(at(210)).unwrap();
    failed
        .fail(
            GatewayFailure {
                code: "40004".into(),
                sub_code: Some("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL".into()),
                message: "Business Failed".into(),
            },
            at(220),
        )
        .unwrap();
    refunds.update(&failed, &[]).await.unwrap();

    // Both released: the whole total is refundable again, and not a fen more.
    refunds
        .reserve(&new_refund("o1", "r4", 1_000), &crate::event_id())
        .await
        .unwrap();
    assert_eq!(
        refunds
            .reserve(&new_refund("o1", "r5", 1), &crate::event_id())
            .await
            .unwrap_err(),
        exceeds(0)
    );
}

/// The approval threshold counts what the order's refunds hold: a rejected refund no
/// longer counts, and exactly reaching the threshold still needs no approval.
pub async fn the_approval_threshold_counts_what_the_order_holds<D: StoreUnderTest>(db: &D) {
    let (_, refunds) = repos(db.store());
    insert_paid(db.store(), "o1", 10_000).await;
    let asked = |request: &str, amount_fen: i64| {
        let mut new = new_refund("o1", request, amount_fen);
        new.approval = ApprovalPolicy::ManualAbove(fen(1_000));
        new
    };
    let first = refunds
        .reserve(&asked("r1", 600), &crate::event_id())
        .await
        .unwrap();
    assert_eq!(first.status, RefundStatus::Approved);
    let mut second = refunds
        .reserve(&asked("r2", 500), &crate::event_id())
        .await
        .unwrap();
    assert_eq!(second.status, RefundStatus::PendingApproval, "6.00 + 5.00");
    second.reject("too much".into(), at(200)).unwrap();
    refunds.update(&second, &[]).await.unwrap();
    let third = refunds
        .reserve(&asked("r3", 400), &crate::event_id())
        .await
        .unwrap();
    assert_eq!(third.status, RefundStatus::Approved, "6.00 + 4.00");
    let fourth = refunds
        .reserve(&asked("r4", 1), &crate::event_id())
        .await
        .unwrap();
    assert_eq!(fourth.status, RefundStatus::PendingApproval, "10.00 + 0.01");
}

/// A legacy refund of `amount_fen` to be sent at once, under a threshold of 10.00.
fn sent_at_once(request: &str, amount_fen: i64) -> NewRefund {
    NewRefund {
        gateway: RefundGatewayKind::MapiNoPwd,
        approval: ApprovalPolicy::ManualAbove(fen(1_000)),
        send_at_once: Some(SendAtOnce {
            event_id: crate::event_id(),
            batch_no: Some(BatchNo::parse(format!("20261121{request}")).unwrap()),
        }),
        ..new_refund("o1", request, amount_fen)
    }
}

/// An approved refund to be sent at once is stored already sent (`processing`, one
/// attempt, submitted when asked for, with its batch number), with `refund.approved`
/// then `refund.processing` in the same transaction, each body showing its step; one
/// the policy holds for an operator is stored as before, unsent. A crash right after
/// the reservation leaves the first for the worker once untouched for a lease: it is
/// queried and resent, never sent anew.
pub async fn a_refund_sent_at_once_is_reserved_as_sent_with_both_events<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let (_, refunds) = repos(store);
    insert_paid(store, "o1", 10_000).await;
    let new = sent_at_once("001", 600);
    let first_id = crate::event_id();
    let sent = refunds.reserve(&new, &first_id).await.unwrap();
    assert_eq!((sent.status, sent.attempts), (RefundStatus::Processing, 1));
    assert_eq!(sent.version, 1, "inserted, then saved once");
    assert_eq!(sent.submitted_at, Some(new.created_at));
    assert_eq!(sent.batch_no.as_ref().unwrap().as_str(), "20261121001");
    assert_eq!(sent.next_sync_at, None);
    assert_eq!(
        refunds.get(&sent.refund_id).await.unwrap().as_ref(),
        Some(&sent)
    );
    let send_id = new.send_at_once.as_ref().unwrap().event_id.clone();
    let events = all_events(store).await;
    let written: Vec<_> = events
        .iter()
        .map(|e| (e.id.clone(), e.body.as_str(), e.created_at))
        .collect();
    // Each body shows the refund as its step stored it: as when they were two saves.
    assert_eq!(
        written,
        [
            (
                first_id,
                "refund.approved rf_o1_001 approved v0",
                new.created_at
            ),
            (
                send_id,
                "refund.processing rf_o1_001 processing v1",
                new.created_at
            ),
        ]
    );

    // 6.00 + 5.00 passes the threshold: pending, no batch, one event.
    let held = refunds
        .reserve(&sent_at_once("002", 500), &crate::event_id())
        .await
        .unwrap();
    assert_eq!(
        (held.status, held.attempts),
        (RefundStatus::PendingApproval, 0)
    );
    assert_eq!((held.batch_no, held.submitted_at), (None, None));
    let events = all_events(store).await;
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2].body,
        "refund.pending_approval rf_o1_002 pending_approval v0"
    );

    let lease = Duration::from_secs(60);
    let within = store.claim_due_refunds(at(150), 10, lease).await.unwrap();
    assert!(within.is_empty(), "{within:?}");
    let claimed = store.claim_due_refunds(at(161), 10, lease).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|r| r.refund_id.as_str()).collect();
    assert_eq!(ids, ["rf_o1_001"]);
}
