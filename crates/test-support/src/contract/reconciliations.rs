//! Reconciliation reports, the claims on a date (the daily run's, a person's), and
//! payport's side of a day's books.

use std::time::Duration;

use chrono::NaiveDate;
use payport_domain::ports::{OrderRepository, ReconciliationStore, RefundRepository};
use payport_domain::reconciliation::{
    ItemAction, ItemKind, Reconciliation, ReconciliationCounts, ReconciliationItem,
    ReconciliationStatus,
};
use payport_domain::refund::RefundSuccess;
use payport_domain::RefundGatewayKind;

use super::fixtures::{at, fen, insert_paid, paid_order, pending_order, processing_refund};
use super::{four_at_once, StoreUnderTest};

const LEASE: Duration = Duration::from_secs(60);

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 21).unwrap()
}

fn report(status: ReconciliationStatus, items: Vec<ReconciliationItem>) -> Reconciliation {
    Reconciliation {
        date: day(),
        status,
        counts: ReconciliationCounts {
            alipay_payments: 4,
            alipay_refunds: 2,
            payport_payments: 3,
            payport_refunds: 1,
            matched: 5,
            mismatches: 1,
            unresolved: 0,
        },
        items,
        last_error: None,
        attempts: 1,
        next_attempt_at: None,
        created_at: at(10),
        updated_at: at(20),
    }
}

fn every_field_item() -> ReconciliationItem {
    ReconciliationItem {
        kind: ItemKind::RefundMissingHere,
        out_trade_no: "o1".into(),
        out_request_no: Some("2026092100001".into()),
        alipay_amount: Some(fen(300)),
        payport_amount: Some(fen(299)),
        action: ItemAction::SettledRefund,
        note: Some("why".into()),
    }
}

fn bare_item(kind: ItemKind, out_trade_no: &str) -> ReconciliationItem {
    ReconciliationItem {
        kind,
        out_trade_no: out_trade_no.into(),
        out_request_no: None,
        alipay_amount: None,
        payport_amount: None,
        action: ItemAction::None,
        note: None,
    }
}

pub async fn reports_round_trip_and_a_save_replaces_the_items<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    assert_eq!(store.get_reconciliation(day()).await.unwrap(), None);
    let first = report(
        ReconciliationStatus::Completed,
        vec![
            every_field_item(),
            bare_item(ItemKind::Unresolved, "o2"),
            bare_item(ItemKind::MissingAtAlipay, "o3"),
        ],
    );
    store.save_reconciliation(&first).await.unwrap();
    assert_eq!(
        store.get_reconciliation(day()).await.unwrap(),
        Some(first.clone())
    );

    let mut second = report(
        ReconciliationStatus::Pending,
        vec![bare_item(ItemKind::AmountMismatch, "o9")],
    );
    second.last_error = Some("not ready".into());
    second.attempts = 2;
    second.next_attempt_at = Some(at(1_800));
    second.updated_at = at(30);
    store.save_reconciliation(&second).await.unwrap();
    assert_eq!(store.get_reconciliation(day()).await.unwrap(), Some(second));
    let other_day = day().succ_opt().unwrap();
    assert_eq!(store.get_reconciliation(other_day).await.unwrap(), None);
}

pub async fn a_date_is_claimed_once_until_its_report_is_due_again<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    assert!(store
        .claim_reconciliation(day(), at(0), LEASE)
        .await
        .unwrap());
    assert!(!store
        .claim_reconciliation(day(), at(30), LEASE)
        .await
        .unwrap());
    // The claim shows as a pending report that compared nothing yet.
    let claimed = store.get_reconciliation(day()).await.unwrap().unwrap();
    assert_eq!(claimed.status, ReconciliationStatus::Pending);
    assert_eq!((claimed.attempts, claimed.items.len()), (0, 0));
    // A run that died holding it loses it with the lease.
    assert!(store
        .claim_reconciliation(day(), at(60), LEASE)
        .await
        .unwrap());

    // A pending report is due again at next_attempt_at; the save released the claim.
    let mut pending = report(ReconciliationStatus::Pending, Vec::new());
    pending.next_attempt_at = Some(at(1_800));
    store.save_reconciliation(&pending).await.unwrap();
    assert!(!store
        .claim_reconciliation(day(), at(1_799), LEASE)
        .await
        .unwrap());
    assert!(store
        .claim_reconciliation(day(), at(1_800), LEASE)
        .await
        .unwrap());

    // A completed report is never claimed.
    let done = report(ReconciliationStatus::Completed, Vec::new());
    store.save_reconciliation(&done).await.unwrap();
    assert!(!store
        .claim_reconciliation(day(), at(9_000), LEASE)
        .await
        .unwrap());
    assert_eq!(store.get_reconciliation(day()).await.unwrap(), Some(done));
}

/// A person's run takes any day, a completed one too, but never one another run
/// (the daily one or another person's) holds; the daily run waits for it in turn.
pub async fn a_run_by_hand_claims_any_day_no_other_run_holds<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    assert!(store
        .claim_reconciliation(day(), at(0), LEASE)
        .await
        .unwrap());
    assert!(!store
        .claim_reconciliation_by_hand(day(), at(30), LEASE)
        .await
        .unwrap());
    let done = report(ReconciliationStatus::Completed, Vec::new());
    store.save_reconciliation(&done).await.unwrap();
    assert!(store
        .claim_reconciliation_by_hand(day(), at(40), LEASE)
        .await
        .unwrap());
    assert!(!store
        .claim_reconciliation_by_hand(day(), at(50), LEASE)
        .await
        .unwrap());
    // The claim leaves the report as it was.
    assert_eq!(store.get_reconciliation(day()).await.unwrap(), Some(done));
    // A pending day the daily run would take waits for the person's run.
    let other = day().succ_opt().unwrap();
    assert!(store
        .claim_reconciliation_by_hand(other, at(40), LEASE)
        .await
        .unwrap());
    assert!(!store
        .claim_reconciliation(other, at(50), LEASE)
        .await
        .unwrap());
    // A person's run that died loses the day with its lease.
    assert!(store
        .claim_reconciliation_by_hand(day(), at(100), LEASE)
        .await
        .unwrap());
}

pub async fn concurrent_claimers_never_both_run_a_date<D: StoreUnderTest>(db: &D) {
    let won = four_at_once(db, |_, store| async move {
        let mut won = Vec::new();
        for offset in 0..5 {
            let date = day() + chrono::Duration::days(offset);
            if store
                .claim_reconciliation(date, at(0), LEASE)
                .await
                .unwrap()
            {
                won.push(date);
            }
        }
        won
    })
    .await;
    let mut dates = won.clone();
    dates.sort();
    dates.dedup();
    assert_eq!(won.len(), 5, "each date claimed once: {won:?}");
    assert_eq!(dates.len(), 5);
}

pub async fn the_books_of_a_day<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    // Paid at(60) by the fixtures; one paid just before, one at the end (excluded).
    let inside = insert_paid(store, "inside", 1_000).await;
    for (no, paid_at) in [("before", 59), ("at_end", 120)] {
        let mut order = pending_order(no, 1_000);
        let mut payment = super::fixtures::payment(no);
        payment.paid_at = at(paid_at);
        order.confirm_payment(payment, at(paid_at)).unwrap();
        store.insert(&order).await.unwrap();
    }
    store.insert(&pending_order("unpaid", 1_000)).await.unwrap();
    let paid = store.orders_paid_between(at(60), at(120)).await.unwrap();
    assert_eq!(paid, vec![inside]);

    let mut done = processing_refund(store, "inside", "done", None).await;
    done.succeed(
        RefundSuccess {
            refund_fee: None,
            refunded_at: Some(at(100)),
        },
        at(200),
    )
    .unwrap();
    RefundRepository::update(store, &done, &[]).await.unwrap();
    done.version += 1;
    processing_refund(store, "inside", "sent", None).await;
    let refunded = store
        .refunds_succeeded_between(at(100), at(101))
        .await
        .unwrap();
    assert_eq!(refunded, vec![done]);
    assert!(store
        .refunds_succeeded_between(at(101), at(200))
        .await
        .unwrap()
        .is_empty());

    // Legacy refunds still unsettled, sent (at 110 by the fixtures) before the cut.
    store.insert(&paid_order("legacy", 10_000)).await.unwrap();
    let mut stranded = processing_refund(store, "legacy", "stranded", None).await;
    stranded.gateway = RefundGatewayKind::MapiNoPwd;
    RefundRepository::update(store, &stranded, &[])
        .await
        .unwrap();
    stranded.version += 1;
    // The same, on the OpenAPI gateway, which has a refund query: not legacy.
    let openapi = processing_refund(store, "legacy", "openapi", None).await;
    assert_eq!(openapi.gateway, RefundGatewayKind::OpenApi);
    let found = store.unsettled_legacy_refunds(at(111)).await.unwrap();
    assert_eq!(found, vec![stranded]);
    assert!(store
        .unsettled_legacy_refunds(at(110))
        .await
        .unwrap()
        .is_empty());
}
