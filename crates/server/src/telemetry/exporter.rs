//! The Prometheus exporter behind `GET /metrics`. Metrics go through the `metrics`
//! facade, as logs go through `tracing`: the adapters count what they do without
//! knowing who reads it, and this module installs the one recorder of the process.
//! Labels are bounded sets (route templates, methods, outcomes, statuses): never an
//! order number, an amount or anything a caller chose.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{handler, Response};

/// Latency buckets, in seconds: from a 1 ms database call to Alipay's 15 s timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histograms are folded, so that they stay small between scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use. Several apps in one process (the
/// tests) share it. A program that installed a recorder of its own keeps it: then
/// `/metrics` shows only what reaches this one (nothing), and says so in the log.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("LATENCY_BUCKETS is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics stays empty");
        }
        describe();
        handle
    })
}

/// `GET /metrics`: every series in the Prometheus text format.
#[handler]
pub fn serve_metrics() -> Response {
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle().render())
}

/// Folds histograms now and then until `stop` turns true.
pub fn spawn_upkeep(mut stop: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP);
        loop {
            tokio::select! {
                _ = ticks.tick() => handle().run_upkeep(),
                _ = stop.changed() => return,
            }
        }
    });
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "payport_http_requests_total",
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        "payport_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status"
    );
    describe_counter!(
        "payport_alipay_calls_total",
        "Calls to Alipay (OpenAPI methods and legacy mapi services), by method and outcome (success, rejected, unknown, bad_signature, transport_error)"
    );
    describe_histogram!(
        "payport_alipay_call_duration_seconds",
        Unit::Seconds,
        "Time of an Alipay call, signing and verifying included, by method and outcome"
    );
    describe_counter!(
        "payport_notifications_total",
        "Alipay notifications received, by kind (trade_status_sync, batch_refund_notify) and verdict (applied, duplicate, needs_a_person, deferred, refused)"
    );
    describe_counter!(
        "payport_refund_transitions_total",
        "Refunds entering a status, counted as the status change's event is written"
    );
    describe_counter!(
        "payport_order_transitions_total",
        "Orders entering a status, counted as the status change's event is written"
    );
    describe_gauge!(
        "payport_worker_pass_claimed",
        "Rows the worker's last pass claimed, by kind (refund_sync, payment_check, expired_order); 20, the batch, means more were due"
    );
    describe_counter!(
        "payport_worker_claimed_total",
        "Rows the worker claimed, by kind"
    );
    describe_gauge!(
        "payport_worker_queue_depth",
        "Rows due as the worker's last pass started, by kind: what the claims would take with no batch limit"
    );
    describe_gauge!(
        "payport_worker_oldest_due_seconds",
        Unit::Seconds,
        "How long the oldest due row had waited as the worker's last pass started, by kind (0 when none is due)"
    );
    describe_gauge!(
        "payport_webhook_queue_depth",
        "Webhook deliveries due and not delivered, claimed by no instance, as the delivery loop last read them"
    );
    describe_gauge!(
        "payport_webhook_oldest_due_seconds",
        Unit::Seconds,
        "How long the oldest due webhook delivery had waited when the delivery loop last read them (0 when none is due)"
    );
    describe_counter!(
        "payport_webhook_attempts_total",
        "Webhook delivery attempts, by outcome (delivered, http_error, no_answer)"
    );
    describe_histogram!(
        "payport_webhook_attempt_duration_seconds",
        Unit::Seconds,
        "Time of a webhook delivery attempt, by outcome"
    );
}
