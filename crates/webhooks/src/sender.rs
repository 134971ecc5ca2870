//! [`HttpWebhookSender`]: one signed POST per attempt, over reqwest (rustls).
//!
//! What is kept of an attempt is short and holds no secret: the status code, and for
//! anything but a 2xx a one-line reason with at most a clipped excerpt of the answer.
//! The secret never leaves this process (only its MAC does), and URLs are left out of
//! transport errors because a receiver's URL may carry a token of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use payport_domain::clip::clip_to;
use payport_domain::ports::{Clock, WebhookSender};
use payport_domain::webhook::{DeliveryAttempt, DueDelivery};
use reqwest::header::{HeaderValue, CONTENT_TYPE};

use crate::signature;

/// The event's id, the receiver's dedupe key.
pub const EVENT_ID_HEADER: &str = "Payport-Event-Id";
/// `t=<unix seconds>,v1=<hex HMAC-SHA256>` (see [`signature`]).
pub const SIGNATURE_HEADER: &str = "Payport-Signature";
/// How long an attempt may take by default, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of a non-2xx answer's body is read, and how much of it is kept.
const READ_AT_MOST: usize = 1024;
const KEPT_BYTES: usize = 200;

/// POSTs events to webhook endpoints, signed with each endpoint's secret.
pub struct HttpWebhookSender {
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    timeout: Duration,
}

impl HttpWebhookSender {
    /// A sender whose attempts end after `timeout` (connecting, sending and reading
    /// the answer). Redirects are not followed: a 3xx is not delivered, so an event
    /// never goes anywhere but the endpoint's own URL.
    ///
    /// # Errors
    /// The HTTP client cannot be built (no TLS roots).
    pub fn new(timeout: Duration, clock: Arc<dyn Clock>) -> Result<HttpWebhookSender, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("payport/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(HttpWebhookSender {
            client,
            clock,
            timeout,
        })
    }

    async fn post(&self, delivery: &DueDelivery) -> Result<reqwest::Response, String> {
        let t = self.clock.now().timestamp();
        let signature = signature::sign(delivery.secret.expose(), t, delivery.body.as_bytes());
        let event_id = HeaderValue::from_str(delivery.event_id.as_str())
            .map_err(|_| "the event id is not a valid header value".to_owned())?;
        self.client
            .post(&delivery.url)
            .header(CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, event_id)
            .header(SIGNATURE_HEADER, signature)
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|e| self.describe(e))
    }

    /// One line, without the URL.
    fn describe(&self, e: reqwest::Error) -> String {
        let e = e.without_url();
        if e.is_timeout() {
            return format!("timed out after {} ms", self.timeout.as_millis());
        }
        let what = if e.is_connect() {
            "connection failed"
        } else if e.is_builder() {
            "the URL cannot be used"
        } else {
            "transport error"
        };
        // The innermost cause says most ("Connection refused"); reqwest's own
        // message would quote the URL.
        let mut cause: &dyn std::error::Error = &e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        format!(
            "{what}: {}",
            clip_to(&one_line(&cause.to_string()), KEPT_BYTES)
        )
    }
}

/// At most [`READ_AT_MOST`] bytes of the answer, as one clipped line.
async fn excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < READ_AT_MOST {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(READ_AT_MOST);
    clip_to(&one_line(&String::from_utf8_lossy(&bytes)), KEPT_BYTES)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, delivery: &DueDelivery) -> DeliveryAttempt {
        let at = self.clock.now();
        let started = Instant::now();
        let (status_code, error) = match self.post(delivery).await {
            Ok(response) => {
                let status = response.status();
                let error = if status.is_success() {
                    None
                } else if status.is_redirection() {
                    Some(format!(
                        "HTTP {} (redirects are not followed)",
                        status.as_u16()
                    ))
                } else {
                    let excerpt = excerpt(response).await;
                    Some(if excerpt.is_empty() {
                        format!("HTTP {}", status.as_u16())
                    } else {
                        format!("HTTP {}: {excerpt}", status.as_u16())
                    })
                };
                (Some(status.as_u16()), error)
            }
            Err(why) => (None, Some(why)),
        };
        DeliveryAttempt {
            at,
            status_code,
            error,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        }
    }
}
