//! The outbox's reading and delivering ports in memory: `EventLog`,
//! `WebhookEndpoints` and `DeliveryQueue`, with `DieselStore`'s rules (see its
//! `events.rs`, `webhooks.rs` and `deliveries.rs`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payport_domain::ports::{
    DeliveryBacklog, DeliveryQueue, EventFilter, EventLog, Page, StoredEvent, WebhookEndpoints,
};
use payport_domain::webhook::{
    DeliveryAttempt, DeliveryNext, DeliveryRecord, DeliveryStatus, DueDelivery, WebhookEndpoint,
    WebhookSecret,
};
use payport_domain::{EndpointId, EventId, RepoError};

use super::outbox::{Delivery, Outbox, StoredEndpoint};
use super::queue::lease_window;
use super::MemoryStore;
use crate::lock;

/// What a deleted endpoint's pending deliveries end with.
const ENDPOINT_DELETED: &str = "endpoint deleted";

/// Soft-deletes the endpoint and fails its pending deliveries; false when there is
/// no such active endpoint.
fn retire(outbox: &mut Outbox, id: &EndpointId, now: DateTime<Utc>) -> bool {
    let Some(stored) = outbox
        .endpoints
        .iter_mut()
        .find(|e| &e.endpoint.id == id && e.active())
    else {
        return false;
    };
    stored.deleted_at = Some(now);
    for delivery in &mut outbox.deliveries {
        if &delivery.endpoint_id == id && delivery.status == DeliveryStatus::Pending {
            delivery.log.push(DeliveryAttempt {
                at: now,
                status_code: None,
                error: Some(ENDPOINT_DELETED.into()),
                duration_ms: 0,
            });
            delivery.status = DeliveryStatus::Failed;
            delivery.next_attempt_at = None;
            delivery.claimed_until = None;
        }
    }
    true
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn list_events(&self, filter: &EventFilter) -> Result<Page<StoredEvent>, RepoError> {
        let outbox = lock(&self.outbox);
        let start = match &filter.after {
            None => 0,
            Some(after) => {
                outbox
                    .events
                    .iter()
                    .position(|e| &e.id == after)
                    .ok_or_else(|| RepoError::NotFound(format!("event {after}")))?
                    + 1
            }
        };
        let limit = match filter.limit {
            0 => 50,
            n => n.min(500),
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let items: Vec<StoredEvent> = outbox.events[start..]
            .iter()
            .filter(|e| filter.event_type.is_none_or(|t| e.event_type == t))
            .filter(|e| filter.object_id.as_ref().is_none_or(|o| &e.object_id == o))
            .take(limit)
            .cloned()
            .collect();
        let next_cursor = (items.len() == limit)
            .then(|| items.last().map(|e| e.id.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn get_event(&self, id: &EventId) -> Result<Option<StoredEvent>, RepoError> {
        Ok(lock(&self.outbox).event(id).cloned())
    }

    async fn deliveries(&self, id: &EventId) -> Result<Vec<DeliveryRecord>, RepoError> {
        let outbox = lock(&self.outbox);
        outbox
            .deliveries
            .iter()
            .filter(|d| &d.event_id == id)
            .map(|d| {
                let endpoint = outbox.endpoint(&d.endpoint_id).ok_or_else(|| {
                    RepoError::Unavailable(format!("delivery {} lost its endpoint", d.id))
                })?;
                Ok(DeliveryRecord {
                    endpoint_id: d.endpoint_id.clone(),
                    url: endpoint.endpoint.url.clone(),
                    status: d.status,
                    next_attempt_at: d.next_attempt_at,
                    attempts: d.log.clone(),
                })
            })
            .collect()
    }

    async fn redeliver(&self, id: &EventId, now: DateTime<Utc>) -> Result<bool, RepoError> {
        let mut outbox = lock(&self.outbox);
        if outbox.event(id).is_none() {
            return Ok(false);
        }
        let active: Vec<EndpointId> = outbox
            .endpoints
            .iter()
            .filter(|e| e.active())
            .map(|e| e.endpoint.id.clone())
            .collect();
        for delivery in &mut outbox.deliveries {
            if &delivery.event_id == id && active.contains(&delivery.endpoint_id) {
                delivery.status = DeliveryStatus::Pending;
                delivery.attempts = 0;
                delivery.since = now;
                delivery.next_attempt_at = Some(now);
                // As DieselStore: the lease stays, under a new claim.
                delivery.claim += 1;
            }
        }
        outbox.fan_out(id, now);
        Ok(true)
    }
}

#[async_trait]
impl WebhookEndpoints for MemoryStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), RepoError> {
        let mut outbox = lock(&self.outbox);
        if outbox.endpoint(&endpoint.id).is_some() {
            return Err(RepoError::Duplicate(format!(
                "webhook endpoint {}",
                endpoint.id
            )));
        }
        outbox.endpoints.push(StoredEndpoint {
            endpoint: endpoint.clone(),
            deleted_at: None,
        });
        Ok(())
    }

    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>, RepoError> {
        let mut active: Vec<WebhookEndpoint> = lock(&self.outbox)
            .endpoints
            .iter()
            .filter(|e| e.active())
            .map(|e| e.endpoint.clone())
            .collect();
        active.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(active)
    }

    async fn delete_endpoint(
        &self,
        id: &EndpointId,
        now: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        Ok(retire(&mut lock(&self.outbox), id, now))
    }

    async fn set_configured_endpoint(
        &self,
        endpoint: Option<(String, WebhookSecret)>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let id = EndpointId::parse(WebhookEndpoint::CONFIGURED_ID)
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        let mut outbox = lock(&self.outbox);
        let Some((url, secret)) = endpoint else {
            retire(&mut outbox, &id, now);
            return Ok(());
        };
        match outbox.endpoints.iter_mut().find(|e| e.endpoint.id == id) {
            Some(stored) => {
                stored.endpoint.url = url;
                stored.endpoint.secret = secret;
                stored.endpoint.event_types = None;
                stored.endpoint.configured = true;
                stored.deleted_at = None;
            }
            None => outbox.endpoints.push(StoredEndpoint {
                endpoint: WebhookEndpoint {
                    id,
                    url,
                    secret,
                    event_types: None,
                    configured: true,
                    created_at: now,
                },
                deleted_at: None,
            }),
        }
        Ok(())
    }
}

/// Whether a claim at `now` takes `d`: pending, due, claimed by no one (or by a
/// lease that ran out), to an active endpoint. The backlog counts the same.
fn claimable(d: &Delivery, endpoints: &[StoredEndpoint], now: DateTime<Utc>) -> bool {
    d.status == DeliveryStatus::Pending
        && d.next_attempt_at.is_some_and(|at| at <= now)
        && d.claimed_until.is_none_or(|until| until <= now)
        && endpoints
            .iter()
            .any(|e| e.endpoint.id == d.endpoint_id && e.active())
}

#[async_trait]
impl DeliveryQueue for MemoryStore {
    async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<DueDelivery>, RepoError> {
        let (until, _) = lease_window(now, lease)?;
        let mut outbox = lock(&self.outbox);
        let Outbox {
            events,
            endpoints,
            deliveries,
        } = &mut *outbox;
        let mut due: Vec<_> = deliveries
            .iter_mut()
            .filter(|d| claimable(d, endpoints, now))
            .filter_map(|d| {
                let endpoint = endpoints
                    .iter()
                    .find(|e| e.endpoint.id == d.endpoint_id && e.active())?;
                let event = events.iter().find(|e| e.id == d.event_id)?;
                Some((d, endpoint, event))
            })
            .collect();
        due.sort_by_key(|(d, _, _)| (d.next_attempt_at, d.id));
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(due
            .into_iter()
            .map(|(d, endpoint, event)| {
                d.claimed_until = Some(until);
                d.claim += 1;
                DueDelivery {
                    delivery_id: d.id,
                    event_id: d.event_id.clone(),
                    endpoint_id: d.endpoint_id.clone(),
                    body: event.body.clone(),
                    url: endpoint.endpoint.url.clone(),
                    secret: endpoint.endpoint.secret.clone(),
                    attempts: d.attempts,
                    since: d.since,
                    claim: d.claim,
                }
            })
            .collect())
    }

    async fn delivery_backlog(&self, now: DateTime<Utc>) -> Result<DeliveryBacklog, RepoError> {
        let outbox = lock(&self.outbox);
        let due: Vec<_> = outbox
            .deliveries
            .iter()
            .filter(|d| claimable(d, &outbox.endpoints, now))
            .filter_map(|d| d.next_attempt_at)
            .collect();
        Ok(DeliveryBacklog {
            due: due.len() as u64,
            oldest_due_at: due.into_iter().min(),
        })
    }

    async fn record_attempt(
        &self,
        claimed: &DueDelivery,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
    ) -> Result<(), RepoError> {
        let mut outbox = lock(&self.outbox);
        let delivery = outbox
            .deliveries
            .iter_mut()
            .find(|d| d.id == claimed.delivery_id)
            .ok_or_else(|| {
                RepoError::NotFound(format!(
                    "record an attempt at webhook delivery {}",
                    claimed.delivery_id
                ))
            })?;
        delivery.log.push(attempt.clone());
        // As DieselStore: a replaced claim only adds to the history; under the current
        // one, a 2xx is the truth and a failure moves only a pending delivery.
        if delivery.claim != claimed.claim {
            return Ok(());
        }
        delivery.attempts = delivery.attempts.saturating_add(1);
        delivery.claimed_until = None;
        let pending = delivery.status == DeliveryStatus::Pending;
        match next {
            DeliveryNext::Delivered => {
                delivery.status = DeliveryStatus::Delivered;
                delivery.next_attempt_at = None;
            }
            DeliveryNext::RetryAt(at) if pending => delivery.next_attempt_at = Some(at),
            DeliveryNext::GiveUp if pending => {
                delivery.status = DeliveryStatus::Failed;
                delivery.next_attempt_at = None;
            }
            DeliveryNext::RetryAt(_) | DeliveryNext::GiveUp => {}
        }
        Ok(())
    }
}
