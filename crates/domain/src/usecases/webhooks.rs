//! Webhooks: the endpoints events go to, the events API, and delivering one claimed
//! delivery by the retry schedule.
//!
//! Events themselves are written by the other use cases, with the change they
//! describe; this one only reads and delivers them.

use std::sync::Arc;
use std::time::Duration;

use super::shared::check_url;
use super::ServiceError;
use crate::error::RepoError;
use crate::event::EventType;
use crate::ids::{EndpointId, EventId};
use crate::ports::{
    Clock, DeliveryBacklog, DeliveryQueue, EventFilter, EventLog, IdSource, Page, StoredEvent,
    WebhookEndpoints, WebhookSender,
};
use crate::webhook::{
    DeliveryNext, DeliveryRecord, DueDelivery, RetrySchedule, WebhookEndpoint, WebhookSecret,
};

/// The ports webhooks need, cheap to clone.
#[derive(Clone)]
pub struct WebhookPorts {
    pub events: Arc<dyn EventLog>,
    pub endpoints: Arc<dyn WebhookEndpoints>,
    pub deliveries: Arc<dyn DeliveryQueue>,
    pub sender: Arc<dyn WebhookSender>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
}

/// The most events one page of the events API holds.
pub const MAX_EVENTS_PER_PAGE: u32 = 100;

#[derive(Clone)]
pub struct Webhooks {
    ports: WebhookPorts,
    schedule: RetrySchedule,
}

impl Webhooks {
    pub fn new(ports: WebhookPorts, schedule: RetrySchedule) -> Webhooks {
        Webhooks { ports, schedule }
    }

    /// A new endpoint with a fresh secret, returned this once.
    ///
    /// # Errors
    /// `Validation` for a URL that is not absolute http(s), or an empty type list.
    pub async fn create_endpoint(
        &self,
        url: String,
        event_types: Option<Vec<EventType>>,
    ) -> Result<WebhookEndpoint, ServiceError> {
        check_url("url", &url)?;
        let event_types = match event_types {
            Some(types) if types.is_empty() => {
                return Err(ServiceError::Validation(
                    "event_types must name at least one type, or be left out for all".into(),
                ))
            }
            Some(mut types) => {
                types.sort_by_key(|t| t.as_str());
                types.dedup();
                Some(types)
            }
            None => None,
        };
        let endpoint = WebhookEndpoint {
            id: self.ports.ids.endpoint_id(),
            url,
            secret: self.ports.ids.webhook_secret(),
            event_types,
            configured: false,
            created_at: self.ports.clock.now(),
        };
        self.ports.endpoints.create_endpoint(&endpoint).await?;
        Ok(endpoint)
    }

    /// # Errors
    /// `Storage`.
    pub async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>, ServiceError> {
        Ok(self.ports.endpoints.list_endpoints().await?)
    }

    /// # Errors
    /// `EndpointNotFound`.
    pub async fn delete_endpoint(&self, id: &EndpointId) -> Result<(), ServiceError> {
        let now = self.ports.clock.now();
        if self.ports.endpoints.delete_endpoint(id, now).await? {
            Ok(())
        } else {
            Err(ServiceError::EndpointNotFound(id.clone()))
        }
    }

    /// Makes the configured endpoint match configuration (`None`: there is none).
    ///
    /// # Errors
    /// `Validation` for a URL that is not absolute http(s), or a blank secret (a
    /// signature made with it would prove nothing).
    pub async fn configure(
        &self,
        endpoint: Option<(String, WebhookSecret)>,
    ) -> Result<(), ServiceError> {
        if let Some((url, secret)) = &endpoint {
            check_url("webhooks.url", url)?;
            if secret.expose().trim().is_empty() {
                return Err(ServiceError::Validation(
                    "webhooks.secret must not be empty".into(),
                ));
            }
        }
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .endpoints
            .set_configured_endpoint(endpoint, now)
            .await?)
    }

    /// Events oldest first, after the cursor.
    ///
    /// # Errors
    /// `Validation` for a limit outside 1..=100; `EventNotFound` for an `after` that
    /// names no event (a well-formed id of nothing, as `GET /v1/events/{id}` answers it).
    pub async fn list_events(
        &self,
        filter: &EventFilter,
    ) -> Result<Page<StoredEvent>, ServiceError> {
        if !(1..=MAX_EVENTS_PER_PAGE).contains(&filter.limit) {
            return Err(ServiceError::Validation(format!(
                "limit must be between 1 and {MAX_EVENTS_PER_PAGE}"
            )));
        }
        self.ports
            .events
            .list_events(filter)
            .await
            .map_err(|e| match (e, &filter.after) {
                (RepoError::NotFound(_), Some(after)) => ServiceError::EventNotFound(after.clone()),
                (other, _) => other.into(),
            })
    }

    /// The event and its deliveries.
    ///
    /// # Errors
    /// `EventNotFound`.
    pub async fn get_event(
        &self,
        id: &EventId,
    ) -> Result<(StoredEvent, Vec<DeliveryRecord>), ServiceError> {
        let event = self
            .ports
            .events
            .get_event(id)
            .await?
            .ok_or_else(|| ServiceError::EventNotFound(id.clone()))?;
        let deliveries = self.ports.events.deliveries(id).await?;
        Ok((event, deliveries))
    }

    /// Sends the event again to every endpoint that wants it, from now on.
    ///
    /// # Errors
    /// `EventNotFound`.
    pub async fn redeliver(&self, id: &EventId) -> Result<(), ServiceError> {
        let now = self.ports.clock.now();
        if self.ports.events.redeliver(id, now).await? {
            Ok(())
        } else {
            Err(ServiceError::EventNotFound(id.clone()))
        }
    }

    /// Claims deliveries that are due, for `lease`.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn claim_due(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<DueDelivery>, ServiceError> {
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .deliveries
            .claim_due_deliveries(now, limit, lease)
            .await?)
    }

    /// What is due now and not claimed: how many deliveries, and since when the oldest.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn backlog(&self) -> Result<DeliveryBacklog, ServiceError> {
        let now = self.ports.clock.now();
        Ok(self.ports.deliveries.delivery_backlog(now).await?)
    }

    /// Makes one attempt at a claimed delivery and records it, under the claim it was
    /// sent under, with what follows: delivered on a 2xx, otherwise retried by the
    /// schedule or given up. When that claim was replaced meanwhile (a redelivery, or
    /// a lapsed lease and another sender), the attempt is only added to the history.
    ///
    /// # Errors
    /// `Storage` when the attempt could not be recorded: the claim then runs out and
    /// the delivery is attempted again (at least once, never lost).
    pub async fn deliver(&self, delivery: &DueDelivery) -> Result<DeliveryNext, ServiceError> {
        let attempt = self.ports.sender.send(delivery).await;
        let next = if attempt.delivered() {
            DeliveryNext::Delivered
        } else {
            let now = self.ports.clock.now();
            // Saturating: a count read back from storage must not panic the worker.
            let attempts = delivery.attempts.saturating_add(1);
            self.schedule.after_failure(attempts, delivery.since, now)
        };
        self.ports
            .deliveries
            .record_attempt(delivery, &attempt, next)
            .await?;
        Ok(next)
    }
}
