//! The outbox in memory: events, webhook endpoints and deliveries, behind one lock
//! taken after the orders' and the refunds' (see the parent module).
//!
//! [`Outbox::write`] checks everything before it changes anything, so a save that
//! calls it before committing its rows stores its change and its events together, or
//! neither, as `DieselStore` does in one transaction.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use payport_domain::event::{EventSubject, NewEvent};
use payport_domain::ports::{EventObject, EventRenderer, StoredEvent};
use payport_domain::webhook::{DeliveryAttempt, DeliveryStatus, WebhookEndpoint};
use payport_domain::{EndpointId, EventId, Order, OutTradeNo, Refund, RepoError};

/// The renderer of a store nobody gave one: the JSON envelope `DieselStore`'s default
/// writes, naming the object.
struct EnvelopeRenderer;

impl EventRenderer for EnvelopeRenderer {
    fn render(&self, event: &NewEvent, _object: EventObject<'_>) -> String {
        // Ids are letters, digits and `_`, and the time RFC 3339: nothing to escape.
        format!(
            r#"{{"id":"{}","type":"{}","created_at":"{}","data":{{"object":{{"id":"{}"}}}}}}"#,
            event.id,
            event.event_type.as_str(),
            event
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            event.subject.object_id()
        )
    }
}

/// The store's [`EventRenderer`].
#[derive(Clone)]
pub(crate) struct Renderer(pub Arc<dyn EventRenderer>);

impl Default for Renderer {
    fn default() -> Self {
        Renderer(Arc::new(EnvelopeRenderer))
    }
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Renderer")
    }
}

/// An endpoint as stored: soft-deleted, so that its deliveries stay visible.
#[derive(Debug, Clone)]
pub(crate) struct StoredEndpoint {
    pub endpoint: WebhookEndpoint,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl StoredEndpoint {
    pub fn active(&self) -> bool {
        self.deleted_at.is_none()
    }
}

/// One event for one endpoint (the columns of `webhook_deliveries`), with its attempts.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub id: i64,
    pub event_id: EventId,
    pub endpoint_id: EndpointId,
    pub status: DeliveryStatus,
    /// Attempts since `since`.
    pub attempts: u32,
    pub since: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub claimed_until: Option<DateTime<Utc>>,
    /// Bumped by every claim and redelivery (the `claim` column).
    pub claim: i64,
    /// Oldest first.
    pub log: Vec<DeliveryAttempt>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Outbox {
    /// In the order written: the index is the `seq`.
    pub events: Vec<StoredEvent>,
    pub endpoints: Vec<StoredEndpoint>,
    /// In the order made: ids count up from 1.
    pub deliveries: Vec<Delivery>,
}

impl Outbox {
    /// Writes `events` about the objects as `orders` and `refunds` hold them after the
    /// change, with their deliveries; changes nothing when it fails.
    pub fn write(
        &mut self,
        renderer: &Renderer,
        events: &[NewEvent],
        orders: &HashMap<OutTradeNo, Order>,
        refunds: &[Refund],
    ) -> Result<(), RepoError> {
        let mut ids: HashSet<&EventId> = HashSet::new();
        for event in events {
            if !ids.insert(&event.id) || self.event(&event.id).is_some() {
                return Err(RepoError::Duplicate(format!("event {}", event.id)));
            }
        }
        let mut bodies = Vec::with_capacity(events.len());
        for event in events {
            let gone = |what: String| RepoError::NotFound(format!("{what} of event {}", event.id));
            let body = match &event.subject {
                EventSubject::Order(no) => {
                    let order = orders.get(no).ok_or_else(|| gone(format!("order {no}")))?;
                    let mut of_order: Vec<Refund> = refunds
                        .iter()
                        .filter(|r| &r.out_trade_no == no)
                        .cloned()
                        .collect();
                    of_order.sort_by(|a, b| {
                        (a.created_at, &a.refund_id).cmp(&(b.created_at, &b.refund_id))
                    });
                    let object = EventObject::Order {
                        order,
                        refunds: &of_order,
                    };
                    renderer.0.render(event, object)
                }
                EventSubject::Refund(id) => {
                    let refund = refunds
                        .iter()
                        .find(|r| &r.refund_id == id)
                        .ok_or_else(|| gone(format!("refund {id}")))?;
                    renderer.0.render(event, EventObject::Refund(refund))
                }
            };
            bodies.push(body);
        }
        for (event, body) in events.iter().zip(bodies) {
            self.events.push(StoredEvent {
                id: event.id.clone(),
                event_type: event.event_type,
                object_id: event.subject.object_id().to_owned(),
                created_at: event.created_at,
                body,
            });
            self.fan_out(&event.id, event.created_at);
        }
        Ok(())
    }

    pub fn event(&self, id: &EventId) -> Option<&StoredEvent> {
        self.events.iter().find(|e| &e.id == id)
    }

    /// Gives every active endpoint that wants the event and has no delivery of it a
    /// pending one, due at `at`.
    pub fn fan_out(&mut self, event_id: &EventId, at: DateTime<Utc>) {
        let Some(event_type) = self.event(event_id).map(|e| e.event_type) else {
            return;
        };
        let mut wanting: Vec<&WebhookEndpoint> = self
            .endpoints
            .iter()
            .filter(|e| e.active() && e.endpoint.wants(event_type))
            .map(|e| &e.endpoint)
            .collect();
        // Deliveries numbered in the endpoints' order, as DieselStore numbers them.
        wanting.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let wanting: Vec<EndpointId> = wanting
            .into_iter()
            .map(|e| e.id.clone())
            .filter(|id| {
                !self
                    .deliveries
                    .iter()
                    .any(|d| &d.event_id == event_id && &d.endpoint_id == id)
            })
            .collect();
        for endpoint_id in wanting {
            let id = i64::try_from(self.deliveries.len()).unwrap_or(i64::MAX) + 1;
            self.deliveries.push(Delivery {
                id,
                event_id: event_id.clone(),
                endpoint_id,
                status: DeliveryStatus::Pending,
                attempts: 0,
                since: at,
                next_attempt_at: Some(at),
                claimed_until: None,
                claim: 0,
                log: Vec::new(),
            });
        }
    }

    pub fn endpoint(&self, id: &EndpointId) -> Option<&StoredEndpoint> {
        self.endpoints.iter().find(|e| &e.endpoint.id == id)
    }
}
