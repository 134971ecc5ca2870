//! The SQL that differs between the backends, kept in one place: locks.
//!
//! PostgreSQL locks rows: the reservation reads the order `FOR UPDATE`, and claims take
//! due rows `FOR UPDATE SKIP LOCKED`, so concurrent claimers (other instances) pass
//! over rows another transaction holds instead of waiting for them or taking them too.
//! Writers of the outbox (events, and endpoint changes that touch deliveries) take one
//! transaction advisory lock, so events commit in the order of their `seq`.
//!
//! SQLite has no row locks: these run inside `BEGIN IMMEDIATE` transactions
//! (`write_tx!`), which hold the database's only write lock from their first statement
//! to their commit, and on one writer connection that runs one body at a time (bodies
//! committed together share a transaction, `writer.rs`). That is the SQLite equivalent
//! of both clauses: nobody else can change the order while a reservation runs, and a
//! second claimer runs after the first one's body (on the same transaction or after
//! its commit), so it sees the rows already claimed (their lease pushed forward) and
//! skips them through the `WHERE` clause.

use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::RunQueryDsl;

use crate::pool::{PgConn, SqliteConn};
use crate::schema::{orders, refunds, webhook_deliveries as deliveries, webhook_endpoints};
use crate::time::DbTime;

/// An arbitrary constant: the advisory lock that serialises outbox writers.
const PG_OUTBOX_LOCK: i64 = 0x0070_6179_6f75_7462; // "payoutb"

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

    /// Out_trade_nos of pending orders whose payment check is due at `now` (the check
    /// time is also the claim), earliest first, at most `limit`, locked against other
    /// claimers.
    async fn claimable_payment_checks(
        &mut self,
        now: DbTime,
        limit: i64,
    ) -> QueryResult<Vec<String>>;

    /// Held until the transaction ends: outbox writers run one after another. Without
    /// it, PostgreSQL could commit the event of `seq` 6 before that of `seq` 5, and a
    /// reader paging after 6 would never see 5. It also keeps a delivery from being
    /// made for an endpoint that is being deleted, unseen by the deletion.
    async fn lock_outbox(&mut self) -> QueryResult<()>;

    /// Ids of pending deliveries to active endpoints due at `now` and not claimed by
    /// another sender, oldest due first, at most `limit`, locked against other claimers.
    async fn claimable_deliveries(&mut self, now: DbTime, limit: i64) -> QueryResult<Vec<i64>>;
}

/// The filter of due refunds; `FOR UPDATE SKIP LOCKED` is appended on PostgreSQL.
/// Besides `processing` refunds due for a sync, `approved` ones untouched for a lease:
/// approval is followed at once by sending, so an old `approved` refund is one whose
/// sending never happened (a crash or an error in between) and must be sent now.
macro_rules! due_refund_rows {
    ($now:expr, $stale_before:expr) => {
        refunds::table.filter(
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
    };
}

/// `due_refund_rows!`, oldest due first, at most `$limit`.
macro_rules! due_refunds {
    ($now:expr, $stale_before:expr, $limit:expr) => {
        due_refund_rows!($now, $stale_before)
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

/// The filter of expired orders not claimed by another worker; the claim appends `FOR
/// UPDATE SKIP LOCKED` on PostgreSQL.
macro_rules! expired_order_rows {
    ($now:expr) => {
        orders::table
            .filter(orders::status.eq(payport_domain::OrderStatus::Pending.as_str()))
            .filter(orders::expires_at.le($now))
            .filter(
                orders::claimed_until
                    .is_null()
                    .or(orders::claimed_until.le($now)),
            )
    };
}

/// `expired_order_rows!`, oldest expiry first, at most `$limit`.
macro_rules! expired_orders {
    ($now:expr, $limit:expr) => {
        expired_order_rows!($now)
            .order((orders::expires_at.asc(), orders::out_trade_no.asc()))
            .limit($limit)
            .select(orders::out_trade_no)
    };
}

/// The filter of orders due for a payment check; the claim appends `FOR UPDATE SKIP
/// LOCKED` on PostgreSQL.
macro_rules! due_payment_check_rows {
    ($now:expr) => {
        orders::table
            .filter(orders::status.eq(payport_domain::OrderStatus::Pending.as_str()))
            .filter(orders::payment_check_at.le($now))
    };
}

/// `due_payment_check_rows!`, earliest first, at most `$limit`.
macro_rules! due_payment_checks {
    ($now:expr, $limit:expr) => {
        due_payment_check_rows!($now)
            .order((orders::payment_check_at.asc(), orders::out_trade_no.asc()))
            .limit($limit)
            .select(orders::out_trade_no)
    };
}

// The backlog counts what the claims would take: the same filters.
pub(crate) use {due_payment_check_rows, due_refund_rows, expired_order_rows};

/// The filter of due deliveries; `FOR UPDATE SKIP LOCKED` is appended on PostgreSQL
/// (the endpoints are a subquery, so that only delivery rows are locked).
macro_rules! due_deliveries {
    ($now:expr, $limit:expr) => {
        deliveries::table
            .filter(
                deliveries::status.eq(payport_domain::webhook::DeliveryStatus::Pending.as_str()),
            )
            .filter(deliveries::next_attempt_at.le($now))
            .filter(
                deliveries::claimed_until
                    .is_null()
                    .or(deliveries::claimed_until.le($now)),
            )
            .filter(
                deliveries::endpoint_id.eq_any(
                    webhook_endpoints::table
                        .filter(webhook_endpoints::deleted_at.is_null())
                        .select(webhook_endpoints::id),
                ),
            )
            .order((deliveries::next_attempt_at.asc(), deliveries::id.asc()))
            .limit($limit)
            .select(deliveries::id)
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

    async fn claimable_payment_checks(
        &mut self,
        now: DbTime,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        due_payment_checks!(now, limit)
            .for_update()
            .skip_locked()
            .load(self)
            .await
    }

    async fn lock_outbox(&mut self) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(PG_OUTBOX_LOCK)
            .execute(self)
            .await
            .map(drop)
    }

    async fn claimable_deliveries(&mut self, now: DbTime, limit: i64) -> QueryResult<Vec<i64>> {
        due_deliveries!(now, limit)
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

    async fn claimable_payment_checks(
        &mut self,
        now: DbTime,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        due_payment_checks!(now, limit).load(self).await
    }

    async fn lock_outbox(&mut self) -> QueryResult<()> {
        // Locked already: the caller's BEGIN IMMEDIATE holds the write lock.
        Ok(())
    }

    async fn claimable_deliveries(&mut self, now: DbTime, limit: i64) -> QueryResult<Vec<i64>> {
        due_deliveries!(now, limit).load(self).await
    }
}
