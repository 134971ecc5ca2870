//! The Webhooks use case with every port mocked: endpoints (`endpoints`), the events
//! API (`events_api`), and one delivery attempt by the retry schedule (`delivery`).

mod delivery;
mod endpoints;
mod events_api;

use std::sync::Arc;

use payport_domain::ports::*;
use payport_domain::usecases::{WebhookPorts, Webhooks};
use payport_domain::webhook::RetrySchedule;

use super::support::t0;

/// The mocked ports; the clock reads [`t0`] unless a test sets its own.
struct Mocks {
    events: MockEventLog,
    endpoints: MockWebhookEndpoints,
    deliveries: MockDeliveryQueue,
    sender: MockWebhookSender,
    ids: MockIdSource,
    clock: Option<MockClock>,
}

impl Mocks {
    fn new() -> Mocks {
        Mocks {
            events: MockEventLog::new(),
            endpoints: MockWebhookEndpoints::new(),
            deliveries: MockDeliveryQueue::new(),
            sender: MockWebhookSender::new(),
            ids: MockIdSource::new(),
            clock: None,
        }
    }

    fn build(self) -> Webhooks {
        let clock = self.clock.unwrap_or_else(|| {
            let mut clock = MockClock::new();
            clock.expect_now().returning(t0);
            clock
        });
        Webhooks::new(
            WebhookPorts {
                events: Arc::new(self.events),
                endpoints: Arc::new(self.endpoints),
                deliveries: Arc::new(self.deliveries),
                sender: Arc::new(self.sender),
                clock: Arc::new(clock),
                ids: Arc::new(self.ids),
            },
            RetrySchedule::default(),
        )
    }
}
