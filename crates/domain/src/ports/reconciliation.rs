//! Where reconciliation reports are kept, and the reads that give payport's side of a
//! day's books.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::RepoError;
use crate::order::Order;
use crate::reconciliation::Reconciliation;
use crate::refund::Refund;

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReconciliationStore: Send + Sync {
    /// # Errors
    /// [`RepoError::Unavailable`]; a corrupt row.
    async fn get_reconciliation(
        &self,
        date: NaiveDate,
    ) -> Result<Option<Reconciliation>, RepoError>;

    /// Stores the report of `report.date`, replacing any earlier one (items included),
    /// and releases a claim on that date.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn save_reconciliation(&self, report: &Reconciliation) -> Result<(), RepoError>;

    /// Claims the daily run of `date` for `lease`, so that one instance runs it: `true`
    /// when there is no report for `date` yet, or a `pending` one whose
    /// `next_attempt_at <= now`, and no other claim on it is still running. A completed
    /// report is never claimed.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn claim_reconciliation(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, RepoError>;

    /// Claims `date` for `lease` for a run a person asked for (the API, `payport
    /// reconcile`): whatever its report says, a completed day included, but not while
    /// another claim on it (the daily run's, or another person's) is still running.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn claim_reconciliation_by_hand(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, RepoError>;

    /// Orders whose `paid_at` is in `[from, to)`, whatever their status now, oldest
    /// payment first.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn orders_paid_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Order>, RepoError>;

    /// `succeeded` refunds (external ones included) whose `completed_at` is in
    /// `[from, to)`, oldest first.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn refunds_succeeded_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Refund>, RepoError>;

    /// Legacy refunds (gateway `mapi_nopwd` or `mapi_pwd`) still `processing` or
    /// `awaiting_operator` first sent before `before` (`submitted_at`, or `created_at`
    /// when it has none), oldest first: sent long ago and never settled.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn unsettled_legacy_refunds(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<Refund>, RepoError>;
}
