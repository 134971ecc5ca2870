//! The transactional outbox: events written in the transaction that makes the change.
//!
//! A save that changes a status runs, in ONE write transaction (`write_tx!`): the
//! conditional row update(s), then for each event: read the object back as it is now
//! stored (an order with its refunds oldest first, or a refund), render its body with
//! the store's [`EventRenderer`], insert the event, and insert a `pending` delivery of
//! it, due at once, for every active endpoint that wants its type (one
//! `INSERT ... SELECT`). Any error rolls all of it back: a change is never stored
//! without its events, nor an event without its change.
//!
//! Event writers take the outbox lock first, SHARED (`Dialect::lock_outbox`): they do
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

use crate::dialect::{Dialect, OutboxLock};
use crate::error::Abort;
use crate::orders::OrderQueries;
use crate::pool::for_each_backend;
use crate::refunds::{to_refunds, RefundQueries};
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

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEventRow<'a> {
    id: &'a str,
    event_type: &'static str,
    object_id: &'a str,
    created_at: DbTime,
    body: &'a str,
}

pub(crate) trait OutboxQueries {
    /// Writes `events` and their deliveries (see the module doc); call it inside a
    /// write transaction, after the change they describe.
    async fn write_events(
        &mut self,
        renderer: &dyn EventRenderer,
        events: &[NewEvent],
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
        async fn write_events(
            &mut self,
            renderer: &dyn EventRenderer,
            events: &[NewEvent],
        ) -> Result<(), Abort<RepoError>> {
            if events.is_empty() {
                return Ok(());
            }
            self.lock_outbox(OutboxLock::Shared).await?;
            for event in events {
                let gone = |what: &dyn std::fmt::Display| {
                    RepoError::NotFound(format!("{what} of event {}", event.id))
                };
                let body = match &event.subject {
                    EventSubject::Order(no) => {
                        let row = self
                            .order_by_no(no.as_str())
                            .await?
                            .ok_or_else(|| gone(&format_args!("order {no}")))?;
                        let order = Order::try_from(row)?;
                        let refunds = to_refunds(self.refunds_of_order(no.as_str()).await?)?;
                        let object = EventObject::Order { order: &order, refunds: &refunds };
                        renderer.render(event, object)
                    }
                    EventSubject::Refund(id) => {
                        let row = self
                            .refund_by_id(id.as_str())
                            .await?
                            .ok_or_else(|| gone(&format_args!("refund {id}")))?;
                        renderer.render(event, EventObject::Refund(&Refund::try_from(row)?))
                    }
                };
                let at = DbTime(event.created_at);
                diesel::insert_into(events::table)
                    .values(NewEventRow {
                        id: event.id.as_str(),
                        event_type: event.event_type.as_str(),
                        object_id: event.subject.object_id(),
                        created_at: at,
                        body: &body,
                    })
                    .execute(self)
                    .await?;
                self.fan_out(event.id.as_str(), event.event_type, at).await?;
            }
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
                .into_columns((
                    deliveries::event_id,
                    deliveries::endpoint_id,
                    deliveries::status,
                    deliveries::attempts,
                    deliveries::since,
                    deliveries::next_attempt_at,
                    deliveries::updated_at,
                ))
                .execute(self)
                .await
        }
    }
}
