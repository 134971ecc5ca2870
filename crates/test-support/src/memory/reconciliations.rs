//! Reconciliation reports, and payport's side of a day's books, in memory.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use payport_domain::ports::ReconciliationStore;
use payport_domain::reconciliation::{Reconciliation, ReconciliationStatus};
use payport_domain::{Order, Refund, RefundGatewayKind, RefundStatus, RepoError};

use super::MemoryStore;
use crate::lock;

/// One date's report, and until when a daily run holds it (`claimed_until`).
#[derive(Debug, Clone)]
pub struct StoredReconciliation {
    pub report: Reconciliation,
    pub claimed_until: Option<DateTime<Utc>>,
}

#[async_trait]
impl ReconciliationStore for MemoryStore {
    async fn get_reconciliation(
        &self,
        date: NaiveDate,
    ) -> Result<Option<Reconciliation>, RepoError> {
        Ok(lock(&self.reconciliations)
            .get(&date)
            .map(|stored| stored.report.clone()))
    }

    async fn save_reconciliation(&self, report: &Reconciliation) -> Result<(), RepoError> {
        lock(&self.reconciliations).insert(
            report.date,
            StoredReconciliation {
                report: report.clone(),
                claimed_until: None,
            },
        );
        Ok(())
    }

    async fn claim_reconciliation(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, RepoError> {
        self.claim_day(date, now, lease, false)
    }

    async fn claim_reconciliation_by_hand(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, RepoError> {
        self.claim_day(date, now, lease, true)
    }

    async fn orders_paid_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Order>, RepoError> {
        let mut paid: Vec<Order> = lock(&self.orders)
            .values()
            .filter(|o| o.paid_at.is_some_and(|at| from <= at && at < to))
            .cloned()
            .collect();
        paid.sort_by(|a, b| (a.paid_at, &a.out_trade_no).cmp(&(b.paid_at, &b.out_trade_no)));
        Ok(paid)
    }

    async fn refunds_succeeded_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Refund>, RepoError> {
        let mut done: Vec<Refund> = lock(&self.refunds)
            .iter()
            .filter(|r| r.status == RefundStatus::Succeeded)
            .filter(|r| r.completed_at.is_some_and(|at| from <= at && at < to))
            .cloned()
            .collect();
        done.sort_by(|a, b| (a.completed_at, &a.refund_id).cmp(&(b.completed_at, &b.refund_id)));
        Ok(done)
    }

    async fn unsettled_legacy_refunds(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<Refund>, RepoError> {
        let sent = |r: &Refund| r.submitted_at.unwrap_or(r.created_at);
        let mut stranded: Vec<Refund> = lock(&self.refunds)
            .iter()
            .filter(|r| {
                matches!(
                    r.gateway,
                    RefundGatewayKind::MapiNoPwd | RefundGatewayKind::MapiPwd
                )
            })
            .filter(|r| {
                matches!(
                    r.status,
                    RefundStatus::Processing | RefundStatus::AwaitingOperator
                )
            })
            .filter(|r| sent(r) < before)
            .cloned()
            .collect();
        stranded.sort_by(|a, b| (sent(a), &a.refund_id).cmp(&(sent(b), &b.refund_id)));
        Ok(stranded)
    }
}

impl MemoryStore {
    /// The daily run's claim, or (`by_hand`) a person's, whatever the report says.
    fn claim_day(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        lease: Duration,
        by_hand: bool,
    ) -> Result<bool, RepoError> {
        let until = chrono::Duration::from_std(lease)
            .ok()
            .and_then(|lease| now.checked_add_signed(lease))
            .ok_or_else(|| {
                RepoError::Unavailable(format!("claim lease {lease:?} is out of range"))
            })?;
        let mut stored = lock(&self.reconciliations);
        let entry = stored.entry(date).or_insert_with(|| StoredReconciliation {
            report: Reconciliation::not_run(date, now),
            claimed_until: None,
        });
        let report = &entry.report;
        let due = report.status == ReconciliationStatus::Pending
            && report.next_attempt_at.is_none_or(|at| at <= now);
        let claimable = (by_hand || due) && entry.claimed_until.is_none_or(|until| until <= now);
        if claimable {
            entry.claimed_until = Some(until);
        }
        Ok(claimable)
    }
}
