//! A request that dies with its instance (a crash, SIGKILL) leaves its
//! `Idempotency-Key` in flight, held by that instance. Once the instance has been
//! silent for a few heartbeats, a retry with the same key takes the key over and gets
//! its answer, never a second refund; a key held by a live instance stays "in use".
//! The dead instance is stood in for by an in-flight record naming an instance that
//! never beat.

use payport_blackbox::{both_backends, Backend, TestApp, MERCHANT_TOKEN};
use payport_domain::ports::{IdempotencyRecord, IN_FLIGHT};
use payport_server::api::auth::caller_scope;
use payport_server::api::idempotency::{fingerprint, stored_key};
use serde_json::{json, Value};

both_backends!(
    a_key_held_by_a_dead_instance_is_taken_over_by_the_retry,
    a_key_held_by_a_live_instance_stays_in_use,
    a_refund_taken_over_is_the_refund_the_dead_instance_made
);

/// Puts `key` (the merchant's) in flight for `POST path` with `body`, held by
/// `holder`, in place of anything stored under it.
async fn hold(app: &TestApp, holder: &str, key: &str, path: &str, body: &Value) {
    let store = &app.state.idempotency;
    let everything = app.state.clock.now() + chrono::Duration::days(3_650);
    store.idempotency_purge(everything).await.unwrap();
    let record = IdempotencyRecord {
        key: stored_key(&caller_scope(MERCHANT_TOKEN), key),
        request_hash: fingerprint("POST", path, body.to_string().as_bytes()),
        http_status: IN_FLIGHT,
        response_body: String::new(),
        created_at: app.state.clock.now(),
        holder: Some(holder.into()),
    };
    store.idempotency_insert(&record).await.unwrap();
}

async fn a_key_held_by_a_dead_instance_is_taken_over_by_the_retry(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let body = json!({ "subject": "Oolong", "total_amount": "8.80" });
    hold(&app, "dead-instance", "orphaned", "/v1/orders", &body).await;
    let retry = app
        .merchant()
        .post_keyed("/v1/orders", "orphaned", &body)
        .await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotency-replayed"), None);
    // The taker's answer is the key's answer from now on.
    let again = app
        .merchant()
        .post_keyed("/v1/orders", "orphaned", &body)
        .await;
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.json, retry.json);
    let (_, page) = app.get("/v1/orders").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    // Another request under the held key is still refused as such.
    hold(&app, "dead-instance", "orphaned-2", "/v1/orders", &body).await;
    let other = json!({ "subject": "Oolong", "total_amount": "9.90" });
    let reused = app
        .merchant()
        .post_keyed("/v1/orders", "orphaned-2", &other)
        .await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(reused.json["code"], "IDEMPOTENCY_KEY_REUSED");
}

async fn a_key_held_by_a_live_instance_stays_in_use(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let store = &app.state.idempotency;
    store
        .instance_beat("busy-instance", app.state.clock.now())
        .await
        .unwrap();
    let body = json!({ "subject": "Oolong", "total_amount": "8.80" });
    hold(&app, "busy-instance", "busy", "/v1/orders", &body).await;
    let retry = app.merchant().post_keyed("/v1/orders", "busy", &body).await;
    assert_eq!(retry.status, 409, "{}", retry.text);
    assert_eq!(retry.json["code"], "IDEMPOTENCY_KEY_IN_USE");

    // It shuts down gracefully: its keys are free at once.
    store.instance_leave("busy-instance").await.unwrap();
    let retry = app.merchant().post_keyed("/v1/orders", "busy", &body).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
}

/// The dead instance had reserved and sent the refund before it died: the retry that
/// takes its key over is answered with that refund, and Alipay saw one.
async fn a_refund_taken_over_is_the_refund_the_dead_instance_made(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    app.paid_order("TAKEN_OVER", "10.00").await;
    let path = "/v1/orders/TAKEN_OVER/refunds";
    let body = json!({ "amount": "4.00" });
    let first = app
        .merchant()
        .post_keyed(path, "crashed-refund", &body)
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    // As if its instance died before recording the answer.
    hold(&app, "dead-instance", "crashed-refund", path, &body).await;

    let retry = app
        .merchant()
        .post_keyed(path, "crashed-refund", &body)
        .await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotency-replayed"), None, "taken over");
    assert_eq!(retry.json["refund_id"], first.json["refund_id"]);
    assert_eq!(retry.json["out_request_no"], first.json["out_request_no"]);
    assert_eq!(app.sim_refunds_of("TAKEN_OVER").await.len(), 1);
    let order = app.order("TAKEN_OVER").await;
    assert_eq!(order["refunded_amount"], "4.00", "{order}");
    assert_eq!(order["refunds"].as_array().unwrap().len(), 1, "{order}");
}
