//! The webhook sender as wired: whichever sends (the built-in signed POSTs or a
//! program's own), each attempt's answer is logged and counted.

use std::sync::Arc;

use async_trait::async_trait;
use payport_domain::ports::WebhookSender;
use payport_domain::webhook::{DeliveryAttempt, DueDelivery};

/// Logs what each attempt got back: the event, the endpoint's host (not the whole
/// URL, which may carry the receiver's own token), the status code or the short
/// reason. Never the secret or the body.
pub(super) struct Logged(pub Arc<dyn WebhookSender>);

#[async_trait]
impl WebhookSender for Logged {
    async fn send(&self, delivery: &DueDelivery) -> DeliveryAttempt {
        let attempt = self.0.send(delivery).await;
        let outcome = match attempt.status_code {
            _ if attempt.delivered() => "delivered",
            Some(_) => "http_error",
            None => "no_answer",
        };
        metrics::counter!("payport_webhook_attempts_total", "outcome" => outcome).increment(1);
        metrics::histogram!("payport_webhook_attempt_duration_seconds", "outcome" => outcome)
            .record(
                std::time::Duration::from_millis(attempt.duration_ms.max(0).unsigned_abs())
                    .as_secs_f64(),
            );
        let host = reqwest::Url::parse(&delivery.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        tracing::info!(
            event_id = delivery.event_id.as_str(),
            endpoint_id = delivery.endpoint_id.as_str(),
            host,
            status_code = attempt.status_code,
            error = attempt.error.as_deref(),
            ms = attempt.duration_ms,
            "webhook attempt"
        );
        attempt
    }
}
