//! The SQL that differs between the backends, kept in one place: locks.
//!
//! PostgreSQL locks rows: the reservation reads the order `FOR UPDATE`, and claims take
//! due rows `FOR UPDATE SKIP LOCKED`, so concurrent claimers (other instances) pass
//! over rows another transaction holds instead of waiting for them or taking them too.
//! Writers of the outbox share one transaction advisory lock, which endpoint deletion
//! takes exclusively: no delivery is made for an endpoint being deleted, unseen by the
//! deletion, yet event writers never wait for each other (their commits can be grouped).
//! So events may commit out of `seq` order; readers follow the rule of
//! [`SETTLED_EVENTS`] instead.
//!
//! SQLite has no row locks: these run inside `BEGIN IMMEDIATE` transactions
//! (`write_tx!`), which hold the database's only write lock from their first statement
//! to their commit, and on one writer connection that runs one body at a time (bodies
//! committed together share a transaction, `writer.rs`). That is the SQLite equivalent
//! of both clauses: nobody else can change the order while a reservation runs, and a
//! second claimer runs after the first one's body (on the same transaction or after
//! its commit), so it sees the rows already claimed (their lease pushed forward) and
//! skips them through the `WHERE` clause. It also commits events in `seq` order,
//! so their `tx` is a constant 0 and readers need no rule.

use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::RunQueryDsl;

use crate::by_sql::CacheBySql;
use crate::pool::{PgConn, SqliteConn};
use crate::schema::{orders, refunds, webhook_deliveries as deliveries, webhook_endpoints};
use crate::time::DbTime;

/// An arbitrary constant: the advisory lock of outbox writers.
const PG_OUTBOX_LOCK: i64 = 0x0070_6179_6f75_7462; // "payoutb"

/// How an outbox writer holds the outbox lock (see [`Dialect::lock_outbox`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutboxLock {
    /// Writers of events and their deliveries: they do not block each other.
    Shared,
    /// Whoever must see no writer in flight: endpoint deletion, redelivery.
    Exclusive,
}

/// PostgreSQL: the events a reader may list, as SQL over `events.tx`: those of
/// transactions that ended before every transaction that can still write an event
/// began. Events are listed by `(tx, seq)`; `tx` is the writing transaction's id, which
/// PostgreSQL hands out in order, and an id below the bound belongs to a transaction
/// that has ended, so no event can later commit before a position a reader was given.
///
/// The bound is the lowest id the reader's snapshot sees running (its xmin), except
/// transactions that `pg_stat_activity` shows running in ANOTHER database of the
/// server: they cannot write these events, and tests (or other services) sharing the
/// server would otherwise hold this database's list back. A transaction that ended
/// after the snapshot is no longer shown and so still counts: the bound is never too
/// high. A long transaction in this database holds the list back until it ends.
pub(crate) const SETTLED_EVENTS: &str = "events.tx < COALESCE( \
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x \
     WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a \
         WHERE a.backend_xid = x::xid AND a.datname <> current_database())), \
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint)";

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

    /// Held until the transaction ends: event writers share it, and whoever takes it
    /// exclusively waits for them to end and holds off new ones. Endpoint deletion
    /// takes it exclusively, so that no delivery is made for an endpoint being deleted,
    /// unseen by the deletion. (It no longer orders events: see [`SETTLED_EVENTS`].)
    async fn lock_outbox(&mut self, how: OutboxLock) -> QueryResult<()>;

    /// The events a reader may list: all of them on SQLite, [`SETTLED_EVENTS`] on
    /// PostgreSQL, as a filter on the events query.
    fn settled_events() -> Option<&'static str>;

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

/// The filter of due deliveries; the claim appends `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL (the endpoints are a subquery, so that only delivery rows are locked).
macro_rules! due_delivery_rows {
    ($now:expr) => {
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
    };
}

/// `due_delivery_rows!`, oldest due first, at most `$limit`.
macro_rules! due_deliveries {
    ($now:expr, $limit:expr) => {
        due_delivery_rows!($now)
            .order((deliveries::next_attempt_at.asc(), deliveries::id.asc()))
            .limit($limit)
            .select(deliveries::id)
    };
}

// The backlogs count what the claims would take: the same filters.
pub(crate) use {due_delivery_rows, due_payment_check_rows, due_refund_rows, expired_order_rows};

impl Dialect for PgConn {
    async fn lock_order(&mut self, out_trade_no: &str) -> QueryResult<Option<(String, i64)>> {
        orders::table
            .find(out_trade_no)
            .select((orders::status, orders::total_amount))
            .for_update()
            .get_result(self)
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

    async fn lock_outbox(&mut self, how: OutboxLock) -> QueryResult<()> {
        let sql = match how {
            OutboxLock::Shared => "SELECT pg_advisory_xact_lock_shared($1)",
            OutboxLock::Exclusive => "SELECT pg_advisory_xact_lock($1)",
        };
        // One of two fixed texts: prepared once per connection.
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::BigInt, _>(PG_OUTBOX_LOCK)
            .by_sql()
            .execute(self)
            .await
            .map(drop)
    }

    fn settled_events() -> Option<&'static str> {
        Some(SETTLED_EVENTS)
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
            .get_result(self)
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

    async fn lock_outbox(&mut self, _how: OutboxLock) -> QueryResult<()> {
        // Locked already: the caller's BEGIN IMMEDIATE holds the write lock.
        Ok(())
    }

    fn settled_events() -> Option<&'static str> {
        // One writer at a time: events commit in `seq` order (and `tx` is 0).
        None
    }

    async fn claimable_deliveries(&mut self, now: DbTime, limit: i64) -> QueryResult<Vec<i64>> {
        due_deliveries!(now, limit).load(self).await
    }
}
