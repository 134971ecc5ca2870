//! Anomalies: an answer from Alipay that contradicts payport's own record of a refund
//! (e.g. a legacy batch line reporting another amount, PROTOCOL.md B4).
//!
//! Neither side can be assumed right, so nothing is settled: the refund keeps its
//! status and its reservation, and `last_error` says what was reported and that a
//! person must look. The background sync keeps that text (it never overwrites an
//! anomaly with "still waiting"), so the API shows it until someone acts.

use chrono::{DateTime, Utc};

use crate::error::TransitionError;
use crate::refund::{Refund, RefundStatus};

/// How every anomaly's `last_error` ends, so it can be told from an ordinary wait.
pub const NEEDS_A_PERSON: &str = "; needs a person";

impl Refund {
    /// Records an anomaly (see the module doc); the status does not change.
    ///
    /// # Errors
    /// The refund is not waiting for an outcome (`processing` or `awaiting_operator`).
    pub fn record_anomaly(
        &mut self,
        what: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if !matches!(
            self.status,
            RefundStatus::Processing | RefundStatus::AwaitingOperator
        ) {
            return Err(TransitionError::new(
                "refund",
                self.status.as_str(),
                "record an anomaly for",
            ));
        }
        self.last_error = Some(format!("{what}{NEEDS_A_PERSON}"));
        self.updated_at = now;
        Ok(())
    }

    /// Whether `last_error` is an anomaly a person must look at.
    pub fn has_anomaly(&self) -> bool {
        !self.status.is_final()
            && self
                .last_error
                .as_deref()
                .is_some_and(|e| e.ends_with(NEEDS_A_PERSON))
    }
}
