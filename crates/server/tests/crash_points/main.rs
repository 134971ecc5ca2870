//! Crash points, deterministically: for each step of a refund and of a notification
//! where a crash leaves something half done, the `payport` binary (a test build, with
//! `payport_domain::crash_points`) is started with that point armed, made to die
//! there (SIGABRT: nothing finishes, nothing is flushed), and started again without
//! it on the same database and port. Then the refund or the payment must end right:
//! the refund `succeeded` once, with the order's refunded amount, one refund in the
//! standalone simulator's books, and a retry with the same Idempotency-Key answered
//! with that same refund; the payment `paid` with one `order.paid` event.
//!
//! Each backend runs its scenarios at once (most of their time is waiting for a lease
//! to run out), each with its own simulator, database and payport.

mod harness;

use harness::{Backend, Harness, Reply};
use payport_domain::crash_points as point;
use serde_json::{json, Value};

const ORDER: &str = "CRASH_POINT_1";
const KEY: &str = "crash-point-refund-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_crash_point_ends_correct_after_a_restart() {
    every_crash_point(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_crash_point_ends_correct_after_a_restart() {
    every_crash_point(Backend::Sqlite).await;
}

async fn every_crash_point(backend: Backend) {
    let scenarios = [
        (
            point::REFUND_AFTER_RESERVATION,
            tokio::spawn(refund_killed_at(backend, point::REFUND_AFTER_RESERVATION)),
        ),
        (
            point::REFUND_BEFORE_OUTCOME,
            tokio::spawn(refund_killed_at(backend, point::REFUND_BEFORE_OUTCOME)),
        ),
        (
            point::WORKER_AFTER_CLAIM,
            tokio::spawn(refund_sync_killed_after_its_claim(backend)),
        ),
        (
            point::NOTIFICATION_BEFORE_COMMIT,
            tokio::spawn(payment_notification_killed_at(
                backend,
                point::NOTIFICATION_BEFORE_COMMIT,
            )),
        ),
        (
            point::NOTIFICATION_AFTER_COMMIT,
            tokio::spawn(payment_notification_killed_at(
                backend,
                point::NOTIFICATION_AFTER_COMMIT,
            )),
        ),
        (
            point::NOTIFICATION_RECORDED,
            tokio::spawn(refund_notification_killed_after_its_record(backend)),
        ),
    ];
    assert_eq!(scenarios.len(), point::ALL.len(), "a crash point untested");
    let mut failed = Vec::new();
    for (name, scenario) in scenarios {
        // Each failure has printed its own panic message.
        if scenario.await.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "{backend:?}: failed at {failed:?}");
}

/// Killed in the middle of a refund request: after its reservation committed, or
/// after Alipay answered. The worker finds the refund `processing` once its lease ran
/// out, asks Alipay, and re-sends under the same out_request_no only if Alipay has
/// nothing.
async fn refund_killed_at(backend: Backend, crash_point: &'static str) {
    let Some(mut h) = paid_with(backend, crash_point).await else {
        return;
    };
    if let Ok(reply) = request_refund(&h).await {
        panic!(
            "{crash_point}: the refund was answered: {} {}",
            reply.status, reply.json
        );
    }
    h.crashed().await;
    h.start(None).await;
    refund_succeeded_once(&h).await;
}

/// Killed after the worker claimed a refund whose outcome is unknown: the claim's
/// lease outlives the process, and the next instance syncs the refund after it.
async fn refund_sync_killed_after_its_claim(backend: Backend) {
    let Some(mut h) = paid_with(backend, point::WORKER_AFTER_CLAIM).await else {
        return;
    };
    // Alipay fails the call without refunding: the outcome is unknown until a sync.
    lose_next_refund_answer(&h, false).await;
    let reply = request_refund(&h)
        .await
        .expect("the refund is answered: the crash point is in the worker");
    assert_eq!(reply.json["status"], "processing", "{}", reply.json);
    h.crashed().await;
    h.start(None).await;
    refund_succeeded_once(&h).await;
}

/// Killed while handling the payment notification: inside its one transaction, just
/// before the commit (nothing of it stays), or just after it (Alipay got no answer).
/// Alipay's redelivery reaches the restarted payport, which applies it, or knows it.
async fn payment_notification_killed_at(backend: Backend, crash_point: &'static str) {
    let Some(mut h) = Harness::new(backend, crash_point).await else {
        return;
    };
    h.start(Some(crash_point)).await;
    h.order_with_payment(ORDER, "30.00").await;
    h.buyer_pays(ORDER).await;
    h.crashed().await;
    h.start(None).await;
    h.order_becomes(ORDER, "paid").await;
    let deliveries = h
        .until("a redelivery acknowledged", || async {
            let deliveries = h.sim_deliveries_of(ORDER).await;
            deliveries
                .iter()
                .any(|d| d["acknowledged"] == true)
                .then_some(deliveries)
        })
        .await;
    assert!(
        deliveries[0]["acknowledged"] == false,
        "{crash_point}: the first delivery was answered: {deliveries:#?}"
    );
    assert_eq!(h.events("order.paid", ORDER).await, 1, "{crash_point}");
}

/// Killed on the three-step path, between the inbox record of a notification that
/// settles a refund and its application: the record stays, not handled, and the
/// redelivery (or the worker's sync) settles the refund.
async fn refund_notification_killed_after_its_record(backend: Backend) {
    // The payment's own notification takes the one-transaction path: no crash.
    let Some(mut h) = paid_with(backend, point::NOTIFICATION_RECORDED).await else {
        return;
    };
    // Alipay refunds but its answer is lost: only its notification tells payport.
    lose_next_refund_answer(&h, true).await;
    // Answered or not: the notification may kill payport before the answer is sent.
    let _ = request_refund(&h).await;
    h.crashed().await;
    h.start(None).await;
    refund_succeeded_once(&h).await;
}

/// payport started with `crash_point` armed, and a paid order of 30.00, its
/// notification handled; `None` as for [`Harness::new`].
async fn paid_with(backend: Backend, crash_point: &'static str) -> Option<Harness> {
    let mut h = Harness::new(backend, crash_point).await?;
    h.start(Some(crash_point)).await;
    h.order_with_payment(ORDER, "30.00").await;
    h.buyer_pays(ORDER).await;
    h.order_becomes(ORDER, "paid").await;
    Some(h)
}

/// Alipay's next refund call fails with a system error, the refund `performed` or not.
async fn lose_next_refund_answer(h: &Harness, performed: bool) {
    let fault = json!({"methods": {"alipay.trade.refund":
        {"kind": "system_error", "performed": performed, "times": 1}}});
    h.sim_ok("PUT", "/control/faults", Some(fault)).await;
}

/// The shop asks for a refund of 10.00 under [`KEY`]; `Err` when payport died first.
async fn request_refund(h: &Harness) -> Result<Reply, reqwest::Error> {
    let path = format!("/v1/orders/{ORDER}/refunds");
    h.call("POST", &path, Some(json!({"amount": "10.00"})), Some(KEY))
        .await
}

/// The refund of 10.00 ends `succeeded`, once: in payport's books, in its events, in
/// the simulator's books; and a retry of the request gets that refund.
async fn refund_succeeded_once(h: &Harness) {
    let path = format!("/v1/orders/{ORDER}/refunds");
    let refund: Value = h
        .until("the refund succeeded", || async {
            let refunds = h.ok("GET", &path, None).await;
            let refunds = refunds.as_array().expect("refunds").clone();
            assert_eq!(refunds.len(), 1, "{}: {refunds:#?}", h.name);
            (refunds[0]["status"] == "succeeded").then(|| refunds[0].clone())
        })
        .await;
    assert_eq!(refund["amount"], "10.00", "{}", h.name);
    let order = h.order_becomes(ORDER, "partially_refunded").await;
    assert_eq!(order["refunded_amount"], "10.00", "{}", h.name);
    let refund_id = refund["refund_id"].as_str().expect("refund_id");
    assert_eq!(
        h.events("refund.succeeded", refund_id).await,
        1,
        "{}",
        h.name
    );

    let at_alipay = h.sim_refunds_of(ORDER).await;
    assert_eq!(at_alipay.len(), 1, "{}: {at_alipay:#?}", h.name);
    assert_eq!(
        at_alipay[0]["out_request_no"], refund["out_request_no"],
        "{}",
        h.name
    );
    assert_eq!(at_alipay[0]["amount_fen"], 1000, "{}", h.name);

    // The killed request's key may still be held as in flight: ask until it is not.
    let retried = h
        .until("the retry answered", || async {
            let reply = request_refund(h).await.ok()?;
            let in_use = reply.status == 409 && reply.json["code"] == "IDEMPOTENCY_KEY_IN_USE";
            (!in_use).then_some(reply)
        })
        .await;
    retried.expect_success(&format!("{}: the retry", h.name));
    assert_eq!(retried.json["refund_id"], refund["refund_id"], "{}", h.name);
    assert_eq!(h.sim_refunds_of(ORDER).await.len(), 1, "{}", h.name);
}
