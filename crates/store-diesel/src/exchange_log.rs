//! [`ExchangeLog`]: every request/response pair with a gateway, raw, append-only.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::ports::{ExchangeLog, GatewayExchange};
use payport_domain::RepoError;

use crate::error::db_error;
use crate::pool::{for_each_backend, with_conn};
use crate::schema::gateway_exchanges as log;
use crate::time::DbTime;
use crate::DieselStore;

#[derive(Insertable)]
#[diesel(table_name = log)]
struct NewExchangeRow<'a> {
    operation: &'a str,
    out_trade_no: Option<&'a str>,
    out_request_no: Option<&'a str>,
    request: &'a str,
    response: Option<&'a str>,
    outcome: &'a str,
    started_at: DbTime,
    duration_ms: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = log)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ExchangeRow {
    operation: String,
    out_trade_no: Option<String>,
    out_request_no: Option<String>,
    request: String,
    response: Option<String>,
    outcome: String,
    started_at: DbTime,
    duration_ms: i64,
}

impl From<ExchangeRow> for GatewayExchange {
    fn from(row: ExchangeRow) -> Self {
        GatewayExchange {
            operation: row.operation,
            out_trade_no: row.out_trade_no,
            out_request_no: row.out_request_no,
            request: row.request,
            response: row.response,
            outcome: row.outcome,
            started_at: row.started_at.0,
            duration_ms: row.duration_ms,
        }
    }
}

trait ExchangeQueries {
    async fn insert_exchange(&mut self, exchange: &GatewayExchange) -> QueryResult<()>;
    async fn exchanges_of(&mut self, out_trade_no: &str) -> QueryResult<Vec<ExchangeRow>>;
}

for_each_backend! {
    impl ExchangeQueries {
        async fn insert_exchange(&mut self, exchange: &GatewayExchange) -> QueryResult<()> {
            let row = NewExchangeRow {
                operation: &exchange.operation,
                out_trade_no: exchange.out_trade_no.as_deref(),
                out_request_no: exchange.out_request_no.as_deref(),
                request: &exchange.request,
                response: exchange.response.as_deref(),
                outcome: &exchange.outcome,
                started_at: exchange.started_at.into(),
                duration_ms: exchange.duration_ms,
            };
            diesel::insert_into(log::table)
                .values(row)
                .execute(self)
                .await
                .map(drop)
        }

        async fn exchanges_of(&mut self, out_trade_no: &str) -> QueryResult<Vec<ExchangeRow>> {
            log::table
                .filter(log::out_trade_no.eq(out_trade_no))
                .order(log::id.asc())
                .select(ExchangeRow::as_select())
                .load(self)
                .await
        }
    }
}

#[async_trait]
impl ExchangeLog for DieselStore {
    async fn record(&self, exchange: &GatewayExchange) -> Result<(), RepoError> {
        with_conn!(self, |conn| conn.insert_exchange(exchange).await)
            .map_err(|e| db_error(format_args!("log {} exchange", exchange.operation), e))
    }
}

impl DieselStore {
    /// The gateway exchanges recorded for an order, in the order they were recorded
    /// (for support staff and disputes).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    pub async fn exchanges_for_order(
        &self,
        out_trade_no: &str,
    ) -> Result<Vec<GatewayExchange>, RepoError> {
        let rows = with_conn!(self, |conn| conn.exchanges_of(out_trade_no).await)
            .map_err(|e| db_error(format_args!("read exchanges of order {out_trade_no}"), e))?;
        Ok(rows.into_iter().map(GatewayExchange::from).collect())
    }
}
