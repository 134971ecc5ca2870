//! `/v1/events`: every status change, oldest first, to catch up after downtime; one
//! event with its deliveries; sending one again.

use std::sync::Arc;

use payport_domain::ports::EventFilter;
use payport_domain::EventId;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::auth::BearerAuth;
use super::auth::Role;
use super::error::ApiError;
use super::event_models::{Delivery, Event, EventDetail, EventPage, EventType};
use super::{parse_id, ApiTags};
use crate::state::AppState;

pub struct EventsApi;

const DEFAULT_EVENTS: u32 = 50;

#[derive(ApiResponse)]
pub enum Redelivering {
    /// Every delivery of the event is due again now, counting its retries afresh.
    #[oai(status = 202)]
    Accepted(Json<EventDetail>),
}

async fn detail(state: &AppState, id: &EventId, role: Role) -> Result<EventDetail, ApiError> {
    let (event, deliveries) = state.webhooks.get_event(id).await?;
    Ok(EventDetail {
        event: Event::from_stored(&event)?,
        deliveries: deliveries
            .into_iter()
            .map(|d| Delivery::from(d).seen_by(role))
            .collect(),
    })
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Events")]
impl EventsApi {
    /// List events
    ///
    /// Oldest first. To catch up, pass the last event id you processed as `after`,
    /// then each answer's `next_cursor`, until it is absent. `limit` is 50 by
    /// default, at most 100. Each event is the body its webhook deliveries send.
    #[oai(path = "/events", method = "get", operation_id = "listEvents")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: BearerAuth,
        /// Only events of this type.
        #[oai(name = "type")]
        event_type: Query<Option<EventType>>,
        /// Only events about this order (out_trade_no) or refund (refund_id).
        object_id: Query<Option<String>>,
        /// Only events written after this one (an event id).
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))]
        after: Query<Option<String>>,
        /// Events per page: 1 to 100, 50 by default.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<EventPage>, ApiError> {
        let filter = EventFilter {
            event_type: event_type.0.map(Into::into),
            object_id: object_id.0,
            after: after.0.map(parse_id(EventId::parse)).transpose()?,
            limit: limit.0.unwrap_or(DEFAULT_EVENTS),
        };
        let page = state.webhooks.list_events(&filter).await?;
        Ok(Json(EventPage {
            items: page
                .items
                .iter()
                .map(Event::from_stored)
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        }))
    }

    /// Get an event
    ///
    /// The event and its delivery to each endpoint: status, next attempt, and every
    /// attempt with its time and HTTP status; operators also see each endpoint's URL
    /// and each attempt's error.
    #[oai(path = "/events/:event_id", method = "get", operation_id = "getEvent")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] event_id: Path<
            String,
        >,
    ) -> Result<Json<EventDetail>, ApiError> {
        let id = parse_id(EventId::parse)(event_id.0)?;
        Ok(Json(detail(&state, &id, auth.role()).await?))
    }

    /// Send an event again (operator)
    ///
    /// Every endpoint that wants the event gets it again, from now on, by the usual
    /// retry schedule; delivered and failed deliveries included.
    #[oai(
        path = "/events/:event_id/redeliver",
        method = "post",
        operation_id = "redeliverEvent"
    )]
    async fn redeliver(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] event_id: Path<
            String,
        >,
    ) -> Result<Redelivering, ApiError> {
        auth.require_operator()?;
        let id = parse_id(EventId::parse)(event_id.0)?;
        state.webhooks.redeliver(&id).await?;
        Ok(Redelivering::Accepted(Json(
            detail(&state, &id, auth.role()).await?,
        )))
    }
}
