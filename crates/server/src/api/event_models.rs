//! The API's events and webhook endpoints, and [`ApiEventRenderer`], which makes the
//! body every delivery of an event sends: the event object exactly as
//! `GET /v1/events` shows it, with the order or refund as the API shows it to a
//! merchant right after the change.

use chrono::{DateTime, Utc};
use payport_domain::event::NewEvent;
use payport_domain::ports::{EventObject as DomainObject, EventRenderer, StoredEvent};
use payport_domain::webhook::{
    DeliveryAttempt as DomainAttempt, DeliveryRecord, WebhookEndpoint as DomainEndpoint,
};
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{Enum, Object, Union};

use super::auth::Role;
use super::error::ApiError;
use super::models::{Order, Refund, Text};

/// `order.<status>` or `refund.<status>`: one event per status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(remote = "payport_domain::event::EventType")]
pub enum EventType {
    #[oai(rename = "order.paid")]
    OrderPaid,
    #[oai(rename = "order.partially_refunded")]
    OrderPartiallyRefunded,
    #[oai(rename = "order.refunded")]
    OrderRefunded,
    #[oai(rename = "order.closed")]
    OrderClosed,
    #[oai(rename = "order.finished")]
    OrderFinished,
    #[oai(rename = "refund.pending_approval")]
    RefundPendingApproval,
    #[oai(rename = "refund.approved")]
    RefundApproved,
    #[oai(rename = "refund.rejected")]
    RefundRejected,
    #[oai(rename = "refund.processing")]
    RefundProcessing,
    #[oai(rename = "refund.awaiting_operator")]
    RefundAwaitingOperator,
    #[oai(rename = "refund.succeeded")]
    RefundSucceeded,
    #[oai(rename = "refund.failed")]
    RefundFailed,
}

/// The order (`order.*`, with its refunds) or the refund (`refund.*`) as it was right
/// after the change. Compare `version` to drop an event that arrives after a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Union)]
#[oai(one_of)]
pub enum EventObject {
    Order(Order),
    Refund(Refund),
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct EventData {
    pub object: EventObject,
}

/// A change of status, as delivered to webhooks (the body of every delivery).
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct Event {
    /// `evt_...`: the same on every delivery of this event; dedupe on it.
    pub id: String,
    #[oai(rename = "type")]
    pub event_type: EventType,
    pub created_at: DateTime<Utc>,
    pub data: EventData,
}

impl Event {
    /// The event as stored: its body is what was rendered with the change.
    ///
    /// # Errors
    /// A body that is not an event object (written by a store without the API's
    /// renderer).
    pub fn from_stored(event: &StoredEvent) -> Result<Event, ApiError> {
        let value = serde_json::from_str(&event.body).ok();
        Event::parse_from_json(value).map_err(|_| {
            tracing::warn!(event_id = %event.id, "a stored event body is not an event object");
            ApiError::new(
                poem::http::StatusCode::SERVICE_UNAVAILABLE,
                "STORAGE_UNAVAILABLE",
                format!("event {} cannot be read back", event.id),
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EventPage {
    /// Oldest first.
    pub items: Vec<Event>,
    /// Pass as `after` for the next page; absent when this page is not full.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(
    rename_all = "snake_case",
    remote = "payport_domain::webhook::DeliveryStatus"
)]
pub enum DeliveryStatus {
    /// Not answered 2xx yet; tried again at `next_attempt_at`.
    Pending,
    /// Answered 2xx.
    Delivered,
    /// Given up (by the retry schedule, or the endpoint was deleted).
    Failed,
}

/// One try: what the endpoint answered, if anything.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The HTTP status answered; absent when nothing came back (timeout, refused).
    pub status_code: Option<u16>,
    /// Why it was not delivered, in a short line (it may quote the endpoint's answer);
    /// absent when delivered, and shown to operators only.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// The event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Delivery {
    pub endpoint_id: String,
    /// Shown to operators only: an endpoint's URL may carry the receiver's own token.
    pub url: Option<String>,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempts: Vec<DeliveryAttempt>,
}

impl From<DomainAttempt> for DeliveryAttempt {
    fn from(a: DomainAttempt) -> Self {
        DeliveryAttempt {
            at: a.at,
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
        }
    }
}

impl From<DeliveryRecord> for Delivery {
    fn from(d: DeliveryRecord) -> Self {
        Delivery {
            endpoint_id: d.endpoint_id.to_string(),
            url: Some(d.url),
            status: d.status.into(),
            next_attempt_at: d.next_attempt_at,
            attempts: d.attempts.into_iter().map(Into::into).collect(),
        }
    }
}

impl Delivery {
    /// The delivery as `role` may see it: merchants get its state and the status codes
    /// answered, not where it went or what the endpoint said.
    pub fn seen_by(mut self, role: Role) -> Delivery {
        if role == Role::Merchant {
            self.url = None;
            for attempt in &mut self.attempts {
                attempt.error = None;
            }
        }
        self
    }
}

/// An event with where it went.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct EventDetail {
    #[oai(flatten)]
    pub event: Event,
    /// One per endpoint that wants the event.
    pub deliveries: Vec<Delivery>,
}

/// Where events are POSTed. Its secret is shown once, when it is created.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookEndpoint {
    /// `we_...`; `we_configured` is the one set by `PAYPORT_WEBHOOKS__URL`.
    pub id: String,
    pub url: String,
    /// The event types it gets; absent: all of them.
    pub event_types: Option<Vec<EventType>>,
    /// Set from configuration rather than this API.
    pub configured: bool,
    pub created_at: DateTime<Utc>,
}

impl From<DomainEndpoint> for WebhookEndpoint {
    fn from(e: DomainEndpoint) -> Self {
        WebhookEndpoint {
            id: e.id.to_string(),
            url: e.url,
            event_types: e
                .event_types
                .map(|types| types.into_iter().map(Into::into).collect()),
            configured: e.configured,
            created_at: e.created_at,
        }
    }
}

/// A new endpoint, with the secret its deliveries are signed with. Keep the secret:
/// it is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct CreatedWebhookEndpoint {
    #[oai(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The HMAC-SHA256 key of `Payport-Signature`.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CreateWebhookEndpoint {
    /// An absolute http(s) URL with a host name or an IPv4 address, of at most 1024
    /// characters, that answers 2xx to a POST.
    #[oai(validator(
        max_length = 1024,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?(/[!-~]*)?$"
    ))]
    pub url: Text,
    /// The event types to send it (at least one); absent: all of them.
    #[oai(nullable, validator(min_items = 1))]
    pub event_types: Option<Vec<EventType>>,
}

/// Renders event bodies as the events API shows them; the store calls it inside the
/// transaction of each change.
pub struct ApiEventRenderer;

impl EventRenderer for ApiEventRenderer {
    fn render(&self, event: &NewEvent, object: DomainObject<'_>) -> String {
        // The store renders each event in the transaction that writes it, after the
        // change itself was saved: the one place that sees every status change.
        let event_type = event.event_type.as_str();
        if let Some((object, status)) = event_type.split_once('.') {
            let series = if object == "refund" {
                "payport_refund_transitions_total"
            } else {
                "payport_order_transitions_total"
            };
            metrics::counter!(series, "status" => status).increment(1);
        }
        // Merchants get the webhooks: nothing here is for operators only.
        let object = match object {
            DomainObject::Order { order, refunds } => EventObject::Order(Order::from_domain(
                order.clone(),
                refunds.to_vec(),
                Role::Merchant,
            )),
            DomainObject::Refund(refund) => {
                EventObject::Refund(Refund::from(refund.clone()).seen_by(Role::Merchant))
            }
        };
        let event = Event {
            id: event.id.to_string(),
            event_type: event.event_type.into(),
            created_at: event.created_at,
            data: EventData { object },
        };
        event.to_json_string()
    }
}
