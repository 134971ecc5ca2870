//! Claiming background work, so that several payport instances never process the same
//! row at once: refunds to sync and orders to expire.
//!
//! A claim is one write transaction that selects due rows (PostgreSQL: `FOR UPDATE
//! SKIP LOCKED`, so concurrent claimers pass over each other's rows; SQLite: inside
//! `BEGIN IMMEDIATE`, which runs claimers one after the other; see `dialect.rs`) and
//! pushes them out of reach for `lease` before committing. A worker that dies holding a
//! claim loses it when the lease runs out, and the row is due again.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::ports::WorkQueue;
use payport_domain::{Order, Refund, RepoError};

use crate::dialect::Dialect;
use crate::error::Abort;
use crate::orders::{to_orders, OrderQueries};
use crate::pool::write_tx;
use crate::refunds::{to_refunds, RefundQueries};
use crate::schema::{orders, refunds};
use crate::time::DbTime;
use crate::DieselStore;

pub(crate) fn lease_window(
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<(DbTime, DbTime), RepoError> {
    let out_of_range = || RepoError::Unavailable(format!("claim lease {lease:?} is out of range"));
    let lease = chrono::Duration::from_std(lease).map_err(|_| out_of_range())?;
    let until = now.checked_add_signed(lease).ok_or_else(out_of_range)?;
    let stale_before = now.checked_sub_signed(lease).ok_or_else(out_of_range)?;
    Ok((DbTime(until), DbTime(stale_before)))
}

#[async_trait]
impl WorkQueue for DieselStore {
    async fn claim_due_refunds(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Refund>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (until, stale_before) = lease_window(now, lease)?;
        let rows = write_tx!(self, |conn| {
            let ids = conn
                .claimable_refunds(DbTime(now), stale_before, i64::from(limit))
                .await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            diesel::update(refunds::table.filter(refunds::refund_id.eq_any(&ids)))
                .set((
                    refunds::next_sync_at.eq(until),
                    refunds::version.eq(refunds::version + 1),
                ))
                .execute(conn)
                .await?;
            Ok(conn.refunds_by_ids(&ids).await?)
        })
        .map_err(|e: Abort<RepoError>| e.into_repo("claim due refunds"))?;
        to_refunds(rows)
    }

    async fn claim_expired_orders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Order>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (until, _) = lease_window(now, lease)?;
        let rows = write_tx!(self, |conn| {
            let nos = conn.claimable_orders(DbTime(now), i64::from(limit)).await?;
            if nos.is_empty() {
                return Ok(Vec::new());
            }
            diesel::update(orders::table.filter(orders::out_trade_no.eq_any(&nos)))
                .set(orders::claimed_until.eq(until))
                .execute(conn)
                .await?;
            Ok(conn.orders_by_nos(&nos).await?)
        })
        .map_err(|e: Abort<RepoError>| e.into_repo("claim expired orders"))?;
        to_orders(rows)
    }

    async fn claim_payment_checks(
        &self,
        _now: DateTime<Utc>,
        _limit: u32,
        _lease: Duration,
    ) -> Result<Vec<Order>, RepoError> {
        Err(RepoError::Unavailable(
            "claim_payment_checks: not implemented yet".into(),
        ))
    }

    async fn schedule_payment_check(
        &self,
        _out_trade_no: &payport_domain::OutTradeNo,
        _at: Option<DateTime<Utc>>,
    ) -> Result<(), RepoError> {
        Err(RepoError::Unavailable(
            "schedule_payment_check: not implemented yet".into(),
        ))
    }
}
