//! Many requests at once over HTTP: the over-refund invariant holds, and one
//! `Idempotency-Key` creates one thing.

use payport_blackbox::{both_backends, join_all, Backend, TestApp};
use serde_json::json;

both_backends!(
    parallel_refunds_never_exceed_the_total,
    parallel_requests_with_one_key_create_one_order
);

async fn parallel_refunds_never_exceed_the_total(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "PARALLEL_1";
    app.paid_order(id, "10.00").await;
    // Notifications wait, so that each answer is the refund call's own (the race is
    // `unknown_outcomes::refund_notifications_racing_the_answers`).
    app.sim_hold_notifications().await;
    let asks = (0..10).map(|_| app.refund(id, "2.00"));
    let answers = join_all(asks).await;
    let mut succeeded = 0;
    for (status, body) in &answers {
        match status {
            201 => {
                assert_eq!(body["status"], "succeeded", "{body}");
                succeeded += 1;
            }
            422 => assert_eq!(body["code"], "REFUND_EXCEEDS_REFUNDABLE", "{body}"),
            other => panic!("unexpected {other} {body}"),
        }
    }
    assert_eq!(succeeded, 5, "{answers:#?}");
    let order = app.order(id).await;
    assert_eq!(order["status"], "refunded", "{order}");
    assert_eq!(order["refunded_amount"], "10.00");
    assert_eq!(order["refunds"].as_array().unwrap().len(), 5);
    let sim = app.sim_refunds_of(id).await;
    assert_eq!(sim.len(), 5, "{sim:#?}");
    assert_eq!(app.sim_trade(id).await.unwrap()["refunded_fen"], 1_000);
    assert_eq!(app.sim_release(false).await, 5);
    app.notifications_settled(6).await;
    assert_eq!(app.order(id).await, order);
}

async fn parallel_requests_with_one_key_create_one_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let body = json!({ "subject": "Jasmine", "total_amount": "3.00" });
    let merchant = app.merchant();
    let asks = (0..8).map(|_| merchant.post_keyed("/v1/orders", "one-key", &body));
    let answers = join_all(asks).await;
    let mut created = Vec::new();
    for reply in &answers {
        match reply.status {
            201 => created.push(reply.json["out_trade_no"].clone()),
            // Still being handled when the copy arrived: retry later.
            409 => assert_eq!(
                reply.json["code"], "IDEMPOTENCY_KEY_IN_USE",
                "{}",
                reply.text
            ),
            other => panic!("unexpected {other} {}", reply.text),
        }
    }
    assert!(!created.is_empty());
    assert!(created.iter().all(|id| *id == created[0]), "{created:?}");
    let (_, page) = app.get("/v1/orders").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let replay = merchant.post_keyed("/v1/orders", "one-key", &body).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.json["out_trade_no"], created[0]);
}
