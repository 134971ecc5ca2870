//! Reconciliation reports, and payport's side of a day's books.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use payport_domain::ports::ReconciliationStore;
use payport_domain::reconciliation::Reconciliation;
use payport_domain::{Order, Refund, RepoError};

use crate::DieselStore;

#[async_trait]
impl ReconciliationStore for DieselStore {
    async fn get_reconciliation(
        &self,
        _date: NaiveDate,
    ) -> Result<Option<Reconciliation>, RepoError> {
        Err(todo_yet("get_reconciliation"))
    }

    async fn save_reconciliation(&self, _report: &Reconciliation) -> Result<(), RepoError> {
        Err(todo_yet("save_reconciliation"))
    }

    async fn claim_reconciliation(
        &self,
        _date: NaiveDate,
        _now: DateTime<Utc>,
        _lease: Duration,
    ) -> Result<bool, RepoError> {
        Err(todo_yet("claim_reconciliation"))
    }

    async fn orders_paid_between(
        &self,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> Result<Vec<Order>, RepoError> {
        Err(todo_yet("orders_paid_between"))
    }

    async fn refunds_succeeded_between(
        &self,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> Result<Vec<Refund>, RepoError> {
        Err(todo_yet("refunds_succeeded_between"))
    }

    async fn unsettled_legacy_refunds(
        &self,
        _before: DateTime<Utc>,
    ) -> Result<Vec<Refund>, RepoError> {
        Err(todo_yet("unsettled_legacy_refunds"))
    }
}

fn todo_yet(what: &str) -> RepoError {
    RepoError::Unavailable(format!("{what}: not implemented yet"))
}
