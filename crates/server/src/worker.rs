//! Background work: refunds whose outcome is unknown are synced (queried, or resent
//! with the same out_request_no), pending orders whose payment check is due are asked
//! about at Alipay (their notification may be lost), unpaid orders past their expiry
//! are closed, expired `Idempotency-Key`s are deleted. In a loop of its own (a bill of
//! thousands of lines must not hold that up), the past days' books are checked against
//! Alipay's bills: yesterday (Beijing) once `reconciliation.daily_at` passed, and any
//! of the [`LOOKBACK_DAYS`] before that no instance completed, again every 30 minutes
//! while a bill is not available.
//! Rows (and a day's reconciliation) are claimed in the database, so several
//! instances never work on one at once. When the stop signal fires, a pass takes no
//! new item and ends after the one under way; the items it had claimed and not begun
//! are taken, once their claims run out, by another instance.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use payport_domain::crash_points::{self, crash_point};
use payport_domain::ports::{Backlog, WorkKind};
use payport_domain::reconciliation::ReconciliationStatus;
use payport_domain::usecases::{beijing_date, due_date, ServiceError, RUN_LEASE};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;
use crate::telemetry::waited_secs;

/// How long a claimed row stays with this instance before another may take it.
const LEASE: Duration = Duration::from_secs(60);
const BATCH: u32 = 20;
/// How many past Beijing days the daily run looks at: a day missed while payport was
/// down, or still pending, is run once its bill is there.
pub const LOOKBACK_DAYS: i64 = 7;
/// The reconciliation loop looks at most this often: each look reads the past week's
/// reports, and a bill comes once a day.
const RECONCILIATION_POLL: Duration = Duration::from_secs(60);

/// How long an instance silent for that long is kept in `instances`: long enough
/// for a person to see which instance held a key, and no longer.
const FORGET_INSTANCES_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// One pass: sync due refunds, check due payments, close expired orders, delete
/// expired idempotency keys. Returns how many refunds and orders it took.
pub async fn run_once(state: &AppState) -> usize {
    run_pass(state, &watch::channel(false).1).await
}

/// Whether the stop signal fired: take no new item.
fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// [`run_once`], taking no new item once `stop` fires.
async fn run_pass(state: &AppState, stop: &watch::Receiver<bool>) -> usize {
    let now = state.clock.now();
    export_backlog(state, now).await;
    let mut worked = 0;
    match state.work.claim_due_refunds(now, BATCH, LEASE).await {
        Ok(refunds) => {
            claimed(WorkKind::RefundSync, refunds.len());
            if !refunds.is_empty() {
                crash_point(crash_points::WORKER_AFTER_CLAIM);
            }
            for refund in refunds {
                if stopping(stop) {
                    return worked;
                }
                worked += 1;
                if let Err(e) = state.refunds.sync(&refund.refund_id).await {
                    tracing::warn!(refund_id = %refund.refund_id, code = e.code(), "refund sync failed; will retry");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot claim refunds to sync"),
    }
    worked += check_payments(state, now, stop).await;
    if stopping(stop) {
        return worked;
    }
    match state.work.claim_expired_orders(now, BATCH, LEASE).await {
        Ok(orders) => {
            claimed(WorkKind::ExpiredOrder, orders.len());
            for order in orders {
                if stopping(stop) {
                    return worked;
                }
                worked += 1;
                if let Err(e) = state.orders.close(&order.out_trade_no).await {
                    tracing::warn!(out_trade_no = %order.out_trade_no, code = e.code(), "expired order not closed; will retry");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot claim expired orders"),
    }
    let expired_before = now - crate::api::idempotency::KEY_LIFETIME;
    if let Err(e) = state.idempotency.idempotency_purge(expired_before).await {
        tracing::warn!(error = %e, "cannot delete expired idempotency keys");
    }
    let silent_since = now - FORGET_INSTANCES_AFTER;
    if let Err(e) = state.idempotency.instances_purge(silent_since).await {
        tracing::warn!(error = %e, "cannot forget instances long silent");
    }
    worked
}

/// How much of `kind` this instance's last pass claimed: [`BATCH`] means more was due
/// than one pass takes (the queue depth says how much more).
fn claimed(kind: WorkKind, count: usize) {
    let kind = kind.as_str();
    metrics::gauge!("payport_worker_pass_claimed", "kind" => kind).set(count as f64);
    metrics::counter!("payport_worker_claimed_total", "kind" => kind).increment(count as u64);
}

/// What is due as the pass starts, by kind: how many rows, and how long the oldest
/// has waited. A depth that grows pass after pass means the worker falls behind.
async fn export_backlog(state: &AppState, now: DateTime<Utc>) {
    let backlog = match state.work.backlog(now, LEASE).await {
        Ok(backlog) => backlog,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the work backlog");
            return;
        }
    };
    for Backlog {
        kind,
        due,
        oldest_due_at,
    } in backlog
    {
        let kind = kind.as_str();
        let waited = waited_secs(now, oldest_due_at);
        metrics::gauge!("payport_worker_queue_depth", "kind" => kind).set(due as f64);
        metrics::gauge!("payport_worker_oldest_due_seconds", "kind" => kind).set(waited);
    }
}

/// The daily reconciliation pass: each of the last [`LOOKBACK_DAYS`] Beijing days up
/// to yesterday (yesterday only once `daily_at` passed) that no instance completed
/// and that is not waiting for its next attempt. Returns the days it ran.
pub async fn reconcile_due(state: &AppState) -> Vec<NaiveDate> {
    reconcile_pass(state, &watch::channel(false).1).await
}

/// [`reconcile_due`], starting no new day once `stop` fires.
async fn reconcile_pass(state: &AppState, stop: &watch::Receiver<bool>) -> Vec<NaiveDate> {
    let daily = state.daily_reconciliation;
    if !daily.enabled {
        return Vec::new();
    }
    let mut ran = Vec::new();
    for date in due_days(state.clock.now(), daily.at) {
        if stopping(stop) {
            break;
        }
        match state.reconciliations.run_claimed(date, RUN_LEASE).await {
            Ok(Some(report)) => {
                ran.push(date);
                if report.status == ReconciliationStatus::Completed {
                    tracing::info!(
                        %date,
                        mismatches = report.counts.mismatches,
                        unresolved = report.counts.unresolved,
                        "daily reconciliation completed"
                    );
                } else {
                    tracing::info!(%date, "daily reconciliation pending: the bill is not available yet");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%date, code = e.code(), error = %e, "daily reconciliation failed; will retry")
            }
        }
    }
    ran
}

/// Oldest first: the [`LOOKBACK_DAYS`] Beijing days before today, less yesterday
/// while `daily_at` has not passed (Alipay makes the bills in the morning).
fn due_days(now: DateTime<Utc>, daily_at: chrono::NaiveTime) -> Vec<NaiveDate> {
    let today = beijing_date(now);
    let newest = due_date(now, daily_at).unwrap_or(today - Days::days(2));
    (1..=LOOKBACK_DAYS)
        .rev()
        .map(|back| today - Days::days(back))
        .filter(|day| *day <= newest)
        .collect()
}

/// Asks Alipay about the pending orders whose payment check is due; each check
/// schedules the next one. Returns how many it took.
async fn check_payments(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
    stop: &watch::Receiver<bool>,
) -> usize {
    let orders = match state.work.claim_payment_checks(now, BATCH, LEASE).await {
        Ok(orders) => orders,
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim payment checks");
            return 0;
        }
    };
    claimed(WorkKind::PaymentCheck, orders.len());
    let mut checked = 0;
    for order in &orders {
        if stopping(stop) {
            break;
        }
        checked += 1;
        // The code only: the detail may quote Alipay's answer.
        match state.orders.check_payment(&order.out_trade_no).await {
            Ok(_) => {}
            Err(e @ ServiceError::GatewayDataMismatch(_)) => {
                tracing::error!(out_trade_no = %order.out_trade_no, code = e.code(), "Alipay's trade contradicts the order; its payment checks stopped, a person must look");
            }
            Err(e) => {
                tracing::warn!(out_trade_no = %order.out_trade_no, code = e.code(), "payment check failed; it is tried again later");
            }
        }
    }
    checked
}

/// Runs [`run_once`] every `interval`, and [`reconcile_due`] in a task of its own
/// every `interval` but at most once a minute, until `stop` fires; each then ends
/// after the item under way. Returns both tasks, to wait for them.
pub fn spawn(
    state: Arc<AppState>,
    interval: Duration,
    stop: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    vec![
        every(
            interval,
            stop.clone(),
            state.clone(),
            |state, stop| async move {
                run_pass(&state, &stop).await;
            },
        ),
        every(
            interval.max(RECONCILIATION_POLL),
            stop,
            state,
            |state, stop| async move {
                reconcile_pass(&state, &stop).await;
            },
        ),
    ]
}

fn every<F>(
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    state: Arc<AppState>,
    pass: impl Fn(Arc<AppState>, watch::Receiver<bool>) -> F + Send + 'static,
) -> JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            if stopping(&stop) {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => pass(state.clone(), stop.clone()).await,
                _ = stop.changed() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(beijing: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(beijing)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn day(d: &str) -> NaiveDate {
        d.parse().unwrap_or_default()
    }

    #[test]
    fn the_pass_looks_back_a_week_and_at_yesterday_once_daily_at_passed() {
        let six = chrono::NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default();
        let after = due_days(at("2026-11-21T07:00:00+08:00"), six);
        assert_eq!(after.len(), 7);
        assert_eq!(after.first(), Some(&day("2026-11-14")));
        assert_eq!(after.last(), Some(&day("2026-11-20")));
        let before = due_days(at("2026-11-21T05:59:00+08:00"), six);
        assert_eq!(before.len(), 6);
        assert_eq!(before.last(), Some(&day("2026-11-19")), "yesterday not yet");
    }
}
