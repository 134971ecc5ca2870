//! What an operator's monitoring sees: `/metrics` in the Prometheus text format after
//! a payment and a refund (on either Alipay gateway) and a webhook delivery, and
//! `/readyz` answering for the database and its schema.
//!
//! The metrics of one process are shared by every app in it (the tests run side by
//! side), so a test compares counters before and after its own steps, and only asks
//! that they grew by at least its share.

use payport_blackbox::receiver::{Policy, Receiver};
use payport_blackbox::webhooks::{event_id, webhooks_to, WEBHOOK_SECRET};
use payport_blackbox::{both_backends, refund_id, Backend, TestApp};
use serde_json::json;

both_backends!(
    metrics_count_a_payment_and_a_refund,
    metrics_count_the_legacy_gateways_calls,
    a_worker_pass_exports_its_backlog,
    the_delivery_loop_exports_the_webhook_backlog,
    readyz_answers_for_the_database
);

/// The sum of the counter `name` over the series whose labels include all of `labels`.
fn counter(text: &str, name: &str, labels: &[(&str, &str)]) -> u64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let series_labels = series.strip_prefix(name)?;
            let matches = (series_labels.is_empty() || series_labels.starts_with('{'))
                && labels
                    .iter()
                    .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")));
            matches.then(|| value.parse::<u64>().expect("a counter is a whole number"))
        })
        .sum()
}

/// Asserts that the counter `name` over `labels` grew from one scrape to the next.
fn assert_grew(before: &str, after: &str, name: &str, labels: &[(&str, &str)]) {
    let grew = counter(after, name, labels) - counter(before, name, labels);
    assert!(grew >= 1, "{name} {labels:?} did not grow:\n{after}");
}

async fn scrape(app: &TestApp) -> String {
    let reply = app.browse(&app.url("/metrics")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        reply.headers
    );
    reply.text
}

async fn metrics_count_a_payment_and_a_refund(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = format!("METRICS_{}", backend_name(backend));
    let refund_route = [
        ("method", "POST"),
        ("route", "/v1/orders/{out_trade_no}/refunds"),
        ("status", "201"),
    ];
    let refund_call = [("method", "alipay.trade.refund"), ("outcome", "success")];
    let applied = [("kind", "trade_status_sync"), ("verdict", "applied")];
    let succeeded = [("status", "succeeded")];
    let before = scrape(&app).await;

    app.paid_order(&id, "30.00").await;
    let (status, refund) = app.refund(&id, "10.00").await;
    assert_eq!(status, 201, "{refund}");
    let refund = app.refund_by_id(&refund_id(&refund)).await;
    assert_eq!(refund["status"], "succeeded", "{refund}");

    let after = scrape(&app).await;
    for (name, labels) in [
        ("payport_http_requests_total", &refund_route[..]),
        ("payport_alipay_calls_total", &refund_call[..]),
        ("payport_notifications_total", &applied[..]),
        ("payport_refund_transitions_total", &succeeded[..]),
        ("payport_order_transitions_total", &[("status", "paid")][..]),
    ] {
        assert_grew(&before, &after, name, labels);
    }
    // Latency is a histogram per route: buckets and a count that saw the refund.
    let count = "payport_http_request_duration_seconds_count";
    assert!(counter(&after, count, &refund_route) >= 1, "{after}");
    assert!(
        after.contains("payport_http_request_duration_seconds_bucket{")
            && after.contains("le=\"+Inf\""),
        "{after}"
    );
    assert!(after.contains("# TYPE payport_alipay_call_duration_seconds histogram"));
    // Routes are templates: no order number ever becomes a label.
    assert!(!after.contains(&id), "an order number in a label:\n{after}");
    app.stop().await;
}

/// A no-password refund over the mapi gateway: its batch POST and the `notify_verify`
/// of its `batch_refund_notify` are counted and timed like OpenAPI calls.
async fn metrics_count_the_legacy_gateways_calls(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = format!("METRICS_MAPI_{}", backend_name(backend));
    let batch = [
        ("method", "refund_fastpay_by_platform_nopwd"),
        ("outcome", "success"),
    ];
    let verify = [("method", "notify_verify"), ("outcome", "success")];
    let before = scrape(&app).await;

    app.paid_order(&id, "20.00").await;
    let (status, refund) = app
        .merchant()
        .post(
            &format!("/v1/orders/{id}/refunds"),
            &json!({ "amount": "5.00", "reason": "returned", "gateway": "mapi_nopwd" }),
        )
        .await;
    assert!(matches!(status, 201 | 202), "{status}: {refund}");
    let refund_id = refund_id(&refund);
    let deadline = payport_blackbox::Deadline::start();
    // Settled only by the notification, which payport verifies with notify_verify.
    while app.refund_by_id(&refund_id).await["status"] != "succeeded" {
        assert!(deadline.wait().await, "the legacy refund never settled");
    }

    let after = scrape(&app).await;
    for labels in [&batch[..], &verify[..]] {
        assert_grew(&before, &after, "payport_alipay_calls_total", labels);
        let count = "payport_alipay_call_duration_seconds_count";
        assert!(counter(&after, count, labels) >= 1, "{count} {labels:?}");
    }
    app.stop().await;
}

/// The value of the gauge `name` for `kind`, if exported. Other tests' workers set
/// the same gauges, so only their presence and sign are this test's to check.
fn gauge(text: &str, name: &str, kind: &str) -> Option<f64> {
    let series = format!("{name}{{kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map(|value| value.parse().expect("a gauge is a number"))
}

async fn a_worker_pass_exports_its_backlog(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    app.run_worker_once().await;
    let text = scrape(&app).await;
    for name in [
        "payport_worker_queue_depth",
        "payport_worker_oldest_due_seconds",
    ] {
        assert!(text.contains(&format!("# TYPE {name} gauge")), "{text}");
        assert!(text.contains(&format!("# HELP {name} ")), "{text}");
        for kind in ["refund_sync", "payment_check", "expired_order"] {
            let value = gauge(&text, name, kind);
            assert!(value.is_some_and(|v| v >= 0.0), "{name} {kind}: {text}");
        }
    }
    app.stop().await;
}

/// The delivery loop reads the webhook backlog as it starts and every few seconds.
/// Other tests' loops set the same gauges, so only their presence and sign are this
/// test's to check (the counting itself is the store contract's).
async fn the_delivery_loop_exports_the_webhook_backlog(backend: Backend) {
    let receiver = Receiver::start(Policy::Accept, WEBHOOK_SECRET).await;
    let Some(app) = TestApp::spawn(backend, |c| webhooks_to(c, &receiver)).await else {
        return;
    };
    let id = format!("METRICS_HOOK_{}", backend_name(backend));
    app.paid_order(&id, "10.00").await;
    let events = app.events(&format!("object_id={id}")).await;
    let paid = events.last().expect("the order's events");
    app.event_delivered(&event_id(paid)).await;

    let text = scrape(&app).await;
    for name in [
        "payport_webhook_queue_depth",
        "payport_webhook_oldest_due_seconds",
    ] {
        assert!(text.contains(&format!("# TYPE {name} gauge")), "{text}");
        assert!(text.contains(&format!("# HELP {name} ")), "{text}");
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .map(|value| value.parse::<f64>().expect("a gauge is a number"));
        assert!(value.is_some_and(|v| v >= 0.0), "{name}: {text}");
    }
    app.stop().await;
}

async fn readyz_answers_for_the_database(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let ready = app.browse(&app.url("/readyz")).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json["status"], "ready");
    if backend == Backend::Postgres {
        // As if the newest migration had been reverted under a running instance.
        let db = tokio_postgres_client(&app.database_url).await;
        db.batch_execute(
            "DELETE FROM __diesel_schema_migrations \
             WHERE version = (SELECT MAX(version) FROM __diesel_schema_migrations)",
        )
        .await
        .expect("revert the newest migration's record");
        let behind = app.browse(&app.url("/readyz")).await;
        assert_eq!(behind.status, 503, "{}", behind.text);
        assert_eq!(behind.json["code"], "NOT_READY");
        let reason = behind.json["message"].as_str().unwrap();
        assert!(reason.contains("payport migrate"), "{reason}");
        // Liveness is another question: the process still serves.
        let alive = app.browse(&app.url("/healthz")).await;
        assert_eq!(alive.status, 200);
    }
    app.stop().await;
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLITE",
        Backend::Postgres => "PG",
    }
}

async fn tokio_postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}
