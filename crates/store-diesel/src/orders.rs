//! Orders: rows, their mapping to [`Order`], and [`OrderRepository`].
//!
//! `update` writes every mutable field, conditional on the stored `version` (and on the
//! immutable `total_amount`, which refunds are checked against); `out_trade_no` and
//! `created_at` are never rewritten.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::event::NewEvent;
use payport_domain::ports::{OrderFilter, OrderRepository, Page};
use payport_domain::{Amount, Order, OrderStatus, OutTradeNo, RepoError, TradeNo};

use crate::by_sql::CacheBySql;
use crate::error::{corrupt, db_error, Abort};
use crate::outbox::{OutboxQueries, Written};
use crate::page::{Cursor, PageRequest};
use crate::pool::{for_each_backend, with_conn, write_conn, write_tx};
use crate::schema::orders;
use crate::time::DbTime;
use crate::DieselStore;

/// An order as read from the database.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct OrderRow {
    out_trade_no: String,
    subject: String,
    body: Option<String>,
    total_amount: i64,
    status: String,
    trade_no: Option<String>,
    buyer_id: Option<String>,
    buyer_logon_id: Option<String>,
    refunded_amount: i64,
    return_url: Option<String>,
    paid_after_close: bool,
    created_at: DbTime,
    expires_at: DbTime,
    paid_at: Option<DbTime>,
    closed_at: Option<DbTime>,
    finished_at: Option<DbTime>,
    updated_at: DbTime,
    version: i64,
    payment_started_at: Option<DbTime>,
    payment_check_at: Option<DbTime>,
}

/// A new order's row.
#[derive(Insertable)]
#[diesel(table_name = orders)]
struct NewOrderRow<'a> {
    out_trade_no: &'a str,
    subject: &'a str,
    body: Option<&'a str>,
    total_amount: i64,
    status: &'static str,
    trade_no: Option<&'a str>,
    buyer_id: Option<&'a str>,
    buyer_logon_id: Option<&'a str>,
    refunded_amount: i64,
    return_url: Option<&'a str>,
    paid_after_close: bool,
    created_at: DbTime,
    expires_at: DbTime,
    paid_at: Option<DbTime>,
    closed_at: Option<DbTime>,
    finished_at: Option<DbTime>,
    updated_at: DbTime,
    version: i64,
    payment_started_at: Option<DbTime>,
    payment_check_at: Option<DbTime>,
}

/// What an update may change. `None` writes NULL.
#[derive(AsChangeset)]
#[diesel(table_name = orders, treat_none_as_null = true)]
struct OrderChanges<'a> {
    subject: &'a str,
    body: Option<&'a str>,
    status: &'static str,
    trade_no: Option<&'a str>,
    buyer_id: Option<&'a str>,
    buyer_logon_id: Option<&'a str>,
    refunded_amount: i64,
    return_url: Option<&'a str>,
    paid_after_close: bool,
    expires_at: DbTime,
    paid_at: Option<DbTime>,
    closed_at: Option<DbTime>,
    finished_at: Option<DbTime>,
    updated_at: DbTime,
    version: i64,
    payment_started_at: Option<DbTime>,
    payment_check_at: Option<DbTime>,
}

fn new_row(order: &Order) -> NewOrderRow<'_> {
    NewOrderRow {
        out_trade_no: order.out_trade_no.as_str(),
        subject: &order.subject,
        body: order.body.as_deref(),
        total_amount: order.total_amount.fen(),
        status: order.status.as_str(),
        trade_no: order.trade_no.as_ref().map(TradeNo::as_str),
        buyer_id: order.buyer_id.as_deref(),
        buyer_logon_id: order.buyer_logon_id.as_deref(),
        refunded_amount: order.refunded_amount.fen(),
        return_url: order.return_url.as_deref(),
        paid_after_close: order.paid_after_close,
        created_at: order.created_at.into(),
        expires_at: order.expires_at.into(),
        paid_at: order.paid_at.map(DbTime),
        closed_at: order.closed_at.map(DbTime),
        finished_at: order.finished_at.map(DbTime),
        updated_at: order.updated_at.into(),
        version: order.version,
        payment_started_at: order.payment_started_at.map(DbTime),
        payment_check_at: order.payment_check_at.map(DbTime),
    }
}

fn changes(order: &Order, new_version: i64) -> OrderChanges<'_> {
    OrderChanges {
        subject: &order.subject,
        body: order.body.as_deref(),
        status: order.status.as_str(),
        trade_no: order.trade_no.as_ref().map(TradeNo::as_str),
        buyer_id: order.buyer_id.as_deref(),
        buyer_logon_id: order.buyer_logon_id.as_deref(),
        refunded_amount: order.refunded_amount.fen(),
        return_url: order.return_url.as_deref(),
        paid_after_close: order.paid_after_close,
        expires_at: order.expires_at.into(),
        paid_at: order.paid_at.map(DbTime),
        closed_at: order.closed_at.map(DbTime),
        finished_at: order.finished_at.map(DbTime),
        updated_at: order.updated_at.into(),
        version: new_version,
        payment_started_at: order.payment_started_at.map(DbTime),
        payment_check_at: order.payment_check_at.map(DbTime),
    }
}

impl OrderRow {
    pub(crate) fn out_trade_no(&self) -> &str {
        &self.out_trade_no
    }
}

impl TryFrom<OrderRow> for Order {
    type Error = RepoError;

    fn try_from(row: OrderRow) -> Result<Order, RepoError> {
        let at = |what: &str, value: &dyn std::fmt::Display| {
            corrupt(format!(
                "orders.{what} = {value} (out_trade_no {:?})",
                row.out_trade_no
            ))
        };
        let amount = |what: &str, fen: i64| Amount::from_fen(fen).ok_or_else(|| at(what, &fen));
        let order = Order {
            out_trade_no: OutTradeNo::parse(row.out_trade_no.as_str())
                .map_err(|e| at("out_trade_no", &e))?,
            total_amount: amount("total_amount", row.total_amount)?,
            refunded_amount: amount("refunded_amount", row.refunded_amount)?,
            status: OrderStatus::parse(&row.status)
                .ok_or_else(|| at("status", &format!("{:?}", row.status)))?,
            trade_no: row
                .trade_no
                .as_deref()
                .map(TradeNo::parse)
                .transpose()
                .map_err(|e| at("trade_no", &e))?,
            subject: row.subject,
            body: row.body,
            buyer_id: row.buyer_id,
            buyer_logon_id: row.buyer_logon_id,
            return_url: row.return_url,
            paid_after_close: row.paid_after_close,
            created_at: row.created_at.0,
            expires_at: row.expires_at.0,
            paid_at: row.paid_at.map(|t| t.0),
            closed_at: row.closed_at.map(|t| t.0),
            finished_at: row.finished_at.map(|t| t.0),
            updated_at: row.updated_at.0,
            version: row.version,
            payment_started_at: row.payment_started_at.map(|t| t.0),
            payment_check_at: row.payment_check_at.map(|t| t.0),
        };
        Ok(order)
    }
}

pub(crate) fn to_orders(rows: Vec<OrderRow>) -> Result<Vec<Order>, RepoError> {
    rows.into_iter().map(Order::try_from).collect()
}

/// Order queries, written once for both connection types.
pub(crate) trait OrderQueries {
    async fn insert_order(&mut self, order: &Order) -> QueryResult<()>;
    async fn order_by_no(&mut self, out_trade_no: &str) -> QueryResult<Option<OrderRow>>;
    async fn order_by_trade_no(&mut self, trade_no: &str) -> QueryResult<Option<OrderRow>>;
    async fn orders_by_nos(&mut self, nos: &[String]) -> QueryResult<Vec<OrderRow>>;
    /// The conditional save (see the module doc), answering the row as stored: for a
    /// save whose events render from it.
    async fn update_order(&mut self, order: &Order) -> Result<OrderRow, Abort<RepoError>>;
    /// The same save when nothing needs the row back.
    async fn save_order(&mut self, order: &Order) -> Result<(), Abort<RepoError>>;
    /// Why the conditional save of `order` changed no row: gone, or changed meanwhile.
    async fn why_order_not_saved(&mut self, order: &Order) -> QueryResult<Abort<RepoError>>;
    async fn list_orders(
        &mut self,
        status: Option<OrderStatus>,
        page: &PageRequest,
    ) -> QueryResult<Vec<OrderRow>>;
}

/// The conditional save's `UPDATE` of `order`: only from the version it was read at,
/// never changing its total, to the next version.
macro_rules! conditional_update {
    ($order:expr) => {{
        let order: &Order = $order;
        let next = order.version.checked_add(1).ok_or_else(|| {
            RepoError::Conflict(format!(
                "order {}: version {} overflows",
                order.out_trade_no, order.version
            ))
        })?;
        diesel::update(orders::table.find(order.out_trade_no.as_str()))
            .filter(orders::version.eq(order.version))
            .filter(orders::total_amount.eq(order.total_amount.fen()))
            .set(changes(order, next))
    }};
}

for_each_backend! {
    impl OrderQueries {
        async fn insert_order(&mut self, order: &Order) -> QueryResult<()> {
            diesel::insert_into(orders::table)
                .values(new_row(order))
                .execute(self)
                .await
                .map(drop)
        }

        async fn order_by_no(&mut self, out_trade_no: &str) -> QueryResult<Option<OrderRow>> {
            // Unique keys are read without `.first()`: SQLite recompiles a statement
            // with `LIMIT ?` on every call (`by_sql.rs`).
            orders::table
                .find(out_trade_no)
                .select(OrderRow::as_select())
                .get_result(self)
                .await
                .optional()
        }

        async fn order_by_trade_no(&mut self, trade_no: &str) -> QueryResult<Option<OrderRow>> {
            orders::table
                .filter(orders::trade_no.eq(trade_no))
                .select(OrderRow::as_select())
                .get_result(self)
                .await
                .optional()
        }

        async fn orders_by_nos(&mut self, nos: &[String]) -> QueryResult<Vec<OrderRow>> {
            orders::table
                .filter(orders::out_trade_no.eq_any(nos))
                .order((orders::expires_at.asc(), orders::out_trade_no.asc()))
                .select(OrderRow::as_select())
                .by_sql_for_list(nos.len())
                .load(self)
                .await
        }

        async fn update_order(&mut self, order: &Order) -> Result<OrderRow, Abort<RepoError>> {
            let saved = conditional_update!(order)
                .returning(OrderRow::as_returning())
                .by_sql()
                .get_result(self)
                .await
                .optional()?;
            match saved {
                Some(row) => Ok(row),
                None => Err(self.why_order_not_saved(order).await?),
            }
        }

        async fn save_order(&mut self, order: &Order) -> Result<(), Abort<RepoError>> {
            if conditional_update!(order).by_sql().execute(self).await? == 1 {
                return Ok(());
            }
            Err(self.why_order_not_saved(order).await?)
        }

        async fn why_order_not_saved(&mut self, order: &Order) -> QueryResult<Abort<RepoError>> {
            let no = order.out_trade_no.as_str();
            let stored: Option<(i64, i64)> = orders::table
                .find(no)
                .select((orders::version, orders::total_amount))
                .get_result(self)
                .await
                .optional()?;
            Ok(Abort::Stop(match stored {
                None => RepoError::NotFound(format!("order {no}")),
                Some((version, _)) if version != order.version => RepoError::Conflict(format!(
                    "order {no} is at version {version}, not {}",
                    order.version
                )),
                Some((_, total)) => RepoError::Conflict(format!(
                    "order {no}: total_amount is {total} fen and cannot change"
                )),
            }))
        }

        async fn list_orders(
            &mut self,
            status: Option<OrderStatus>,
            page: &PageRequest,
        ) -> QueryResult<Vec<OrderRow>> {
            let mut query = orders::table
                .select(OrderRow::as_select())
                .order((orders::created_at.desc(), orders::out_trade_no.desc()))
                .limit(page.fetch_limit())
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(orders::status.eq(status.as_str()));
            }
            if let Some(after) = &page.after {
                query = query.filter(
                    orders::created_at.lt(after.created_at).or(orders::created_at
                        .eq(after.created_at)
                        .and(orders::out_trade_no.lt(after.id.as_str()))),
                );
            }
            query.load(self).await
        }
    }
}

#[async_trait]
impl OrderRepository for DieselStore {
    async fn insert(&self, order: &Order) -> Result<(), RepoError> {
        write_conn!(self, |conn| conn.insert_order(order).await)
            .map_err(|e| db_error(format_args!("insert order {}", order.out_trade_no), e))
    }

    async fn get(&self, out_trade_no: &OutTradeNo) -> Result<Option<Order>, RepoError> {
        with_conn!(self, |conn| conn.order_by_no(out_trade_no.as_str()).await)
            .map_err(|e| db_error(format_args!("read order {out_trade_no}"), e))?
            .map(Order::try_from)
            .transpose()
    }

    async fn find_by_trade_no(&self, trade_no: &TradeNo) -> Result<Option<Order>, RepoError> {
        with_conn!(self, |conn| conn.order_by_trade_no(trade_no.as_str()).await)
            .map_err(|e| db_error(format_args!("read order of trade {trade_no}"), e))?
            .map(Order::try_from)
            .transpose()
    }

    async fn update(&self, order: &Order, events: &[NewEvent]) -> Result<(), RepoError> {
        let context = || format!("update order {}", order.out_trade_no);
        if events.is_empty() {
            // The hot path: one statement, no transaction needed.
            return write_conn!(self, |conn| conn.save_order(order).await)
                .map_err(|e| e.into_repo(context()));
        }
        let renderer = self.renderer.as_ref();
        write_tx!(self, |conn| {
            let stored = conn.update_order(order).await?;
            conn.write_events(renderer, events, &Written::order(stored))
                .await
        })
        .map_err(|e: Abort<RepoError>| e.into_repo(context()))
    }

    async fn list(&self, filter: &OrderFilter) -> Result<Page<Order>, RepoError> {
        let page = PageRequest::new(filter.limit, filter.cursor.as_deref())?;
        let rows = with_conn!(self, |conn| conn.list_orders(filter.status, &page).await)
            .map_err(|e| db_error("list orders", e))?;
        let orders = to_orders(rows)?;
        Ok(page.finish(orders, |o| {
            Cursor::new(o.created_at, o.out_trade_no.as_str())
        }))
    }
}
