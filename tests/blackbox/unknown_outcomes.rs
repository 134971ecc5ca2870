//! Unknown outcomes: Alipay's SYSTEM_ERROR, a timeout, a 5xx → `processing` (202) →
//! sync (or the background worker) → `succeeded`, always with the same out_request_no
//! on the wire and never more than one refund at Alipay.
//!
//! The refund notification Alipay sends when it did refund is held back in the first
//! tests, so that the outcome is learned by querying, as when a notification is late;
//! the last tests let it race the answer, as it does for real.

use std::time::{Duration, Instant};

use payport_blackbox::{both_backends, refund_id, Backend, TestApp, GATEWAY_TIMEOUT_MS};
use serde_json::{json, Value};

both_backends!(
    system_error_after_refunding_is_resolved_by_a_sync,
    a_timeout_is_resolved_by_a_sync,
    a_refund_alipay_never_made_is_resent_with_the_same_number,
    the_worker_resolves_processing_refunds_when_due,
    refund_notifications_racing_the_answers,
    a_notification_racing_an_unknown_outcome
);

fn refund_fault(fault: Value) -> Value {
    json!({ "methods": { "alipay.trade.refund": fault } })
}

/// A paid order with its refund notifications held; then a refund of `amount` that
/// meets `fault` and must come back `processing` (202) with the reason.
async fn processing_refund(app: &TestApp, id: &str, amount: &str, fault: Value) -> Value {
    app.paid_order(id, "10.00").await;
    app.sim_faults(json!({
        "methods": { "alipay.trade.refund": fault },
        "notify": { "hold": true },
    }))
    .await;
    let (status, refund) = app.refund(id, amount).await;
    assert_eq!(status, 202, "{refund}");
    assert_eq!(refund["status"], "processing", "{refund}");
    assert!(
        refund["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{refund}"
    );
    assert!(refund["completed_at"].is_null() && refund["failure"].is_null());
    assert_eq!(refund["attempts"], 1, "{refund}");
    // Reserved, not yet refunded.
    let order = app.order(id).await;
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["refunded_amount"], "0.00");
    assert_eq!(
        app.refund_by_id(&refund_id(&refund)).await["status"],
        "processing"
    );
    refund
}

/// `POST /v1/refunds/:id/sync` must settle it as succeeded (200).
async fn sync_succeeds(app: &TestApp, refund: &Value) -> Value {
    let (status, synced) = app
        .post(
            &format!("/v1/refunds/{}/sync", refund_id(refund)),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["status"], "succeeded", "{synced}");
    assert_eq!(synced["out_request_no"], refund["out_request_no"]);
    assert!(synced["completed_at"].is_string(), "{synced}");
    synced
}

/// Alipay holds exactly one refund for the order, under the refund's out_request_no;
/// the order counts it once.
async fn exactly_one_refund(app: &TestApp, id: &str, refund: &Value, fen: i64) {
    let sim = app.sim_refunds_of(id).await;
    assert_eq!(sim.len(), 1, "{sim:#?}");
    assert_eq!(sim[0]["out_request_no"], refund["out_request_no"]);
    assert_eq!(sim[0]["amount_fen"], fen);
    let order = app.order(id).await;
    assert_eq!(order["status"], "partially_refunded", "{order}");
    assert_eq!(
        order["refunded_amount"],
        payport_amount(fen),
        "counted once: {order}"
    );
}

fn payport_amount(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// The held notification lands late: acknowledged, and nothing changes.
async fn late_notification_changes_nothing(app: &TestApp, id: &str) {
    let before = app.order(id).await;
    assert_eq!(app.sim_release(false).await, 1);
    app.notifications_settled(2).await;
    assert_eq!(app.order(id).await, before);
}

async fn system_error_after_refunding_is_resolved_by_a_sync(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "UNKNOWN_SYSERR";
    let fault = json!({ "kind": "system_error", "performed": true, "times": 1 });
    let refund = processing_refund(&app, id, "4.00", fault).await;
    // Alipay did refund, under payport's number.
    let sim = app.sim_refunds_of(id).await;
    assert_eq!(sim.len(), 1);
    assert_eq!(sim[0]["out_request_no"], refund["out_request_no"]);

    let synced = sync_succeeds(&app, &refund).await;
    assert_eq!(synced["refund_id"], refund["refund_id"]);
    exactly_one_refund(&app, id, &refund, 400).await;
    // A second sync of a settled refund changes nothing.
    let again = sync_succeeds(&app, &refund).await;
    assert_eq!(again, synced);
    late_notification_changes_nothing(&app, id).await;
}

async fn a_timeout_is_resolved_by_a_sync(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "UNKNOWN_TIMEOUT";
    let fault = json!({ "kind": "delay", "ms": GATEWAY_TIMEOUT_MS * 2, "times": 1 });
    let started = Instant::now();
    let refund = processing_refund(&app, id, "2.50", fault).await;
    assert!(
        started.elapsed() >= Duration::from_millis(GATEWAY_TIMEOUT_MS),
        "answered before the timeout"
    );
    sync_succeeds(&app, &refund).await;
    exactly_one_refund(&app, id, &refund, 250).await;
    late_notification_changes_nothing(&app, id).await;
}

async fn a_refund_alipay_never_made_is_resent_with_the_same_number(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let faults = [
        json!({ "kind": "system_error", "performed": false, "times": 1 }),
        json!({ "kind": "http500", "times": 1 }),
        json!({ "kind": "unavailable", "times": 1 }),
    ];
    for (n, fault) in faults.into_iter().enumerate() {
        let id = format!("UNKNOWN_NOT_DONE_{n}");
        let refund = processing_refund(&app, &id, "1.00", fault.clone()).await;
        assert!(
            app.sim_refunds_of(&id).await.is_empty(),
            "{fault}: nothing was refunded yet"
        );
        // The query finds nothing under that number, so it is sent again, same number.
        let synced = sync_succeeds(&app, &refund).await;
        assert_eq!(synced["attempts"], 2, "{fault}: {synced}");
        exactly_one_refund(&app, &id, &refund, 100).await;
        assert_eq!(app.sim_release(false).await, 1);
    }
    app.notifications_settled(6).await;
}

async fn the_worker_resolves_processing_refunds_when_due(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "UNKNOWN_WORKER";
    let fault = json!({ "kind": "system_error", "performed": true, "times": 1 });
    let refund = processing_refund(&app, id, "3.00", fault).await;
    // Not due yet: PROTOCOL.md A7 asks to wait 10 s before querying a refund.
    assert_eq!(app.run_worker_once().await, 0);
    assert_eq!(
        app.refund_by_id(&refund_id(&refund)).await["status"],
        "processing"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.run_worker_once().await > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never took the refund"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let settled = app.refund_by_id(&refund_id(&refund)).await;
    assert_eq!(settled["status"], "succeeded", "{settled}");
    exactly_one_refund(&app, id, &refund, 300).await;
    assert_eq!(app.run_worker_once().await, 0, "nothing left to do");
}

/// Without holding notifications, Alipay's refund notification races the refund's own
/// answer. Whichever lands first, the shop must get its 201 `succeeded`, and the
/// notification its `success`. Several orders, to meet the race.
async fn refund_notifications_racing_the_answers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    for n in 0..8 {
        let id = format!("RACE_{n}");
        app.paid_order(&id, "2.00").await;
        let (status, partial) = app.refund(&id, "0.50").await;
        assert_eq!(status, 201, "{id}: {partial}");
        // The refund that completes the order.
        let (status, rest) = app.refund(&id, "1.50").await;
        assert_eq!(status, 201, "{id}: {rest}");
        assert_eq!(rest["status"], "succeeded", "{id}: {rest}");
        assert_eq!(app.order(&id).await["status"], "refunded");
    }
    app.notifications_settled(8 * 3).await;
}

/// Alipay refunds and notifies at once, but its answer is late (a timeout): the
/// notification lands while payport still waits, so payport knows the refund
/// succeeded before it gives up waiting. The shop must then get 201 `succeeded` (or
/// 202 `processing`), never an error, and the refund ends succeeded, counted once.
async fn a_notification_racing_an_unknown_outcome(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "RACE_UNKNOWN";
    app.paid_order(id, "10.00").await;
    app.sim_faults(refund_fault(
        json!({ "kind": "delay", "ms": GATEWAY_TIMEOUT_MS * 2, "times": 1 }),
    ))
    .await;
    let (status, refund) = app.refund(id, "4.00").await;
    assert!(
        matches!(status, 201 | 202),
        "the refund was made, yet payport answered {status} {refund}"
    );
    let settled = if refund["status"] == "processing" {
        sync_succeeds(&app, &refund).await
    } else {
        refund.clone()
    };
    assert_eq!(settled["status"], "succeeded", "{settled}");
    exactly_one_refund(&app, id, &settled, 400).await;
    app.notifications_settled(2).await;
}
