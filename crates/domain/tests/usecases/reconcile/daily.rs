//! The daily run over a pending day: it is asked for again once its retry is due, and
//! not before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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
