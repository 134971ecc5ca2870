//! The SQL that differs between the backends, kept in one place: row locks.
//!
//! PostgreSQL locks rows: the reservation reads the order `FOR UPDATE`, and claims take
//! due rows `FOR UPDATE SKIP LOCKED`, so concurrent claimers (other instances) pass
//! over rows another transaction holds instead of waiting for them or taking them too.
//!
//! SQLite has no row locks: these run inside `BEGIN IMMEDIATE` transactions
//! (`write_tx!`), which hold the database's only write lock from their first statement
//! to their commit. That is the SQLite equivalent of both clauses: nobody else can
//! change the order while a reservation runs, and a second claimer runs after the
//! first committed, so it sees the rows already claimed (their lease pushed forward)
//! and skips them through the `WHERE` clause.

use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::RunQueryDsl;

use crate::pool::{PgConn, SqliteConn};
use crate::schema::{orders, refunds};
use crate::time::DbTime;

pub(crate) trait Dialect {
    /// The order's `(status, total_amount)`, its row locked until the transaction ends.
    async fn lock_order(&mut self, out_trade_no: &str) -> QueryResult<Option<(String, i64)>>;

    /// Ids of `processing` refunds due for a sync at `now` (see `claims.rs`), oldest
    /// due first, at most `limit`, locked against other claimers.
    async fn claimable_refunds(
        &mut self,
        now: DbTime,
        stale_before: DbTime,
        limit: i64,
    ) -> QueryResult<Vec<String>>;

    /// Out_trade_nos of pending orders expired at `now` and not claimed by another
    /// worker, oldest expiry first, at most `limit`, locked against other claimers.
    async fn claimable_orders(&mut self, now: DbTime, limit: i64) -> QueryResult<Vec<String>>;
}

/// The filter of due refunds; `FOR UPDATE SKIP LOCKED` is appended on PostgreSQL.
/// Besides `processing` refunds due for a sync, `approved` ones untouched for a lease:
/// approval is followed at once by sending, so an old `approved` refund is one whose
/// sending never happened (a crash or an error in between) and must be sent now.
macro_rules! due_refunds {
    ($now:expr, $stale_before:expr, $limit:expr) => {
        refunds::table
            .filter(
                refunds::status
                    .eq(payport_domain::RefundStatus::Processing.as_str())
                    .and(
                        refunds::next_sync_at.le($now).or(refunds::next_sync_at
                            .is_null()
                            .and(refunds::updated_at.le($stale_before))),
                    )
                    .or(refunds::status
                        .eq(payport_domain::RefundStatus::Approved.as_str())
                        .and(refunds::updated_at.le($stale_before))
                        .and(
                            refunds::next_sync_at
                                .is_null()
                                .or(refunds::next_sync_at.le($now)),
                        )),
            )
            // NULLs sort first on SQLite and last on PostgreSQL: say where they go, so
            // both backends (and the memory store) claim the same refunds first.
            .order((
                refunds::next_sync_at.is_null().asc(),
                refunds::next_sync_at.asc(),
                refunds::refund_id.asc(),
            ))
            .limit($limit)
            .select(refunds::refund_id)
    };
}

/// The filter of expired orders; `FOR UPDATE SKIP LOCKED` is appended on PostgreSQL.
macro_rules! expired_orders {
    ($now:expr, $limit:expr) => {
        orders::table
            .filter(orders::status.eq(payport_domain::OrderStatus::Pending.as_str()))
            .filter(orders::expires_at.le($now))
            .filter(
                orders::claimed_until
                    .is_null()
                    .or(orders::claimed_until.le($now)),
            )
            .order((orders::expires_at.asc(), orders::out_trade_no.asc()))
            .limit($limit)
            .select(orders::out_trade_no)
    };
}

impl Dialect for PgConn {
    async fn lock_order(&mut self, out_trade_no: &str) -> QueryResult<Option<(String, i64)>> {
        orders::table
            .find(out_trade_no)
            .select((orders::status, orders::total_amount))
            .for_update()
            .first(self)
            .await
            .optional()
    }

    async fn claimable_refunds(
        &mut self,
        now: DbTime,
        stale_before: DbTime,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        due_refunds!(now, stale_before, limit)
            .for_update()
            .skip_locked()
            .load(self)
            .await
    }

    async fn claimable_orders(&mut self, now: DbTime, limit: i64) -> QueryResult<Vec<String>> {
        expired_orders!(now, limit)
            .for_update()
            .skip_locked()
            .load(self)
            .await
    }
}

impl Dialect for SqliteConn {
    async fn lock_order(&mut self, out_trade_no: &str) -> QueryResult<Option<(String, i64)>> {
        // Locked already: the caller's BEGIN IMMEDIATE holds the write lock.
        orders::table
            .find(out_trade_no)
            .select((orders::status, orders::total_amount))
            .first(self)
            .await
            .optional()
    }

    async fn claimable_refunds(
        &mut self,
        now: DbTime,
        stale_before: DbTime,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        due_refunds!(now, stale_before, limit).load(self).await
    }

    async fn claimable_orders(&mut self, now: DbTime, limit: i64) -> QueryResult<Vec<String>> {
        expired_orders!(now, limit).load(self).await
    }
}
