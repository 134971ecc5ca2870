//! The transactional outbox: events written in the transaction that makes the change.
//!
//! A save that changes a status runs, in ONE write transaction (`write_tx!`): the
//! conditional row update(s), each answering the row as stored (`RETURNING`), then its
//! events: each body is rendered with the store's [`EventRenderer`] from its object as
//! now stored (an order with its refunds oldest first, or a refund: the row the save
//! returned, or read when the save did not write it), then the events go in (one
//! `INSERT` on PostgreSQL, one per event on SQLite), and a `pending` delivery of each,
//! due at once, for every active
//! endpoint that wants its type, with one `INSERT ... SELECT`. Any error rolls all of
//! it back: a change is never stored without its events, nor an event without its
//! change.
//!
//! Event writers take the outbox lock before inserting their events, SHARED
//! (`Dialect::lock_outbox`), and hold it to the end of their transaction: they do
//! not wait for each other, only for an endpoint deletion (which takes it exclusively,
//! so that no event gives a delivery to an endpoint being deleted, unseen by it).
//! Events can thus commit out of `seq` order; each records its transaction's id (`tx`,
//! the column's default), by which readers order and filter them (see `events.rs`).

use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use payport_domain::event::{EventSubject, EventType, NewEvent};
use payport_domain::ports::{EventObject, EventRenderer};
use payport_domain::webhook::DeliveryStatus;
use payport_domain::{Order, Refund, RepoError};

use crate::by_sql::CacheBySql;
use crate::dialect::{Dialect, OutboxLock};
use crate::error::Abort;
use crate::orders::{OrderQueries, OrderRow};
use crate::pool::{for_each_backend, PgConn, SqliteConn};
use crate::refunds::{to_refunds, RefundQueries, RefundRow};
use crate::schema::{events, webhook_deliveries as deliveries, webhook_endpoints as endpoints};
use crate::time::{DbTime, UtcTime};

/// The renderer of a store nobody gave one: a small but valid JSON envelope naming
/// the object. The server always sets its own, which shows the object as the API does.
pub(crate) struct DefaultRenderer;

impl EventRenderer for DefaultRenderer {
    fn render(&self, event: &NewEvent, _object: EventObject<'_>) -> String {
        serde_json::json!({
            "id": event.id.as_str(),
            "type": event.event_type.as_str(),
            "created_at": event
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "data": { "object": { "id": event.subject.object_id() } },
        })
        .to_string()
    }
}

/// The `LIKE` pattern that finds `event_type` in an endpoint's `,a,b,` list (`_` is
/// a wildcard in `LIKE`, and several type names contain one).
pub(crate) fn wants_pattern(event_type: EventType) -> String {
    format!("%,{},%", event_type.as_str().replace('_', "\\_"))
}

/// The columns a new delivery is given, in the order the fan-outs select them.
macro_rules! delivery_columns {
    () => {
        (
            deliveries::event_id,
            deliveries::endpoint_id,
            deliveries::status,
            deliveries::attempts,
            deliveries::since,
            deliveries::next_attempt_at,
            deliveries::updated_at,
        )
    };
}

// No field may be left to its default: one statement text whatever the values
// (PostgreSQL's multi-row INSERT is cached per row count, `by_sql.rs`).
#[derive(Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub(crate) struct NewEventRow {
    id: String,
    event_type: &'static str,
    object_id: String,
    created_at: DbTime,
    body: String,
}

/// A transaction's events, in their order. PostgreSQL: one multi-row `INSERT`, one
/// round trip. SQLite: one `INSERT` per event, a statement prepared once per
/// connection (diesel-async has no multi-row `INSERT` for SQLite, and diesel would
/// parse one again on every call), run inline on the writer (`inline.rs`).
trait InsertEventRows {
    async fn insert_event_rows(&mut self, rows: Vec<NewEventRow>) -> QueryResult<()>;
}

impl InsertEventRows for PgConn {
    async fn insert_event_rows(&mut self, rows: Vec<NewEventRow>) -> QueryResult<()> {
        diesel::insert_into(events::table)
            .values(&rows)
            .by_sql_for_list(rows.len())
            .execute(self)
            .await
            .map(drop)
    }
}

impl InsertEventRows for SqliteConn {
    async fn insert_event_rows(&mut self, rows: Vec<NewEventRow>) -> QueryResult<()> {
        for row in &rows {
            diesel::insert_into(events::table)
                .values(row)
                .execute(self)
                .await?;
        }
        Ok(())
    }
}

/// Rows the transaction has just written, as `RETURNING` gave them back: an event
/// about one of them renders from it instead of reading it again.
#[derive(Default)]
pub(crate) struct Written {
    pub(crate) order: Option<OrderRow>,
    pub(crate) refunds: Vec<RefundRow>,
}

impl Written {
    pub(crate) fn order(row: OrderRow) -> Written {
        Written {
            order: Some(row),
            refunds: Vec::new(),
        }
    }

    pub(crate) fn refunds(rows: Vec<RefundRow>) -> Written {
        Written {
            order: None,
            refunds: rows,
        }
    }
}

diesel::define_sql_function! {
    /// `replace(text, from, to)`, the same in PostgreSQL and SQLite.
    fn replace(text: Text, from: Text, to: Text) -> Text;
}

pub(crate) trait OutboxQueries {
    /// Writes `events` and their deliveries (see the module doc); call it inside a
    /// write transaction, after the change they describe, with the rows it wrote.
    async fn write_events(
        &mut self,
        renderer: &dyn EventRenderer,
        events: &[NewEvent],
        written: &Written,
    ) -> Result<(), Abort<RepoError>> {
        let bodies = self.render_events(renderer, events, written).await?;
        self.append_events(events, bodies).await
    }

    /// The bodies of `events`, each showing its object as now stored: from `written`
    /// when it holds the row, read otherwise (and an order's refunds always).
    async fn render_events(
        &mut self,
        renderer: &dyn EventRenderer,
        events: &[NewEvent],
        written: &Written,
    ) -> Result<Vec<String>, Abort<RepoError>>;

    /// Inserts `events` with their rendered `bodies` (`InsertEventRows`) and their
    /// deliveries (in one statement), under the outbox lock.
    async fn append_events(
        &mut self,
        events: &[NewEvent],
        bodies: Vec<String>,
    ) -> Result<(), Abort<RepoError>>;

    /// Gives every active endpoint that wants `event_type` and has no delivery of the
    /// event a `pending` one, due at `at`; how many were made.
    async fn fan_out(
        &mut self,
        event_id: &str,
        event_type: EventType,
        at: DbTime,
    ) -> QueryResult<usize>;
}

for_each_backend! {
    impl OutboxQueries {
        async fn render_events(
            &mut self,
            renderer: &dyn EventRenderer,
            events: &[NewEvent],
            written: &Written,
        ) -> Result<Vec<String>, Abort<RepoError>> {
            let mut bodies = Vec::with_capacity(events.len());
            for event in events {
                let gone = |what: &dyn std::fmt::Display| {
                    RepoError::NotFound(format!("{what} of event {}", event.id))
                };
                let body = match &event.subject {
                    EventSubject::Order(no) => {
                        let row = match &written.order {
                            Some(row) if row.out_trade_no() == no.as_str() => row.clone(),
                            _ => self
                                .order_by_no(no.as_str())
                                .await?
                                .ok_or_else(|| gone(&format_args!("order {no}")))?,
                        };
                        let order = Order::try_from(row)?;
                        let refunds = to_refunds(self.refunds_of_order(no.as_str()).await?)?;
                        let object = EventObject::Order { order: &order, refunds: &refunds };
                        renderer.render(event, object)
                    }
                    EventSubject::Refund(id) => {
                        // The last row written for it is the one as stored now.
                        let known = written.refunds.iter().rev().find(|r| r.refund_id() == id.as_str());
                        let row = match known {
                            Some(row) => row.clone(),
                            None => self
                                .refund_by_id(id.as_str())
                                .await?
                                .ok_or_else(|| gone(&format_args!("refund {id}")))?,
                        };
                        renderer.render(event, EventObject::Refund(&Refund::try_from(row)?))
                    }
                };
                bodies.push(body);
            }
            Ok(bodies)
        }

        async fn append_events(
            &mut self,
            events: &[NewEvent],
            bodies: Vec<String>,
        ) -> Result<(), Abort<RepoError>> {
            if events.is_empty() {
                return Ok(());
            }
            self.lock_outbox(OutboxLock::Shared).await?;
            let rows = events
                .iter()
                .zip(bodies)
                .map(|(event, body)| NewEventRow {
                    id: event.id.to_string(),
                    event_type: event.event_type.as_str(),
                    object_id: event.subject.object_id().to_owned(),
                    created_at: DbTime(event.created_at),
                    body,
                })
                .collect();
            self.insert_event_rows(rows).await?;
            // Every new event's deliveries in one statement: each active endpoint that
            // wants its type, numbered by event, then in the endpoints' order.
            let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
            let type_pattern = "%,"
                .into_sql::<Text>()
                .concat(replace(events::event_type, "_", "\\_"))
                .concat(",%");
            let wants = endpoints::event_types
                .is_null()
                .or(endpoints::event_types.like(type_pattern.nullable()).escape('\\'));
            let wanting = events::table
                .inner_join(endpoints::table.on(endpoints::deleted_at.is_null().and(wants)))
                .filter(events::id.eq_any(ids))
                .order((events::seq.asc(), endpoints::created_at.asc(), endpoints::id.asc()))
                .select((
                    events::id,
                    endpoints::id,
                    DeliveryStatus::Pending.as_str().into_sql::<Text>(),
                    0_i64.into_sql::<BigInt>(),
                    events::created_at,
                    events::created_at.nullable(),
                    events::created_at,
                ));
            diesel::insert_into(deliveries::table)
                .values(wanting)
                .into_columns(delivery_columns!())
                .by_sql_for_list(events.len())
                .execute(self)
                .await?;
            Ok(())
        }

        async fn fan_out(
            &mut self,
            event_id: &str,
            event_type: EventType,
            at: DbTime,
        ) -> QueryResult<usize> {
            let served = deliveries::table
                .filter(deliveries::event_id.eq(event_id))
                .select(deliveries::endpoint_id);
            let wanting = endpoints::table
                .filter(endpoints::deleted_at.is_null())
                .filter(
                    endpoints::event_types
                        .is_null()
                        .or(endpoints::event_types.like(wants_pattern(event_type)).escape('\\')),
                )
                .filter(not(endpoints::id.eq_any(served)))
                // Deliveries numbered in the endpoints' order: the events API lists them so.
                .order((endpoints::created_at.asc(), endpoints::id.asc()))
                .select((
                    event_id.into_sql::<Text>(),
                    endpoints::id,
                    DeliveryStatus::Pending.as_str().into_sql::<Text>(),
                    0_i64.into_sql::<BigInt>(),
                    at.into_sql::<UtcTime>(),
                    at.into_sql::<UtcTime>().nullable(),
                    at.into_sql::<UtcTime>(),
                ));
            diesel::insert_into(deliveries::table)
                .values(wanting)
                .into_columns(delivery_columns!())
                .execute(self)
                .await
        }
    }
}
