//! [`ExchangeLog`]: every request/response pair with a gateway, raw, append-only.
//!
//! Rows are written in batches, so that the log costs no transaction of its own per
//! gateway call: `record` queues its row and waits; the first caller to find no
//! writer at work spawns one (a tokio task), which inserts everything queued in one
//! write (PostgreSQL: one multi-row `INSERT`; SQLite: a body of the writer's batch,
//! one `INSERT` per row), answers every
//! caller of the batch with its result, and goes on while rows keep arriving. Rows
//! that arrive during an insert go into the next one. So `record` returns once its
//! row is committed (durable as before) or with the batch's error; nothing runs while
//! nothing is logged; and a writer that stops (its runtime shut down, a panic) drops
//! every queued caller's answer channel, which then gets an error instead of waiting.
//! The adapters mask what they log before `record`; rows are stored as given.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::ports::{ExchangeLog, GatewayExchange};
use payport_domain::RepoError;
use tokio::sync::oneshot;

use crate::error::db_error;
use crate::pool::{for_each_backend, with_conn, write_conn, PgConn, SqliteConn};
use crate::schema::gateway_exchanges as log;
use crate::time::DbTime;
use crate::DieselStore;

/// The most rows in one write: on PostgreSQL's multi-row `INSERT`, 8 parameters a row
/// stays far below its limit on bound parameters (65535).
const MAX_BATCH: usize = 256;

/// The rows waiting for the writer, and whether one is at work. Shared by a store's
/// clones.
#[derive(Default)]
pub(crate) struct ExchangeWriter {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Queued>,
    writing: bool,
}

struct Queued {
    exchange: GatewayExchange,
    done: oneshot::Sender<Result<(), RepoError>>,
}

impl ExchangeWriter {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // The queue stays consistent under a panic elsewhere: every change is one step.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends a writer that stops without emptying the queue (cancelled, or panicked):
/// drops the waiting callers' channels, so they get an error rather than wait, and
/// lets the next `record` start a writer.
struct StopGuard<'a>(Option<&'a ExchangeWriter>);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        if let Some(writer) = self.0 {
            let mut queue = writer.queue();
            queue.waiting.clear();
            queue.writing = false;
        }
    }
}

/// The writer task: batches until the queue is empty.
async fn write_batches(store: DieselStore) {
    let writer = Arc::clone(&store.exchanges);
    let mut guard = StopGuard(Some(&writer));
    loop {
        let (exchanges, callers): (Vec<GatewayExchange>, Vec<_>) = {
            let mut queue = writer.queue();
            if queue.waiting.is_empty() {
                // Under the lock: a `record` that queues after this starts a writer.
                queue.writing = false;
                guard.0 = None;
                return;
            }
            let n = queue.waiting.len().min(MAX_BATCH);
            queue
                .waiting
                .drain(..n)
                .map(|q| (q.exchange, q.done))
                .unzip()
        };
        let result = store.insert_batch(exchanges).await;
        for done in callers {
            // A caller that gave up waiting has dropped its end; its row is written.
            let _ = done.send(result.clone());
        }
    }
}

impl DieselStore {
    async fn insert_batch(&self, exchanges: Vec<GatewayExchange>) -> Result<(), RepoError> {
        let mut names: Vec<String> = exchanges.iter().map(|e| e.operation.clone()).collect();
        names.sort_unstable();
        names.dedup();
        let count = exchanges.len();
        write_conn!(self, |conn| conn.insert_exchanges(exchanges).await).map_err(|e| {
            db_error(
                format_args!("log {count} exchange(s) ({})", names.join(", ")),
                e,
            )
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = log)]
// NULL for `None`, not DEFAULT: one text per statement shape, whichever fields are
// `None` (a DEFAULT would vary it, and diesel would not cache it on SQLite).
#[diesel(treat_none_as_default_value = false)]
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

impl<'a> NewExchangeRow<'a> {
    fn of(exchange: &'a GatewayExchange) -> Self {
        NewExchangeRow {
            operation: &exchange.operation,
            out_trade_no: exchange.out_trade_no.as_deref(),
            out_request_no: exchange.out_request_no.as_deref(),
            request: &exchange.request,
            response: exchange.response.as_deref(),
            outcome: &exchange.outcome,
            started_at: exchange.started_at.into(),
            duration_ms: exchange.duration_ms,
        }
    }
}

/// `exchanges`, in their order: one multi-row `INSERT` on PostgreSQL, one per row on
/// SQLite.
trait InsertExchanges {
    async fn insert_exchanges(&mut self, exchanges: Vec<GatewayExchange>) -> QueryResult<()>;
}

impl InsertExchanges for PgConn {
    async fn insert_exchanges(&mut self, exchanges: Vec<GatewayExchange>) -> QueryResult<()> {
        let rows: Vec<NewExchangeRow<'_>> = exchanges.iter().map(NewExchangeRow::of).collect();
        // Not cached: up to `MAX_BATCH` row counts, each a text of its own.
        diesel::insert_into(log::table)
            .values(&rows)
            .execute(self)
            .await
            .map(drop)
    }
}

impl InsertExchanges for SqliteConn {
    async fn insert_exchanges(&mut self, exchanges: Vec<GatewayExchange>) -> QueryResult<()> {
        // One INSERT per row, as the outbox's events go in (`InsertEventRows`).
        for exchange in &exchanges {
            diesel::insert_into(log::table)
                .values(NewExchangeRow::of(exchange))
                .execute(self)
                .await?;
        }
        Ok(())
    }
}

trait ExchangeQueries {
    async fn exchanges_of(&mut self, out_trade_no: &str) -> QueryResult<Vec<ExchangeRow>>;
}

for_each_backend! {
    impl ExchangeQueries {
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
    /// Queues the row for the batch writer (module doc) and waits for its batch.
    async fn record(&self, exchange: &GatewayExchange) -> Result<(), RepoError> {
        let (done, written) = oneshot::channel();
        let start_writer = {
            let mut queue = self.exchanges.queue();
            queue.waiting.push(Queued {
                exchange: exchange.clone(),
                done,
            });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            tokio::spawn(write_batches(self.clone()));
        }
        written.await.unwrap_or_else(|_| {
            Err(RepoError::Unavailable(format!(
                "log {} exchange: the log writer stopped",
                exchange.operation
            )))
        })
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
