//! [`ReconciliationStore`]: one report per Beijing date (`reconciliations`, with its
//! items in `reconciliation_items`), the daily run's claim on a date, and the reads
//! that give payport's side of a day's books.
//!
//! A save replaces the report and all its items in one write transaction. A claim is
//! one write transaction too: the row is inserted if missing, then taken by an update
//! whose `WHERE` says what is claimable. On PostgreSQL a second claimer's update
//! waits for the first's row lock and then re-checks that `WHERE` against the
//! committed row, so it finds the claim and takes nothing; on SQLite `BEGIN IMMEDIATE`
//! runs the claimers one after the other.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::ports::ReconciliationStore;
use payport_domain::reconciliation::{
    ItemAction, ItemKind, Reconciliation, ReconciliationCounts, ReconciliationItem,
    ReconciliationStatus,
};
use payport_domain::{Amount, Order, Refund, RefundGatewayKind, RefundStatus, RepoError};

use crate::claims::lease_window;
use crate::error::{corrupt, db_error, Abort};
use crate::orders::{to_orders, OrderRow};
use crate::pool::{for_each_backend, with_conn, write_tx};
use crate::refunds::{to_refunds, RefundRow};
use crate::schema::{orders, reconciliation_items as items, reconciliations as reports, refunds};
use crate::time::DbTime;
use crate::DieselStore;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = reports)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ReportRow {
    date: String,
    #[diesel(embed)]
    changes: ReportChanges,
}

/// What a save rewrites: all but the date. `None` writes NULL.
#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = reports, treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ReportChanges {
    status: String,
    alipay_payments: i64,
    alipay_refunds: i64,
    payport_payments: i64,
    payport_refunds: i64,
    matched: i64,
    mismatches: i64,
    unresolved: i64,
    last_error: Option<String>,
    attempts: i64,
    next_attempt_at: Option<DbTime>,
    claimed_until: Option<DbTime>,
    created_at: DbTime,
    updated_at: DbTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = items)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ItemRow {
    date: String,
    position: i64,
    kind: String,
    out_trade_no: String,
    out_request_no: Option<String>,
    alipay_amount: Option<i64>,
    payport_amount: Option<i64>,
    action: String,
    note: Option<String>,
}

fn date_key(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The row of `report`, released from any claim.
fn report_row(report: &Reconciliation) -> ReportRow {
    let c = &report.counts;
    ReportRow {
        date: date_key(report.date),
        changes: ReportChanges {
            status: report.status.as_str().to_owned(),
            alipay_payments: c.alipay_payments.into(),
            alipay_refunds: c.alipay_refunds.into(),
            payport_payments: c.payport_payments.into(),
            payport_refunds: c.payport_refunds.into(),
            matched: c.matched.into(),
            mismatches: c.mismatches.into(),
            unresolved: c.unresolved.into(),
            last_error: report.last_error.clone(),
            attempts: report.attempts.into(),
            next_attempt_at: report.next_attempt_at.map(DbTime),
            claimed_until: None,
            created_at: report.created_at.into(),
            updated_at: report.updated_at.into(),
        },
    }
}

fn item_rows(report: &Reconciliation) -> Vec<ItemRow> {
    (0_i64..)
        .zip(&report.items)
        .map(|(position, item)| ItemRow {
            date: date_key(report.date),
            position,
            kind: item.kind.as_str().to_owned(),
            out_trade_no: item.out_trade_no.clone(),
            out_request_no: item.out_request_no.clone(),
            alipay_amount: item.alipay_amount.map(Amount::fen),
            payport_amount: item.payport_amount.map(Amount::fen),
            action: item.action.as_str().to_owned(),
            note: item.note.clone(),
        })
        .collect()
}

fn to_report(row: ReportRow, item_rows: Vec<ItemRow>) -> Result<Reconciliation, RepoError> {
    let bad = |what: &str, value: &dyn std::fmt::Display| {
        corrupt(format!(
            "reconciliations.{what} = {value} (date {:?})",
            row.date
        ))
    };
    let count = |what: &str, n: i64| u32::try_from(n).map_err(|_| bad(what, &n));
    let amount = |what: &str, fen: Option<i64>| {
        fen.map(|f| Amount::from_fen(f).ok_or_else(|| bad(what, &f)))
            .transpose()
    };
    let c = &row.changes;
    let items = item_rows
        .into_iter()
        .map(|i| {
            Ok(ReconciliationItem {
                kind: ItemKind::parse(&i.kind).ok_or_else(|| bad("items.kind", &i.kind))?,
                alipay_amount: amount("items.alipay_amount", i.alipay_amount)?,
                payport_amount: amount("items.payport_amount", i.payport_amount)?,
                action: ItemAction::parse(&i.action)
                    .ok_or_else(|| bad("items.action", &i.action))?,
                out_trade_no: i.out_trade_no,
                out_request_no: i.out_request_no,
                note: i.note,
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    Ok(Reconciliation {
        date: NaiveDate::parse_from_str(&row.date, "%Y-%m-%d").map_err(|e| bad("date", &e))?,
        status: ReconciliationStatus::parse(&c.status).ok_or_else(|| bad("status", &c.status))?,
        counts: ReconciliationCounts {
            alipay_payments: count("alipay_payments", c.alipay_payments)?,
            alipay_refunds: count("alipay_refunds", c.alipay_refunds)?,
            payport_payments: count("payport_payments", c.payport_payments)?,
            payport_refunds: count("payport_refunds", c.payport_refunds)?,
            matched: count("matched", c.matched)?,
            mismatches: count("mismatches", c.mismatches)?,
            unresolved: count("unresolved", c.unresolved)?,
        },
        items,
        last_error: c.last_error.clone(),
        attempts: count("attempts", c.attempts)?,
        next_attempt_at: c.next_attempt_at.map(|t| t.0),
        created_at: c.created_at.0,
        updated_at: c.updated_at.0,
    })
}

trait ReportQueries {
    async fn report(&mut self, date: &str) -> QueryResult<Option<(ReportRow, Vec<ItemRow>)>>;
    /// Call inside a write transaction.
    async fn replace_report(&mut self, report: &Reconciliation) -> QueryResult<()>;
    /// Call inside a write transaction. `by_hand`: whatever the report says.
    async fn claim_report(
        &mut self,
        date: NaiveDate,
        now: DbTime,
        until: DbTime,
        by_hand: bool,
    ) -> QueryResult<bool>;
    async fn paid_between(&mut self, from: DbTime, to: DbTime) -> QueryResult<Vec<OrderRow>>;
    async fn refunded_between(&mut self, from: DbTime, to: DbTime) -> QueryResult<Vec<RefundRow>>;
    async fn legacy_unsettled(&mut self, before: DbTime) -> QueryResult<Vec<RefundRow>>;
}

for_each_backend! {
    impl ReportQueries {
        async fn report(&mut self, date: &str) -> QueryResult<Option<(ReportRow, Vec<ItemRow>)>> {
            let Some(row) = reports::table
                .find(date)
                .select(ReportRow::as_select())
                .get_result(self)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            let listed = items::table
                .filter(items::date.eq(date))
                .order(items::position.asc())
                .select(ItemRow::as_select())
                .load(self)
                .await?;
            Ok(Some((row, listed)))
        }

        async fn replace_report(&mut self, report: &Reconciliation) -> QueryResult<()> {
            let row = report_row(report);
            diesel::insert_into(reports::table)
                .values(&row)
                .on_conflict(reports::date)
                .do_update()
                .set(&row.changes)
                .execute(self)
                .await?;
            diesel::delete(items::table.filter(items::date.eq(&row.date)))
                .execute(self)
                .await?;
            for item in item_rows(report) {
                diesel::insert_into(items::table).values(&item).execute(self).await?;
            }
            Ok(())
        }

        async fn claim_report(
            &mut self,
            date: NaiveDate,
            now: DbTime,
            until: DbTime,
            by_hand: bool,
        ) -> QueryResult<bool> {
            diesel::insert_into(reports::table)
                .values(report_row(&Reconciliation::not_run(date, now.0)))
                .on_conflict_do_nothing()
                .execute(self)
                .await?;
            let unclaimed = reports::table
                .find(date_key(date))
                .filter(reports::claimed_until.is_null().or(reports::claimed_until.le(now)));
            let claimed = if by_hand {
                diesel::update(unclaimed)
                    .set(reports::claimed_until.eq(until))
                    .execute(self)
                    .await?
            } else {
                diesel::update(
                    unclaimed
                        .filter(reports::status.eq(ReconciliationStatus::Pending.as_str()))
                        .filter(
                            reports::next_attempt_at.is_null().or(reports::next_attempt_at.le(now)),
                        ),
                )
                .set(reports::claimed_until.eq(until))
                .execute(self)
                .await?
            };
            Ok(claimed == 1)
        }

        async fn paid_between(&mut self, from: DbTime, to: DbTime) -> QueryResult<Vec<OrderRow>> {
            orders::table
                .filter(orders::paid_at.ge(from))
                .filter(orders::paid_at.lt(to))
                .order((orders::paid_at.asc(), orders::out_trade_no.asc()))
                .select(OrderRow::as_select())
                .load(self)
                .await
        }

        async fn refunded_between(
            &mut self,
            from: DbTime,
            to: DbTime,
        ) -> QueryResult<Vec<RefundRow>> {
            refunds::table
                .filter(refunds::status.eq(RefundStatus::Succeeded.as_str()))
                .filter(refunds::completed_at.ge(from))
                .filter(refunds::completed_at.lt(to))
                .order((refunds::completed_at.asc(), refunds::refund_id.asc()))
                .select(RefundRow::as_select())
                .load(self)
                .await
        }

        async fn legacy_unsettled(&mut self, before: DbTime) -> QueryResult<Vec<RefundRow>> {
            let legacy = [RefundGatewayKind::MapiNoPwd, RefundGatewayKind::MapiPwd].map(|g| g.as_str());
            let unsettled = [RefundStatus::Processing, RefundStatus::AwaitingOperator]
                .map(|s| s.as_str());
            refunds::table
                .filter(refunds::gateway.eq_any(legacy))
                .filter(refunds::status.eq_any(unsettled))
                .filter(
                    refunds::submitted_at.lt(before).or(refunds::submitted_at
                        .is_null()
                        .and(refunds::created_at.lt(before))),
                )
                .select(RefundRow::as_select())
                .load(self)
                .await
        }
    }
}

#[async_trait]
impl ReconciliationStore for DieselStore {
    async fn get_reconciliation(
        &self,
        date: NaiveDate,
    ) -> Result<Option<Reconciliation>, RepoError> {
        let key = date_key(date);
        with_conn!(self, |conn| conn.report(&key).await)
            .map_err(|e| db_error(format_args!("read reconciliation {key}"), e))?
            .map(|(row, listed)| to_report(row, listed))
            .transpose()
    }

    async fn save_reconciliation(&self, report: &Reconciliation) -> Result<(), RepoError> {
        write_tx!(self, |conn| Ok(conn.replace_report(report).await?)).map_err(
            |e: Abort<RepoError>| e.into_repo(format_args!("save reconciliation {}", report.date)),
        )
    }

    async fn claim_reconciliation(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, RepoError> {
        self.claim_day(date, now, lease, false).await
    }

    async fn claim_reconciliation_by_hand(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, RepoError> {
        self.claim_day(date, now, lease, true).await
    }

    async fn orders_paid_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Order>, RepoError> {
        let rows = with_conn!(self, |conn| conn
            .paid_between(DbTime(from), DbTime(to))
            .await)
        .map_err(|e| db_error("read orders paid in a day", e))?;
        to_orders(rows)
    }

    async fn refunds_succeeded_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Refund>, RepoError> {
        let rows = with_conn!(self, |conn| conn
            .refunded_between(DbTime(from), DbTime(to))
            .await)
        .map_err(|e| db_error("read refunds succeeded in a day", e))?;
        to_refunds(rows)
    }

    async fn unsettled_legacy_refunds(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<Refund>, RepoError> {
        let rows = with_conn!(self, |conn| conn.legacy_unsettled(DbTime(before)).await)
            .map_err(|e| db_error("read unsettled legacy refunds", e))?;
        let mut stranded = to_refunds(rows)?;
        // Oldest sent first; the filter's "sent" is submitted_at, else created_at.
        let sent = |r: &Refund| r.submitted_at.unwrap_or(r.created_at);
        stranded.sort_by(|a, b| (sent(a), &a.refund_id).cmp(&(sent(b), &b.refund_id)));
        Ok(stranded)
    }
}

impl DieselStore {
    /// The daily run's claim, or (`by_hand`) a person's, in one write transaction.
    async fn claim_day(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
        lease: Duration,
        by_hand: bool,
    ) -> Result<bool, RepoError> {
        let (until, _) = lease_window(now, lease)?;
        write_tx!(self, |conn| Ok(conn
            .claim_report(date, DbTime(now), until, by_hand)
            .await?))
        .map_err(|e: Abort<RepoError>| e.into_repo(format_args!("claim reconciliation {date}")))
    }
}
