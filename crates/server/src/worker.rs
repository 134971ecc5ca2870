//! Background work: refunds whose outcome is unknown are synced (queried, or resent
//! with the same out_request_no), pending orders whose payment check is due are asked
//! about at Alipay (their notification may be lost), unpaid orders past their expiry
//! are closed, expired `Idempotency-Key`s are deleted, and once a day (from
//! `reconciliation.daily_at`, Beijing time) yesterday's books are checked against
//! Alipay's bill, again every 30 minutes while the bill is not available.
//! Rows (and the day's reconciliation) are claimed in the database, so several
//! instances never work on one at once.

use std::sync::Arc;
use std::time::Duration;

use payport_domain::usecases::{due_date, ServiceError};

use crate::state::AppState;

/// How long a claimed row stays with this instance before another may take it.
const LEASE: Duration = Duration::from_secs(60);
const BATCH: u32 = 20;
/// How long a claimed reconciliation stays with this instance: a bill of many
/// thousand lines, each maybe a query to Alipay, takes a while.
const RECONCILIATION_LEASE: Duration = Duration::from_secs(15 * 60);

/// One pass: sync due refunds, check due payments, close expired orders, delete
/// expired idempotency keys. Returns how many refunds and orders it took.
pub async fn run_once(state: &AppState) -> usize {
    let now = state.clock.now();
    let mut worked = 0;
    match state.work.claim_due_refunds(now, BATCH, LEASE).await {
        Ok(refunds) => {
            for refund in refunds {
                worked += 1;
                if let Err(e) = state.refunds.sync(&refund.refund_id).await {
                    tracing::warn!(refund_id = %refund.refund_id, code = e.code(), "refund sync failed; will retry");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot claim refunds to sync"),
    }
    worked += check_payments(state, now).await;
    match state.work.claim_expired_orders(now, BATCH, LEASE).await {
        Ok(orders) => {
            for order in orders {
                worked += 1;
                if let Err(e) = state.orders.close(&order.out_trade_no).await {
                    tracing::warn!(out_trade_no = %order.out_trade_no, code = e.code(), "expired order not closed; will retry");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot claim expired orders"),
    }
    reconcile_yesterday(state, now).await;
    let expired_before = now - crate::api::idempotency::KEY_LIFETIME;
    if let Err(e) = state.idempotency.idempotency_purge(expired_before).await {
        tracing::warn!(error = %e, "cannot delete expired idempotency keys");
    }
    worked
}

/// Yesterday's reconciliation (Beijing), once `daily_at` passed, if no instance ran
/// it yet or its pending report is due again.
async fn reconcile_yesterday(state: &AppState, now: chrono::DateTime<chrono::Utc>) {
    let daily = state.daily_reconciliation;
    let Some(date) = daily.enabled.then(|| due_date(now, daily.at)).flatten() else {
        return;
    };
    match state
        .reconciliations
        .run_claimed(date, RECONCILIATION_LEASE)
        .await
    {
        Ok(Some(report)) => tracing::info!(
            %date,
            status = report.status.as_str(),
            mismatches = report.counts.mismatches,
            unresolved = report.counts.unresolved,
            "daily reconciliation ran"
        ),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(%date, code = e.code(), error = %e, "daily reconciliation failed; will retry")
        }
    }
}

/// Asks Alipay about the pending orders whose payment check is due; each check
/// schedules the next one. Returns how many it took.
async fn check_payments(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> usize {
    let orders = match state.work.claim_payment_checks(now, BATCH, LEASE).await {
        Ok(orders) => orders,
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim payment checks");
            return 0;
        }
    };
    for order in &orders {
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
    orders.len()
}

/// Runs [`run_once`] every `interval` until `stop` fires.
pub fn spawn(
    state: Arc<AppState>,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => { run_once(&state).await; }
                _ = stop.changed() => return,
            }
        }
    });
}
