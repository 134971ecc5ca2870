//! [`EventLog`]: the events the outbox wrote, oldest first, their deliveries, and
//! sending one again.
//!
//! Oldest first is `(tx, seq)` order: by writing transaction (its id, in the order
//! PostgreSQL handed them out), then as written. On PostgreSQL event writers do not
//! wait for each other, so an event may commit after a later one; the list therefore
//! shows only the events of transactions that have ended before every transaction that
//! can still write one (`Dialect::settled_events`), and a reader paging after an event
//! never skips one committed later: it shows up once the transactions before it end.
//! The other readers need no such rule: an event by id, its deliveries and a
//! redelivery are about one committed event, and deliveries are claimed by due time,
//! in no event order (retries reorder them anyway; each event is delivered by itself).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::RunQueryDsl;
use payport_domain::event::EventType;
use payport_domain::ports::{EventFilter, EventLog, Page, StoredEvent};
use payport_domain::webhook::{DeliveryAttempt, DeliveryRecord, DeliveryStatus};
use payport_domain::{EndpointId, EventId, RepoError};

use crate::dialect::{Dialect, OutboxLock};
use crate::error::{corrupt, db_error, Abort};
use crate::outbox::OutboxQueries;
use crate::pool::{for_each_backend, with_conn, write_tx};
use crate::schema::{
    events, webhook_attempts as attempts, webhook_deliveries as deliveries,
    webhook_endpoints as endpoints,
};
use crate::time::DbTime;
use crate::DieselStore;

/// The most events one page holds; a limit of 0 asks for [`DEFAULT_LIMIT`].
const MAX_LIMIT: u32 = 500;
const DEFAULT_LIMIT: u32 = 50;

#[derive(Queryable, Selectable)]
#[diesel(table_name = events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct EventRow {
    id: String,
    event_type: String,
    object_id: String,
    created_at: DbTime,
    body: String,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = RepoError;

    fn try_from(row: EventRow) -> Result<StoredEvent, RepoError> {
        let at = |what: &str, value: &dyn std::fmt::Display| {
            corrupt(format!("events.{what} = {value} (id {:?})", row.id))
        };
        Ok(StoredEvent {
            event_type: EventType::parse(&row.event_type)
                .ok_or_else(|| at("event_type", &format!("{:?}", row.event_type)))?,
            id: EventId::parse(row.id.as_str()).map_err(|e| at("id", &e))?,
            object_id: row.object_id,
            created_at: row.created_at.0,
            body: row.body,
        })
    }
}

/// A delivery with its endpoint's URL, as `deliveries` shows it.
#[derive(Queryable)]
struct DeliveryRow {
    id: i64,
    endpoint_id: String,
    url: String,
    status: String,
    next_attempt_at: Option<DbTime>,
}

#[derive(Queryable)]
struct AttemptRow {
    delivery_id: i64,
    attempted_at: DbTime,
    status_code: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
}

impl TryFrom<AttemptRow> for DeliveryAttempt {
    type Error = RepoError;

    fn try_from(row: AttemptRow) -> Result<DeliveryAttempt, RepoError> {
        let status_code = row
            .status_code
            .map(|code| {
                u16::try_from(code).map_err(|_| {
                    corrupt(format!(
                        "webhook_attempts.status_code = {code} (delivery {})",
                        row.delivery_id
                    ))
                })
            })
            .transpose()?;
        Ok(DeliveryAttempt {
            at: row.attempted_at.0,
            status_code,
            error: row.error,
            duration_ms: row.duration_ms,
        })
    }
}

fn to_record(
    row: DeliveryRow,
    attempts: &mut Vec<AttemptRow>,
) -> Result<DeliveryRecord, RepoError> {
    let at = |what: &str, value: &dyn std::fmt::Display| {
        corrupt(format!(
            "webhook_deliveries.{what} = {value} (id {})",
            row.id
        ))
    };
    let (mine, rest): (Vec<AttemptRow>, Vec<AttemptRow>) = std::mem::take(attempts)
        .into_iter()
        .partition(|a| a.delivery_id == row.id);
    *attempts = rest;
    Ok(DeliveryRecord {
        endpoint_id: EndpointId::parse(row.endpoint_id.as_str())
            .map_err(|e| at("endpoint_id", &e))?,
        status: DeliveryStatus::parse(&row.status)
            .ok_or_else(|| at("status", &format!("{:?}", row.status)))?,
        url: row.url,
        next_attempt_at: row.next_attempt_at.map(|t| t.0),
        attempts: mine
            .into_iter()
            .map(DeliveryAttempt::try_from)
            .collect::<Result<_, _>>()?,
    })
}

trait EventQueries {
    /// The event's place in the list, its `(tx, seq)`, and whether it is listable yet.
    async fn event_position(&mut self, id: &str) -> QueryResult<Option<((i64, i64), bool)>>;
    /// Listable events (see the module doc) after `after`, in `(tx, seq)` order.
    async fn list_event_rows(
        &mut self,
        filter: &EventFilter,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> QueryResult<Vec<EventRow>>;
    async fn event_by_id(&mut self, id: &str) -> QueryResult<Option<EventRow>>;
    /// The event's deliveries by id, and all their attempts, oldest first.
    async fn delivery_rows(
        &mut self,
        event_id: &str,
    ) -> QueryResult<(Vec<DeliveryRow>, Vec<AttemptRow>)>;
    /// See [`EventLog::redeliver`]; `Ok(false)` when there is no such event.
    async fn redeliver_event(&mut self, id: &str, now: DbTime) -> Result<bool, Abort<RepoError>>;
}

for_each_backend! {
    impl EventQueries {
        async fn event_position(&mut self, id: &str) -> QueryResult<Option<((i64, i64), bool)>> {
            // One read: where the event is, and whether the listing rule admits it yet.
            let listable = sql::<Bool>(Self::settled_events().unwrap_or("TRUE"));
            let row: Option<(i64, i64, bool)> = events::table
                .filter(events::id.eq(id))
                .select((events::tx, events::seq, listable))
                .get_result(self)
                .await
                .optional()?;
            Ok(row.map(|(tx, seq, listable)| ((tx, seq), listable)))
        }

        async fn list_event_rows(
            &mut self,
            filter: &EventFilter,
            after: Option<(i64, i64)>,
            limit: i64,
        ) -> QueryResult<Vec<EventRow>> {
            let mut query = events::table
                .select(EventRow::as_select())
                .order((events::tx.asc(), events::seq.asc()))
                .limit(limit)
                .into_boxed();
            if let Some((tx, seq)) = after {
                // A row value, so that the `(tx, seq)` indexes serve it as one range.
                query = query.filter(
                    sql::<Bool>("(events.tx, events.seq) > (")
                        .bind::<BigInt, _>(tx)
                        .sql(", ")
                        .bind::<BigInt, _>(seq)
                        .sql(")"),
                );
            }
            if let Some(settled) = Self::settled_events() {
                query = query.filter(sql::<Bool>(settled));
            }
            if let Some(event_type) = filter.event_type {
                query = query.filter(events::event_type.eq(event_type.as_str()));
            }
            if let Some(object_id) = &filter.object_id {
                query = query.filter(events::object_id.eq(object_id.as_str()));
            }
            query.load(self).await
        }

        async fn event_by_id(&mut self, id: &str) -> QueryResult<Option<EventRow>> {
            events::table
                .filter(events::id.eq(id))
                .select(EventRow::as_select())
                .get_result(self)
                .await
                .optional()
        }

        async fn delivery_rows(
            &mut self,
            event_id: &str,
        ) -> QueryResult<(Vec<DeliveryRow>, Vec<AttemptRow>)> {
            let rows: Vec<DeliveryRow> = deliveries::table
                .inner_join(endpoints::table)
                .filter(deliveries::event_id.eq(event_id))
                .order(deliveries::id.asc())
                .select((
                    deliveries::id,
                    deliveries::endpoint_id,
                    endpoints::url,
                    deliveries::status,
                    deliveries::next_attempt_at,
                ))
                .load(self)
                .await?;
            let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
            let tries = attempts::table
                .filter(attempts::delivery_id.eq_any(ids))
                .order(attempts::id.asc())
                .select((
                    attempts::delivery_id,
                    attempts::attempted_at,
                    attempts::status_code,
                    attempts::error,
                    attempts::duration_ms,
                ))
                .load(self)
                .await?;
            Ok((rows, tries))
        }

        async fn redeliver_event(&mut self, id: &str, now: DbTime) -> Result<bool, Abort<RepoError>> {
            // Exclusive: two redeliveries of one event at once would both give a new
            // endpoint a delivery of it (one failing on the unique key). Rare enough
            // that holding off the event writers for it costs nothing.
            self.lock_outbox(OutboxLock::Exclusive).await?;
            let Some(row) = self.event_by_id(id).await? else {
                return Ok(false);
            };
            let event = StoredEvent::try_from(row)?;
            // Deliveries to deleted endpoints stay as they are: nobody would send them.
            // A live lease is kept (no second send joins one in flight), but under a
            // new claim, so that the attempt in flight cannot undo this.
            let active = endpoints::table
                .filter(endpoints::deleted_at.is_null())
                .select(endpoints::id);
            diesel::update(deliveries::table)
                .filter(deliveries::event_id.eq(id))
                .filter(deliveries::endpoint_id.eq_any(active))
                .set((
                    deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                    deliveries::attempts.eq(0),
                    deliveries::since.eq(now),
                    deliveries::next_attempt_at.eq(now),
                    deliveries::claim.eq(deliveries::claim + 1),
                    deliveries::updated_at.eq(now),
                ))
                .execute(self)
                .await?;
            self.fan_out(id, event.event_type, now).await?;
            Ok(true)
        }
    }
}

#[async_trait]
impl EventLog for DieselStore {
    async fn list_events(&self, filter: &EventFilter) -> Result<Page<StoredEvent>, RepoError> {
        let limit = match filter.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let rows = with_conn!(self, |conn| {
            let after = match &filter.after {
                None => None,
                Some(after) => match conn.event_position(after.as_str()).await {
                    Ok(Some((position, true))) => Some(position),
                    // Known (by webhook, say) before the transactions before it ended:
                    // listing after it now could skip one of theirs that commits
                    // later. Nothing yet; the same cursor lists on in a moment.
                    Ok(Some((_, false))) => {
                        return Ok(Page {
                            items: Vec::new(),
                            next_cursor: Some(after.to_string()),
                        })
                    }
                    Ok(None) => return Err(RepoError::NotFound(format!("event {after}"))),
                    Err(e) => return Err(db_error("list events", e)),
                },
            };
            conn.list_event_rows(filter, after, i64::from(limit))
                .await
                .map_err(|e| db_error("list events", e))?
        });
        let items = rows
            .into_iter()
            .map(StoredEvent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let full = items.len() == usize::try_from(limit).unwrap_or(usize::MAX);
        let next_cursor = full
            .then(|| items.last().map(|e| e.id.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn get_event(&self, id: &EventId) -> Result<Option<StoredEvent>, RepoError> {
        with_conn!(self, |conn| conn.event_by_id(id.as_str()).await)
            .map_err(|e| db_error(format_args!("read event {id}"), e))?
            .map(StoredEvent::try_from)
            .transpose()
    }

    async fn deliveries(&self, id: &EventId) -> Result<Vec<DeliveryRecord>, RepoError> {
        let (rows, mut tries) = with_conn!(self, |conn| conn.delivery_rows(id.as_str()).await)
            .map_err(|e| db_error(format_args!("read deliveries of event {id}"), e))?;
        rows.into_iter()
            .map(|row| to_record(row, &mut tries))
            .collect()
    }

    async fn redeliver(&self, id: &EventId, now: DateTime<Utc>) -> Result<bool, RepoError> {
        write_tx!(self, |conn| conn
            .redeliver_event(id.as_str(), DbTime(now))
            .await)
        .map_err(|e: Abort<RepoError>| e.into_repo(format_args!("redeliver event {id}")))
    }
}
