//! Webhooks: where events are delivered, each delivery's state, and the retry schedule.
//!
//! A delivery is one event for one endpoint. It is `pending` until an attempt is
//! answered 2xx (`delivered`), or until the schedule gives up (`failed`, and it stays
//! visible). Delivery is at least once: the event id is the receiver's dedupe key.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::event::EventType;
use crate::ids::{EndpointId, EventId};

/// The key an endpoint's deliveries are signed with (HMAC-SHA256). Shown once, when
/// the endpoint is created; never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: impl Into<String>) -> WebhookSecret {
        WebhookSecret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// Where events are POSTed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: EndpointId,
    pub url: String,
    pub secret: WebhookSecret,
    /// The event types it wants; `None`: all of them.
    pub event_types: Option<Vec<EventType>>,
    /// Set from configuration (`PAYPORT_WEBHOOKS__URL`) rather than the API.
    pub configured: bool,
    pub created_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// The id of the endpoint configuration sets; there is at most one.
    pub const CONFIGURED_ID: &'static str = "we_configured";

    pub fn wants(&self, event_type: EventType) -> bool {
        self.event_types
            .as_ref()
            .is_none_or(|types| types.contains(&event_type))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One try at delivering: what came back, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The HTTP status the endpoint answered; `None` when nothing came back.
    pub status_code: Option<u16>,
    /// Why it did not count as delivered (timeout, refused connection, a non-2xx
    /// status), short and free of secrets; `None` when delivered.
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl DeliveryAttempt {
    /// Delivered means answered with a 2xx.
    pub fn delivered(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// A delivery as the events API shows it: the endpoint, its state, every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub endpoint_id: EndpointId,
    pub url: String,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempts: Vec<DeliveryAttempt>,
}

/// A delivery claimed for sending, with all it needs to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    /// The store's handle on the delivery.
    pub delivery_id: i64,
    pub event_id: EventId,
    pub endpoint_id: EndpointId,
    /// The event as delivered: the same bytes on every attempt.
    pub body: String,
    pub url: String,
    pub secret: WebhookSecret,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When this delivery (re)started: the schedule gives up counting from here.
    pub since: DateTime<Utc>,
    /// The claim this copy was taken under. Every claim and every redelivery changes
    /// it, so an attempt recorded under an older one (its lease ran out and another
    /// sender claimed the delivery, or it was redelivered meanwhile) is kept in the
    /// history but moves the delivery no more.
    pub claim: i64,
}

/// What the store records after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    Delivered,
    RetryAt(DateTime<Utc>),
    GiveUp,
}

/// Exponential backoff: `first`, then doubling, at most `cap` apart, for `give_up_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first: Duration,
    pub cap: Duration,
    pub give_up_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            first: Duration::seconds(10),
            cap: Duration::hours(1),
            give_up_after: Duration::days(3),
        }
    }
}

impl RetrySchedule {
    /// What follows the `attempts`-th failed attempt (1 = the first) of a delivery
    /// that started at `since`, made at `now`.
    pub fn after_failure(
        &self,
        attempts: u32,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DeliveryNext {
        let doublings = attempts.saturating_sub(1).min(30);
        let delay = self
            .first
            .checked_mul(1_i32 << doublings)
            .map_or(self.cap, |d| d.min(self.cap));
        let next = now + delay;
        if next > since + self.give_up_after {
            DeliveryNext::GiveUp
        } else {
            DeliveryNext::RetryAt(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn backoff_starts_at_ten_seconds_doubles_caps_at_an_hour_and_gives_up_after_three_days() {
        let s = RetrySchedule::default();
        assert_eq!(
            s.after_failure(1, at(0), at(0)),
            DeliveryNext::RetryAt(at(10))
        );
        assert_eq!(
            s.after_failure(2, at(0), at(10)),
            DeliveryNext::RetryAt(at(30))
        );
        assert_eq!(
            s.after_failure(3, at(0), at(30)),
            DeliveryNext::RetryAt(at(70))
        );
        assert_eq!(
            s.after_failure(40, at(0), at(100)),
            DeliveryNext::RetryAt(at(3700))
        );
        let late = at(3 * 86_400 - 100);
        assert_eq!(s.after_failure(40, at(0), late), DeliveryNext::GiveUp);
    }

    #[test]
    fn a_secret_is_not_printed() {
        let s = WebhookSecret::new("whsec_abc");
        assert!(!format!("{s:?}").contains("abc"));
    }
}
