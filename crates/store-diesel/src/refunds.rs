//! Refunds: rows, their mapping to [`Refund`], and [`RefundRepository`] (the
//! reservation itself is in `reserve.rs`, recording an external refund in
//! `external.rs`).
//!
//! `update` writes every mutable field, conditional on the stored `version` and on the
//! fields that must never change once reserved (`out_trade_no`, `out_request_no`,
//! `amount`: changing the amount would bypass the over-refund check).
//! `refund_id` and `created_at` are never rewritten.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::event::NewEvent;
use payport_domain::ports::{
    check_refund_of_order, Page, RefundFilter, RefundRepository, ReserveError,
};
use payport_domain::refund::NewRefund;
use payport_domain::EventId;
use payport_domain::{
    Amount, BatchNo, GatewayFailure, Order, OutRequestNo, OutTradeNo, Refund, RefundGatewayKind,
    RefundId, RefundStatus, RepoError,
};

use crate::by_sql::CacheBySql;
use crate::error::{corrupt, db_error, Abort};
use crate::orders::OrderQueries;
use crate::outbox::{OutboxQueries, Written};
use crate::page::{Cursor, PageRequest};
use crate::pool::{for_each_backend, with_conn, write_conn, write_tx};
use crate::schema::refunds;
use crate::time::DbTime;
use crate::DieselStore;

/// A refund as read from the database.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refunds)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct RefundRow {
    refund_id: String,
    out_trade_no: String,
    out_request_no: String,
    amount: i64,
    reason: Option<String>,
    gateway: String,
    status: String,
    failure_code: Option<String>,
    failure_sub_code: Option<String>,
    failure_message: Option<String>,
    last_error: Option<String>,
    rejection_reason: Option<String>,
    refund_fee: Option<i64>,
    batch_no: Option<String>,
    operator_form_html: Option<String>,
    attempts: i64,
    created_at: DbTime,
    updated_at: DbTime,
    submitted_at: Option<DbTime>,
    completed_at: Option<DbTime>,
    next_sync_at: Option<DbTime>,
    version: i64,
    external: bool,
}

/// A new refund's row.
#[derive(Insertable)]
#[diesel(table_name = refunds)]
struct NewRefundRow<'a> {
    refund_id: &'a str,
    out_trade_no: &'a str,
    out_request_no: &'a str,
    amount: i64,
    #[diesel(embed)]
    changes: RefundChanges<'a>,
    created_at: DbTime,
    external: bool,
}

/// What an update may change. `None` writes NULL.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = refunds, treat_none_as_null = true)]
struct RefundChanges<'a> {
    reason: Option<&'a str>,
    gateway: &'a str,
    status: &'a str,
    failure_code: Option<&'a str>,
    failure_sub_code: Option<&'a str>,
    failure_message: Option<&'a str>,
    last_error: Option<&'a str>,
    rejection_reason: Option<&'a str>,
    refund_fee: Option<i64>,
    batch_no: Option<&'a str>,
    operator_form_html: Option<&'a str>,
    attempts: i64,
    updated_at: DbTime,
    submitted_at: Option<DbTime>,
    completed_at: Option<DbTime>,
    next_sync_at: Option<DbTime>,
    version: i64,
}

fn changes(refund: &Refund, version: i64) -> RefundChanges<'_> {
    let failure = refund.failure.as_ref();
    RefundChanges {
        reason: refund.reason.as_deref(),
        gateway: refund.gateway.as_str(),
        status: refund.status.as_str(),
        failure_code: failure.map(|f| f.code.as_str()),
        failure_sub_code: failure.and_then(|f| f.sub_code.as_deref()),
        failure_message: failure.map(|f| f.message.as_str()),
        last_error: refund.last_error.as_deref(),
        rejection_reason: refund.rejection_reason.as_deref(),
        refund_fee: refund.refund_fee.map(Amount::fen),
        batch_no: refund.batch_no.as_ref().map(BatchNo::as_str),
        operator_form_html: refund.operator_form_html.as_deref(),
        attempts: i64::from(refund.attempts),
        updated_at: refund.updated_at.into(),
        submitted_at: refund.submitted_at.map(DbTime),
        completed_at: refund.completed_at.map(DbTime),
        next_sync_at: refund.next_sync_at.map(DbTime),
        version,
    }
}

fn new_row(refund: &Refund) -> NewRefundRow<'_> {
    NewRefundRow {
        refund_id: refund.refund_id.as_str(),
        out_trade_no: refund.out_trade_no.as_str(),
        out_request_no: refund.out_request_no.as_str(),
        amount: refund.amount.fen(),
        changes: changes(refund, refund.version),
        created_at: refund.created_at.into(),
        external: refund.external,
    }
}

impl RefundRow {
    pub(crate) fn refund_id(&self) -> &str {
        &self.refund_id
    }
}

impl TryFrom<RefundRow> for Refund {
    type Error = RepoError;

    fn try_from(row: RefundRow) -> Result<Refund, RepoError> {
        let at = |what: &str, value: &dyn std::fmt::Display| {
            corrupt(format!(
                "refunds.{what} = {value} (refund_id {:?})",
                row.refund_id
            ))
        };
        let failure = match (row.failure_code, row.failure_sub_code, row.failure_message) {
            (None, None, None) => None,
            (Some(code), sub_code, Some(message)) => Some(GatewayFailure {
                code,
                sub_code,
                message,
            }),
            (code, _, message) => {
                return Err(at(
                    "failure_code/failure_message",
                    &format!("{code:?}/{message:?}"),
                ))
            }
        };
        let refund = Refund {
            refund_id: RefundId::parse(row.refund_id.as_str()).map_err(|e| at("refund_id", &e))?,
            out_trade_no: OutTradeNo::parse(row.out_trade_no.as_str())
                .map_err(|e| at("out_trade_no", &e))?,
            out_request_no: OutRequestNo::parse(row.out_request_no.as_str())
                .map_err(|e| at("out_request_no", &e))?,
            amount: Amount::from_fen(row.amount)
                .filter(|a| !a.is_zero())
                .ok_or_else(|| at("amount", &row.amount))?,
            gateway: RefundGatewayKind::parse(&row.gateway)
                .ok_or_else(|| at("gateway", &format!("{:?}", row.gateway)))?,
            status: RefundStatus::parse(&row.status)
                .ok_or_else(|| at("status", &format!("{:?}", row.status)))?,
            refund_fee: row
                .refund_fee
                .map(|fen| Amount::from_fen(fen).ok_or_else(|| at("refund_fee", &fen)))
                .transpose()?,
            batch_no: row
                .batch_no
                .as_deref()
                .map(BatchNo::parse)
                .transpose()
                .map_err(|e| at("batch_no", &e))?,
            attempts: u32::try_from(row.attempts).map_err(|_| at("attempts", &row.attempts))?,
            failure,
            reason: row.reason,
            last_error: row.last_error,
            rejection_reason: row.rejection_reason,
            operator_form_html: row.operator_form_html,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            submitted_at: row.submitted_at.map(|t| t.0),
            completed_at: row.completed_at.map(|t| t.0),
            next_sync_at: row.next_sync_at.map(|t| t.0),
            version: row.version,
            external: row.external,
        };
        Ok(refund)
    }
}

pub(crate) fn to_refunds(rows: Vec<RefundRow>) -> Result<Vec<Refund>, RepoError> {
    rows.into_iter().map(Refund::try_from).collect()
}

/// Refund queries, written once for both connection types.
pub(crate) trait RefundQueries {
    /// Answers the row as stored.
    async fn insert_refund(&mut self, refund: &Refund) -> QueryResult<RefundRow>;
    async fn refund_by_id(&mut self, refund_id: &str) -> QueryResult<Option<RefundRow>>;
    async fn refund_by_request_no(
        &mut self,
        out_trade_no: &str,
        out_request_no: &str,
    ) -> QueryResult<Option<RefundRow>>;
    async fn refunds_by_ids(&mut self, ids: &[String]) -> QueryResult<Vec<RefundRow>>;
    async fn refunds_of_order(&mut self, out_trade_no: &str) -> QueryResult<Vec<RefundRow>>;
    async fn refunds_of_orders(&mut self, out_trade_nos: &[&str]) -> QueryResult<Vec<RefundRow>>;
    /// Each of the order's refunds as a reservation sees it: its out_request_no, its
    /// amount, and whether it still holds that part of the order's total.
    async fn refund_claims(&mut self, out_trade_no: &str) -> QueryResult<Vec<(String, i64, bool)>>;
    /// The conditional save (see the module doc), answering the row as stored: for a
    /// save whose events render from it.
    async fn update_refund(&mut self, refund: &Refund) -> Result<RefundRow, Abort<RepoError>>;
    /// The same save when nothing needs the row back.
    async fn save_refund(&mut self, refund: &Refund) -> Result<(), Abort<RepoError>>;
    /// Why the conditional save of `refund` changed no row: gone, or changed meanwhile.
    async fn why_refund_not_saved(&mut self, refund: &Refund) -> QueryResult<Abort<RepoError>>;
    async fn list_refunds(
        &mut self,
        status: Option<RefundStatus>,
        page: &PageRequest,
    ) -> QueryResult<Vec<RefundRow>>;
}

/// The statuses whose refunds count against the order's total (the domain decides).
fn holding_statuses() -> Vec<&'static str> {
    RefundStatus::ALL
        .into_iter()
        .filter(|s| s.holds_reservation())
        .map(RefundStatus::as_str)
        .collect()
}

/// The conditional save's `UPDATE` of `refund`: only from the version it was read at,
/// never changing what identifies it or its amount, to the next version.
macro_rules! conditional_update {
    ($refund:expr) => {{
        let refund: &Refund = $refund;
        let next = refund.version.checked_add(1).ok_or_else(|| {
            RepoError::Conflict(format!(
                "refund {}: version {} overflows",
                refund.refund_id, refund.version
            ))
        })?;
        diesel::update(refunds::table.find(refund.refund_id.as_str()))
            .filter(refunds::version.eq(refund.version))
            .filter(refunds::out_trade_no.eq(refund.out_trade_no.as_str()))
            .filter(refunds::out_request_no.eq(refund.out_request_no.as_str()))
            .filter(refunds::amount.eq(refund.amount.fen()))
            .set(changes(refund, next))
    }};
}

/// The order refunds are read in, for an order and for a page of orders alike
/// (oldest first overall is oldest first within each order): by creation, the id
/// breaking ties.
fn oldest_first() -> (
    diesel::helper_types::Asc<refunds::created_at>,
    diesel::helper_types::Asc<refunds::refund_id>,
) {
    (refunds::created_at.asc(), refunds::refund_id.asc())
}

for_each_backend! {
    impl RefundQueries {
        async fn insert_refund(&mut self, refund: &Refund) -> QueryResult<RefundRow> {
            diesel::insert_into(refunds::table)
                .values(new_row(refund))
                .returning(RefundRow::as_returning())
                .get_result(self)
                .await
        }

        async fn refund_by_id(&mut self, refund_id: &str) -> QueryResult<Option<RefundRow>> {
            refunds::table
                .find(refund_id)
                .select(RefundRow::as_select())
                .get_result(self)
                .await
                .optional()
        }

        async fn refund_by_request_no(
            &mut self,
            out_trade_no: &str,
            out_request_no: &str,
        ) -> QueryResult<Option<RefundRow>> {
            refunds::table
                .filter(refunds::out_trade_no.eq(out_trade_no))
                .filter(refunds::out_request_no.eq(out_request_no))
                .select(RefundRow::as_select())
                .get_result(self)
                .await
                .optional()
        }

        async fn refunds_by_ids(&mut self, ids: &[String]) -> QueryResult<Vec<RefundRow>> {
            refunds::table
                .filter(refunds::refund_id.eq_any(ids))
                .order(oldest_first())
                .select(RefundRow::as_select())
                .by_sql_for_list(ids.len())
                .load(self)
                .await
        }

        async fn refunds_of_order(&mut self, out_trade_no: &str) -> QueryResult<Vec<RefundRow>> {
            // Not `refunds_of_orders(&[no])`: an `IN` list is parsed on every call on
            // SQLite, and this one runs in every event about an order.
            refunds::table
                .filter(refunds::out_trade_no.eq(out_trade_no))
                .order(oldest_first())
                .select(RefundRow::as_select())
                .load(self)
                .await
        }

        async fn refunds_of_orders(
            &mut self,
            out_trade_nos: &[&str],
        ) -> QueryResult<Vec<RefundRow>> {
            refunds::table
                .filter(refunds::out_trade_no.eq_any(out_trade_nos))
                .order(oldest_first())
                .select(RefundRow::as_select())
                .load(self)
                .await
        }

        async fn refund_claims(
            &mut self,
            out_trade_no: &str,
        ) -> QueryResult<Vec<(String, i64, bool)>> {
            refunds::table
                .filter(refunds::out_trade_no.eq(out_trade_no))
                .select((
                    refunds::out_request_no,
                    refunds::amount,
                    refunds::status.eq_any(holding_statuses()),
                ))
                .by_sql()
                .load(self)
                .await
        }

        async fn update_refund(&mut self, refund: &Refund) -> Result<RefundRow, Abort<RepoError>> {
            let saved = conditional_update!(refund)
                .returning(RefundRow::as_returning())
                .by_sql()
                .get_result(self)
                .await
                .optional()?;
            match saved {
                Some(row) => Ok(row),
                None => Err(self.why_refund_not_saved(refund).await?),
            }
        }

        async fn save_refund(&mut self, refund: &Refund) -> Result<(), Abort<RepoError>> {
            if conditional_update!(refund).by_sql().execute(self).await? == 1 {
                return Ok(());
            }
            Err(self.why_refund_not_saved(refund).await?)
        }

        async fn why_refund_not_saved(&mut self, refund: &Refund) -> QueryResult<Abort<RepoError>> {
            let id = refund.refund_id.as_str();
            let stored: Option<i64> = refunds::table
                .find(id)
                .select(refunds::version)
                .get_result(self)
                .await
                .optional()?;
            Ok(Abort::Stop(match stored {
                None => RepoError::NotFound(format!("refund {id}")),
                Some(version) if version != refund.version => RepoError::Conflict(format!(
                    "refund {id} is at version {version}, not {}",
                    refund.version
                )),
                Some(_) => RepoError::Conflict(format!(
                    "refund {id}: out_trade_no, out_request_no and amount cannot change"
                )),
            }))
        }

        async fn list_refunds(
            &mut self,
            status: Option<RefundStatus>,
            page: &PageRequest,
        ) -> QueryResult<Vec<RefundRow>> {
            let mut query = refunds::table
                .select(RefundRow::as_select())
                .order((refunds::created_at.desc(), refunds::refund_id.desc()))
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(refunds::status.eq(status.as_str()));
            }
            if let Some(after) = &page.after {
                query = query.filter(
                    refunds::created_at.lt(after.created_at).or(refunds::created_at
                        .eq(after.created_at)
                        .and(refunds::refund_id.lt(after.id.as_str()))),
                );
            }
            query.load(self).await
        }
    }
}

#[async_trait]
impl RefundRepository for DieselStore {
    async fn reserve(
        &self,
        refund: &NewRefund,
        event_id: &EventId,
    ) -> Result<Refund, ReserveError> {
        crate::reserve::reserve(self, refund, event_id).await
    }

    async fn get(&self, refund_id: &RefundId) -> Result<Option<Refund>, RepoError> {
        with_conn!(self, |conn| conn.refund_by_id(refund_id.as_str()).await)
            .map_err(|e| db_error(format_args!("read refund {refund_id}"), e))?
            .map(Refund::try_from)
            .transpose()
    }

    async fn get_by_out_request_no(
        &self,
        out_trade_no: &OutTradeNo,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<Refund>, RepoError> {
        with_conn!(self, |conn| conn
            .refund_by_request_no(out_trade_no.as_str(), out_request_no.as_str())
            .await)
        .map_err(|e| {
            db_error(
                format_args!("read refund {out_request_no} of order {out_trade_no}"),
                e,
            )
        })?
        .map(Refund::try_from)
        .transpose()
    }

    async fn list_for_order(&self, out_trade_no: &OutTradeNo) -> Result<Vec<Refund>, RepoError> {
        let rows = with_conn!(self, |conn| conn
            .refunds_of_order(out_trade_no.as_str())
            .await)
        .map_err(|e| db_error(format_args!("list refunds of order {out_trade_no}"), e))?;
        to_refunds(rows)
    }

    async fn list_for_orders(
        &self,
        out_trade_nos: &[OutTradeNo],
    ) -> Result<Vec<Refund>, RepoError> {
        if out_trade_nos.is_empty() {
            return Ok(Vec::new());
        }
        let nos: Vec<&str> = out_trade_nos.iter().map(OutTradeNo::as_str).collect();
        let rows = with_conn!(self, |conn| conn.refunds_of_orders(&nos).await).map_err(|e| {
            db_error(
                format_args!("list refunds of {} orders", out_trade_nos.len()),
                e,
            )
        })?;
        to_refunds(rows)
    }

    async fn list(&self, filter: &RefundFilter) -> Result<Page<Refund>, RepoError> {
        let page = PageRequest::new(filter.limit, filter.cursor.as_deref())?;
        let rows = with_conn!(self, |conn| conn.list_refunds(filter.status, &page).await)
            .map_err(|e| db_error("list refunds", e))?;
        let refunds = to_refunds(rows)?;
        Ok(page.finish(refunds, |r| Cursor::new(r.created_at, r.refund_id.as_str())))
    }

    async fn update(&self, refund: &Refund, events: &[NewEvent]) -> Result<(), RepoError> {
        let context = || format!("update refund {}", refund.refund_id);
        if events.is_empty() {
            // The hot path: one statement, no transaction needed.
            return write_conn!(self, |conn| conn.save_refund(refund).await)
                .map_err(|e| e.into_repo(context()));
        }
        let renderer = self.renderer.as_ref();
        write_tx!(self, |conn| {
            let stored = conn.update_refund(refund).await?;
            conn.write_events(renderer, events, &Written::refunds(vec![stored]))
                .await
        })
        .map_err(|e: Abort<RepoError>| e.into_repo(context()))
    }

    async fn update_all(&self, refunds: &[Refund], events: &[NewEvent]) -> Result<(), RepoError> {
        // A fixed lock order (by id) keeps two batches from deadlocking on PostgreSQL.
        let mut sorted: Vec<&Refund> = refunds.iter().collect();
        sorted.sort_by(|a, b| a.refund_id.cmp(&b.refund_id));
        let renderer = self.renderer.as_ref();
        write_tx!(self, |conn| {
            let mut stored = Vec::with_capacity(sorted.len());
            for refund in &sorted {
                stored.push(conn.update_refund(refund).await?);
            }
            conn.write_events(renderer, events, &Written::refunds(stored))
                .await
        })
        .map_err(|e: Abort<RepoError>| {
            e.into_repo(format_args!("update {} refunds together", refunds.len()))
        })
    }

    async fn update_with_order(
        &self,
        refund: &Refund,
        order: &Order,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        check_refund_of_order(refund, order)?;
        // Order first, then refund: the same lock order as a reservation (order row,
        // then refund rows), so the two cannot deadlock on PostgreSQL.
        let renderer = self.renderer.as_ref();
        write_tx!(self, |conn| {
            let order = conn.update_order(order).await?;
            let refund = conn.update_refund(refund).await?;
            let written = Written {
                order: Some(order),
                refunds: vec![refund],
            };
            conn.write_events(renderer, events, &written).await
        })
        .map_err(|e: Abort<RepoError>| {
            e.into_repo(format_args!(
                "update refund {} with order {}",
                refund.refund_id, order.out_trade_no
            ))
        })
    }

    async fn insert_external(
        &self,
        refund: &Refund,
        order: &Order,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        crate::external::insert_external(self, refund, order, events).await
    }
}
