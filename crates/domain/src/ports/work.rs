//! Background work shared by every instance: refunds to sync, orders to expire, and
//! pending orders to ask Alipay about (their payment notification may be lost).
//!
//! A claim takes due rows out of other claimers' reach for a lease. A worker that dies
//! holding a claim loses it when the lease runs out, and the row is due again, so any
//! number of instances share the work and none is lost.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::RepoError;
use crate::ids::OutTradeNo;
use crate::order::Order;
use crate::refund::Refund;

/// A kind of background work, one per claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkKind {
    /// [`WorkQueue::claim_due_refunds`].
    RefundSync,
    /// [`WorkQueue::claim_payment_checks`].
    PaymentCheck,
    /// [`WorkQueue::claim_expired_orders`].
    ExpiredOrder,
}

impl WorkKind {
    pub const ALL: [WorkKind; 3] = [
        WorkKind::RefundSync,
        WorkKind::PaymentCheck,
        WorkKind::ExpiredOrder,
    ];

    /// The stable name, as in metrics labels.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::RefundSync => "refund_sync",
            WorkKind::PaymentCheck => "payment_check",
            WorkKind::ExpiredOrder => "expired_order",
        }
    }
}

/// How much of one kind of work is due: what its claim would take now, with no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub kind: WorkKind,
    pub due: u64,
    /// When the longest-waiting due row became due (`None` when nothing is): its
    /// `next_sync_at`, `payment_check_at` or `expires_at`; for a refund without a sync
    /// time, when it was last touched plus the lease (when it counted as abandoned).
    pub oldest_due_at: Option<DateTime<Utc>>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Claims up to `limit` refunds to sync with Alipay, oldest due first, as they are
    /// after the claim.
    ///
    /// Due means `processing` with `next_sync_at <= now`; `processing` with no
    /// `next_sync_at` and untouched for `lease` (a submission that crashed between
    /// saving `processing` and recording the gateway's answer); or `approved` and
    /// untouched for `lease` (approval is followed at once by sending, so such a refund
    /// was never sent). Refunds with a `next_sync_at` come first, oldest first, then
    /// those without one. Claiming sets
    /// `next_sync_at = now + lease` and bumps `version`, so a stale copy elsewhere
    /// cannot undo the claim.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`]; a corrupt row (then nothing is claimed).
    async fn claim_due_refunds(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Refund>, RepoError>;

    /// Claims up to `limit` pending orders whose payment time ran out (`expires_at <=
    /// now`), oldest expiry first. The claim leaves the order's `version` alone; a
    /// claimed order is skipped by other claimers until `now + lease`.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`]; a corrupt row (then nothing is claimed).
    async fn claim_expired_orders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Order>, RepoError>;

    /// Claims up to `limit` `pending` orders whose `payment_check_at <= now`, earliest
    /// first, as they are after the claim. Claiming sets `payment_check_at = now +
    /// lease` and leaves `version` alone (a claim is not a change anyone sees), so a
    /// worker that dies holding one loses it when the lease runs out.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`]; a corrupt row (then nothing is claimed).
    async fn claim_payment_checks(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Order>, RepoError>;

    /// The backlog of each kind, in [`WorkKind::ALL`]'s order: the rows the matching
    /// claim at `now` with `lease` would take if it had no limit (rows claimed by
    /// others are not due, as for the claim). It reads only; it claims nothing.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn backlog(&self, now: DateTime<Utc>, lease: Duration)
        -> Result<Vec<Backlog>, RepoError>;

    /// Sets when the order's payment is next checked (`None`: never again), and only
    /// that: `version` stays, so it never conflicts with a save. An order that is no
    /// longer `pending` is left alone (it needs no more checks).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`]. An order that does not exist is not an error.
    async fn schedule_payment_check(
        &self,
        out_trade_no: &OutTradeNo,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), RepoError>;
}
