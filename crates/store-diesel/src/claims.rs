//! Claiming background work, so that several payport instances never process the same
//! row at once: refunds to sync, orders to expire, and pending orders whose payment
//! is to be checked at Alipay.
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
use payport_domain::ports::{Backlog, WorkKind, WorkQueue};
use payport_domain::{Order, OrderStatus, OutTradeNo, Refund, RepoError};

use crate::dialect::{due_payment_check_rows, due_refund_rows, expired_order_rows, Dialect};
use crate::error::{db_error, Abort};
use crate::orders::{to_orders, OrderQueries};
use crate::pool::{with_conn, write_conn, write_tx};
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
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Order>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (until, _) = lease_window(now, lease)?;
        let (nos, rows) = write_tx!(self, |conn| {
            let nos = conn
                .claimable_payment_checks(DbTime(now), i64::from(limit))
                .await?;
            if nos.is_empty() {
                return Ok((nos, Vec::new()));
            }
            // The check time is the claim: no version bump, so a save racing the
            // claim is not refused for it.
            diesel::update(orders::table.filter(orders::out_trade_no.eq_any(&nos)))
                .set(orders::payment_check_at.eq(until))
                .execute(conn)
                .await?;
            let rows = conn.orders_by_nos(&nos).await?;
            Ok((nos, rows))
        })
        .map_err(|e: Abort<RepoError>| e.into_repo("claim payment checks"))?;
        let mut claimed = to_orders(rows)?;
        // All now share one check time: keep the order they were due in.
        claimed.sort_by_key(|o| nos.iter().position(|n| n == o.out_trade_no.as_str()));
        Ok(claimed)
    }

    async fn backlog(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<Backlog>, RepoError> {
        let (_, stale_before) = lease_window(now, lease)?;
        let now = DbTime(now);
        // A few plain reads, no transaction: a gauge may be a moment stale, and
        // nothing here should wait on (or hold up) the writers.
        let counted = with_conn!(self, |conn| {
            async {
                let refunds_due: i64 = due_refund_rows!(now, stale_before)
                    .count()
                    .get_result(conn)
                    .await?;
                let next_sync: Option<Option<DbTime>> = due_refund_rows!(now, stale_before)
                    .filter(refunds::next_sync_at.is_not_null())
                    .select(refunds::next_sync_at)
                    .order(refunds::next_sync_at.asc())
                    .first(conn)
                    .await
                    .optional()?;
                let abandoned: Option<DbTime> = due_refund_rows!(now, stale_before)
                    .filter(refunds::next_sync_at.is_null())
                    .select(refunds::updated_at)
                    .order(refunds::updated_at.asc())
                    .first(conn)
                    .await
                    .optional()?;
                let checks_due: i64 = due_payment_check_rows!(now)
                    .count()
                    .get_result(conn)
                    .await?;
                let oldest_check: Option<Option<DbTime>> = due_payment_check_rows!(now)
                    .select(orders::payment_check_at)
                    .order(orders::payment_check_at.asc())
                    .first(conn)
                    .await
                    .optional()?;
                let expired_due: i64 = expired_order_rows!(now).count().get_result(conn).await?;
                let oldest_expired: Option<DbTime> = expired_order_rows!(now)
                    .select(orders::expires_at)
                    .order(orders::expires_at.asc())
                    .first(conn)
                    .await
                    .optional()?;
                diesel::QueryResult::Ok((
                    (refunds_due, next_sync.flatten(), abandoned),
                    (checks_due, oldest_check.flatten()),
                    (expired_due, oldest_expired),
                ))
            }
            .await
        })
        .map_err(|e| db_error("read the work backlog", e))?;
        let ((refunds_due, next_sync, abandoned), (checks_due, oldest_check), expired) = counted;
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let abandoned = abandoned.and_then(|t| t.0.checked_add_signed(lease));
        let oldest_sync = next_sync.map(|t| t.0).into_iter().chain(abandoned).min();
        let backlog = |kind, due: i64, oldest_due_at| Backlog {
            kind,
            due: u64::try_from(due).unwrap_or(0),
            oldest_due_at,
        };
        Ok(vec![
            backlog(WorkKind::RefundSync, refunds_due, oldest_sync),
            backlog(
                WorkKind::PaymentCheck,
                checks_due,
                oldest_check.map(|t| t.0),
            ),
            backlog(WorkKind::ExpiredOrder, expired.0, expired.1.map(|t| t.0)),
        ])
    }

    async fn schedule_payment_check(
        &self,
        out_trade_no: &OutTradeNo,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), RepoError> {
        let pending = OrderStatus::Pending.as_str();
        write_conn!(self, |conn| {
            diesel::update(
                orders::table
                    .filter(orders::out_trade_no.eq(out_trade_no.as_str()))
                    .filter(orders::status.eq(pending)),
            )
            .set(orders::payment_check_at.eq(at.map(DbTime)))
            .execute(conn)
            .await
        })
        .map(drop)
        .map_err(|e| db_error(format_args!("schedule payment check of {out_trade_no}"), e))
    }
}
