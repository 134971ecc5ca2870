//! The daily run over a pending day: it is asked for again once its retry is due, and
//! not before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use payport_domain::usecases::{ServiceError, RUN_LEASE};

use super::*;

#[tokio::test]
async fn a_pending_day_is_completed_by_the_daily_run_once_its_bill_is_there() {
    let mut h = Harness::new();
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    h.bills.expect_trade_bill().returning(move |_| {
        // Not there at the first ask; there at the next.
        Ok(match count.fetch_add(1, Ordering::SeqCst) {
            0 => TradeBill::NotReady,
            _ => TradeBill::Ready(Vec::new()),
        })
    });
    let app = h.build();
    let lease = std::time::Duration::from_secs(600);
    let daily = &app.reconciliations;

    let first = daily.run_claimed(day(), lease).await.unwrap().unwrap();
    assert_eq!(first.status, ReconciliationStatus::Pending);
    assert_eq!(daily.run_claimed(day(), lease).await.unwrap(), None);
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "not asked before it is due"
    );

    // Past Beijing midnight and the retry: the day is run again, and completed.
    app.advance(PENDING_RETRY + Duration::hours(12));
    let second = daily.run_claimed(day(), lease).await.unwrap().unwrap();
    assert_eq!(second.status, ReconciliationStatus::Completed);
    assert_eq!(second.attempts, 2);
    assert_eq!(daily.run_claimed(day(), lease).await.unwrap(), None);
    assert_eq!(
        asked.load(Ordering::SeqCst),
        2,
        "a completed day is not asked again"
    );
}

/// A person's run never runs beside another run of the day (the daily one here, on
/// any instance): it is refused as running until that one is saved; then it runs,
/// and a completed day too.
#[tokio::test]
async fn a_run_by_hand_waits_for_the_run_holding_the_day() {
    let mut h = Harness::new();
    h.bills
        .expect_trade_bill()
        .returning(|_| Ok(TradeBill::Ready(Vec::new())));
    let app = h.build();
    let now = *app.now.lock().unwrap();
    let held = app
        .store
        .claim_reconciliation(day(), now, RUN_LEASE)
        .await
        .unwrap();
    assert!(held, "the daily run holds the day");
    let refused = app.reconciliations.run_by_hand(day()).await.unwrap_err();
    assert_eq!(refused, ServiceError::ReconciliationRunning(day()));
    assert_eq!(refused.code(), "RECONCILIATION_RUNNING");
    // The claim holds for the 15 minutes the README documents, then frees the day.
    app.advance(Duration::minutes(14));
    let still = app.reconciliations.run_by_hand(day()).await.unwrap_err();
    assert_eq!(still, ServiceError::ReconciliationRunning(day()));

    app.advance(Duration::minutes(2));
    let report = app.reconciliations.run_by_hand(day()).await.unwrap();
    assert_eq!(report.status, ReconciliationStatus::Completed);
    let again = app.reconciliations.run_by_hand(day()).await.unwrap();
    assert_eq!(again.attempts, 2, "a completed day runs again by hand");
}
