//! Idempotent replays: the same `Idempotency-Key` with the same body replays the first
//! answer (and nothing is created twice); with another body it is refused.

use payport_blackbox::{both_backends, refund_id, Backend, TestApp, MERCHANT_TOKEN};
use payport_domain::ports::IdempotencyRecord;
use payport_server::api::auth::caller_scope;
use payport_server::api::idempotency;
use serde_json::json;

both_backends!(
    order_creation_replays,
    refund_creation_replays,
    without_a_key_each_request_counts,
    keys_belong_to_their_caller,
    a_refund_retried_under_its_key_is_never_made_twice,
    strangers_and_route_misses_leave_no_key,
    keys_expire_after_a_day,
    two_merchants_with_one_key_get_two_refunds
);

async fn order_creation_replays(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    // No out_trade_no: payport picks one, so only a replay can give the same order.
    let body = json!({ "subject": "Oolong", "total_amount": "8.80" });
    let first = app
        .merchant()
        .post_keyed("/v1/orders", "order-key-1", &body)
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = app
        .merchant()
        .post_keyed("/v1/orders", "order-key-1", &body)
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.json, first.json, "the replay is the first answer");
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    let (_, page) = app.get("/v1/orders").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    // The same key with another body.
    let other = json!({ "subject": "Oolong", "total_amount": "9.90" });
    let reused = app
        .merchant()
        .post_keyed("/v1/orders", "order-key-1", &other)
        .await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(reused.json["code"], "IDEMPOTENCY_KEY_REUSED");
    assert!(reused.json["message"].is_string());
    let (_, page) = app.get("/v1/orders").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    // The same key on another path is another request, too.
    let id = first.json["out_trade_no"].as_str().unwrap();
    let elsewhere = app
        .merchant()
        .post_keyed(&format!("/v1/orders/{id}/refunds"), "order-key-1", &body)
        .await;
    assert_eq!(elsewhere.status, 422, "{}", elsewhere.text);
    assert_eq!(elsewhere.json["code"], "IDEMPOTENCY_KEY_REUSED");

    // A new key makes a new order.
    let second = app
        .merchant()
        .post_keyed("/v1/orders", "order-key-2", &body)
        .await;
    assert_eq!(second.status, 201);
    assert_ne!(second.json["out_trade_no"], first.json["out_trade_no"]);
}

async fn refund_creation_replays(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "IDEM_REFUND";
    app.paid_order(id, "20.00").await;
    let path = format!("/v1/orders/{id}/refunds");
    let body = json!({ "amount": "5.00", "reason": "late delivery" });
    let first = app.merchant().post_keyed(&path, "refund-key", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.json["status"], "succeeded");
    let again = app.merchant().post_keyed(&path, "refund-key", &body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.json, first.json);

    let order = app.order(id).await;
    assert_eq!(order["refunds"].as_array().unwrap().len(), 1, "{order}");
    assert_eq!(order["refunded_amount"], "5.00");
    assert_eq!(
        app.sim_refunds_of(id).await.len(),
        1,
        "Alipay saw one refund"
    );

    let other = json!({ "amount": "6.00", "reason": "late delivery" });
    let reused = app.merchant().post_keyed(&path, "refund-key", &other).await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(reused.json["code"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.order(id).await["refunded_amount"], "5.00");
    assert_eq!(app.sim_refunds_of(id).await.len(), 1);
}

async fn without_a_key_each_request_counts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "NO_KEY";
    app.paid_order(id, "20.00").await;
    let (status, first) = app.refund(id, "3.00").await;
    assert_eq!(status, 201, "{first}");
    let (status, second) = app.refund(id, "3.00").await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(refund_id(&first), refund_id(&second));
    assert_ne!(first["out_request_no"], second["out_request_no"]);
    let order = app.order(id).await;
    assert_eq!(order["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(order["refunded_amount"], "6.00");
    assert_eq!(app.sim_refunds_of(id).await.len(), 2);
}

async fn keys_belong_to_their_caller(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let body = json!({ "subject": "Pu-erh", "total_amount": "1.00" });
    let merchant = app
        .merchant()
        .post_keyed("/v1/orders", "shared-key", &body)
        .await;
    assert_eq!(merchant.status, 201, "{}", merchant.text);
    // The operator's request with the same key is its own: a new order, not a replay.
    let operator = app
        .operator()
        .post_keyed("/v1/orders", "shared-key", &body)
        .await;
    assert_eq!(operator.status, 201, "{}", operator.text);
    assert_eq!(operator.header("idempotency-replayed"), None);
    assert_ne!(operator.json["out_trade_no"], merchant.json["out_trade_no"]);
}

/// Even when a key's stored answer is gone (a 5xx after the refund went out releases
/// the key; here: the record is deleted), a refund retried under the same key is the
/// same refund: its number comes from the caller and the key.
async fn a_refund_retried_under_its_key_is_never_made_twice(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    app.paid_order("KEYED_REFUND", "10.00").await;
    let body = json!({ "amount": "4.00" });
    let path = "/v1/orders/KEYED_REFUND/refunds";
    let first = app.merchant().post_keyed(path, "refund-key-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.json["out_request_no"]
        .as_str()
        .unwrap()
        .starts_with("ik"));
    app.state
        .idempotency
        .idempotency_purge(far_future(&app))
        .await
        .unwrap();
    let again = app.merchant().post_keyed(path, "refund-key-1", &body).await;
    assert_eq!(again.header("idempotency-replayed"), None, "not a replay");
    assert_eq!(
        again.json["refund_id"], first.json["refund_id"],
        "{}",
        again.text
    );
    assert_eq!(app.sim_refunds_of("KEYED_REFUND").await.len(), 1);
    assert_eq!(app.order("KEYED_REFUND").await["refunded_amount"], "4.00");
}

/// Keys are kept only for callers with a valid token, and only for answers of a route:
/// nobody without a token can fill the table, and no retry of theirs is a replay.
async fn strangers_and_route_misses_leave_no_key(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let body = json!({ "subject": "Tea", "total_amount": "1.00" });
    for caller in [app.anonymous(), app.bearer("not-a-token")] {
        for path in ["/v1/orders", "/v1/nowhere"] {
            for _ in 0..2 {
                let reply = caller.post_keyed(path, "stranger-key", &body).await;
                assert_eq!(reply.status, 401, "{path}: {}", reply.text);
                assert_eq!(reply.json["code"], "UNAUTHORIZED", "{}", reply.text);
                assert_eq!(reply.header("idempotency-replayed"), None);
            }
        }
        // A malformed key from a stranger is still a stranger's request.
        let reply = caller.post_keyed("/v1/orders", "bad key", &body).await;
        assert_eq!(reply.status, 401, "{}", reply.text);
    }
    for _ in 0..2 {
        let reply = app
            .merchant()
            .post_keyed("/v1/nowhere", "miss-key", &body)
            .await;
        assert_eq!(reply.status, 404, "{}", reply.text);
        assert_eq!(reply.header("idempotency-replayed"), None);
    }
    let (_, page) = app.get("/v1/orders").await;
    assert_eq!(page["items"], json!([]), "{page}");
    // Nothing at all was stored: purging every key ever made finds none.
    let any_time = far_future(&app);
    assert_eq!(
        app.state
            .idempotency
            .idempotency_purge(any_time)
            .await
            .unwrap(),
        0
    );
}

/// A key is kept 24 hours: a day later the same key and body is a new request, and
/// the background worker deletes the old record.
async fn keys_expire_after_a_day(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let store = &app.state.idempotency;
    let body = json!({ "subject": "Tea", "total_amount": "1.00" });
    let first = app
        .merchant()
        .post_keyed("/v1/orders", "day-key", &body)
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let stored_key = idempotency::stored_key(&caller_scope(MERCHANT_TOKEN), "day-key");
    let record = store
        .idempotency_lookup(&stored_key)
        .await
        .unwrap()
        .unwrap();
    age(&app, &record, 23).await;
    let replay = app
        .merchant()
        .post_keyed("/v1/orders", "day-key", &body)
        .await;
    assert_eq!(
        replay.header("idempotency-replayed"),
        Some("true"),
        "23 h old"
    );
    assert_eq!(replay.json, first.json);

    age(&app, &record, 25).await;
    let again = app
        .merchant()
        .post_keyed("/v1/orders", "day-key", &body)
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(
        again.header("idempotency-replayed"),
        None,
        "25 h old: a new request"
    );
    assert_ne!(again.json["out_trade_no"], first.json["out_trade_no"]);
    let replay = app
        .merchant()
        .post_keyed("/v1/orders", "day-key", &body)
        .await;
    assert_eq!(
        replay.json, again.json,
        "the new answer is kept from now on"
    );

    age(&app, &record, 25).await;
    app.run_worker_once().await;
    assert_eq!(store.idempotency_lookup(&stored_key).await.unwrap(), None);
}

/// Two shops' backends (two merchant tokens) happen to use one key for a refund of
/// one order: each gets a refund of its own, never the other's.
async fn two_merchants_with_one_key_get_two_refunds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.auth.merchant_tokens.push(SECOND_MERCHANT.into());
    })
    .await
    else {
        return;
    };
    app.paid_order("TWO_CALLERS", "10.00").await;
    let path = "/v1/orders/TWO_CALLERS/refunds";
    let body = json!({ "amount": "3.00" });
    let first = app
        .merchant()
        .post_keyed(path, "shared-refund-key", &body)
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = app
        .bearer(SECOND_MERCHANT)
        .post_keyed(path, "shared-refund-key", &body)
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_ne!(
        second.json["refund_id"], first.json["refund_id"],
        "{}",
        second.text
    );
    assert_ne!(second.json["out_request_no"], first.json["out_request_no"]);
    for reply in [&first, &second] {
        let number = reply.json["out_request_no"].as_str().unwrap();
        assert!(number.len() <= 64 && number.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
    assert_eq!(app.sim_refunds_of("TWO_CALLERS").await.len(), 2);
    assert_eq!(app.order("TWO_CALLERS").await["refunded_amount"], "6.00");
}

const SECOND_MERCHANT: &str = "m-token-second";

/// A cut-off after every record: purging up to it deletes them all.
fn far_future(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    app.state.clock.now() + chrono::Duration::days(3_650)
}

/// Puts `record` back as first used `hours` earlier (the store keeps what it is given).
async fn age(app: &TestApp, record: &IdempotencyRecord, hours: i64) {
    let store = &app.state.idempotency;
    store.idempotency_purge(far_future(app)).await.unwrap();
    let aged = IdempotencyRecord {
        created_at: record.created_at - chrono::Duration::hours(hours),
        ..record.clone()
    };
    store.idempotency_insert(&aged).await.unwrap();
}
