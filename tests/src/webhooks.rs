//! Webhooks as a shop sees them: payport pointed at a [`Receiver`] with fast retries,
//! and the events API read page by page.

use std::time::Duration;

use payport_server::config::Config;
use serde_json::Value;

use crate::app::TestApp;
use crate::receiver::{Received, Receiver};

/// The configured endpoint's secret in these tests.
pub const WEBHOOK_SECRET: &str = "whsec_blackbox_0123456789abcdef";

/// Sends every event to `receiver`, signed with [`WEBHOOK_SECRET`], retrying after
/// 1 s, then every 2 s, so that a retry lands within a test's patience.
pub fn webhooks_to(config: &mut Config, receiver: &Receiver) {
    config.webhooks.url = Some(receiver.url());
    config.webhooks.secret = Some(WEBHOOK_SECRET.into());
    config.webhooks.retry_first_secs = 1;
    config.webhooks.retry_cap_secs = 2;
}

/// Retries come after 1 to 2 s; a few of them, for dozens of events, fit in this.
pub const DELIVERY_PATIENCE: Duration = Duration::from_secs(60);

/// Waits until every event in `ids` was answered 2xx by `receiver`; returns every
/// request it received.
///
/// # Panics
/// When that does not happen within [`DELIVERY_PATIENCE`].
pub async fn all_delivered(receiver: &Receiver, ids: &[String]) -> Vec<Received> {
    receiver
        .wait_for("every event delivered", DELIVERY_PATIENCE, |received| {
            ids.iter().all(|id| {
                received
                    .iter()
                    .any(|r| r.delivered() && r.event_id.as_deref() == Some(id.as_str()))
            })
        })
        .await
}

impl TestApp {
    /// A new order of 20.00 paid, then 5.00 of it refunded: about six events.
    ///
    /// # Panics
    /// When any step fails.
    pub async fn paid_and_partly_refunded(&self, out_trade_no: &str) {
        self.paid_order(out_trade_no, "20.00").await;
        let (status, refund) = self.refund(out_trade_no, "5.00").await;
        assert_eq!(status, 201, "{refund}");
        assert_eq!(refund["status"], "succeeded", "{refund}");
    }

    /// Every event `GET /v1/events?<query>` lists (as the merchant), oldest first,
    /// following `next_cursor` page by page.
    ///
    /// # Panics
    /// Unless every page is a 200 with `data`.
    pub async fn events(&self, query: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let cursor = after.map(|a| format!("&after={a}")).unwrap_or_default();
            let (status, page) = self.get(&format!("/v1/events?{query}{cursor}")).await;
            assert_eq!(status, 200, "{page}");
            all.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return all,
            }
        }
    }

    /// `GET /v1/events/{id}`: the event with its deliveries.
    ///
    /// # Panics
    /// Unless payport answers 200.
    pub async fn event(&self, id: &str) -> Value {
        let (status, event) = self.get(&format!("/v1/events/{id}")).await;
        assert_eq!(status, 200, "{event}");
        event
    }

    /// Waits until every delivery of the event is `delivered` (payport has recorded
    /// the answer), and returns the event with them.
    ///
    /// # Panics
    /// When that does not happen in time.
    pub async fn event_delivered(&self, id: &str) -> Value {
        let deadline = crate::Deadline::start();
        loop {
            let event = self.event(id).await;
            let deliveries = event["deliveries"].as_array().expect("deliveries");
            if !deliveries.is_empty() && deliveries.iter().all(|d| d["status"] == "delivered") {
                return event;
            }
            assert!(
                deadline.wait().await,
                "event {id} was not delivered in time: {event:#}"
            );
        }
    }
}

/// The event's id.
///
/// # Panics
/// When it has none.
pub fn event_id(event: &Value) -> String {
    event["id"]
        .as_str()
        .unwrap_or_else(|| panic!("not an event: {event}"))
        .to_owned()
}

/// The ids of `events`, in order.
pub fn event_ids(events: &[Value]) -> Vec<String> {
    events.iter().map(event_id).collect()
}

/// The types of `events`, in order.
pub fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}
