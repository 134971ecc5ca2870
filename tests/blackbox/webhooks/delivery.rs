//! Delivery: each event of the journey, first answered 500, arrives signed on the
//! retry, with the object's newer version; two instances on one database send each
//! event exactly once.

use std::collections::HashMap;

use payport_blackbox::receiver::{Policy, Received, Receiver};
use payport_blackbox::webhooks::{
    all_delivered, event_id, event_ids, event_types, webhooks_to, WEBHOOK_SECRET,
};
use payport_blackbox::{both_backends, join_all, refund_id, Backend, TestApp};
use serde_json::{json, Value};

both_backends!(
    the_journey_arrives_signed_each_event_after_one_retry,
    two_instances_on_one_database_send_each_event_once
);

/// The requests for each event id, in arrival order.
fn by_event(received: &[Received]) -> HashMap<String, Vec<Received>> {
    let mut by_id: HashMap<String, Vec<Received>> = HashMap::new();
    for r in received {
        let id = r.event_id.clone().expect("every request names its event");
        by_id.entry(id).or_default().push(r.clone());
    }
    by_id
}

/// `status` of `object` in the event's type: `order.paid` is an order now `paid`.
fn assert_object_matches_type(event: &Value) {
    let kind = event["type"].as_str().expect("type");
    let (about, status) = kind.split_once('.').expect("<object>.<status>");
    let object = &event["data"]["object"];
    assert_eq!(object["status"], status, "{event:#}");
    match about {
        "order" => assert!(object["out_trade_no"].is_string(), "{event:#}"),
        "refund" => assert!(object["refund_id"].is_string(), "{event:#}"),
        other => panic!("an event about {other}: {event:#}"),
    }
    assert!(
        object["version"].is_i64(),
        "a version to order by: {event:#}"
    );
}

/// The versions of one object in `events` (`about` "order" or "refund", named by
/// `key` = `object_id`), in the order the events were written.
fn versions_of(events: &[Value], about: &str, key: &str, object_id: &str) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with(about)))
        .filter(|e| e["data"]["object"][key] == object_id)
        .map(|e| e["data"]["object"]["version"].as_i64().expect("version"))
        .collect()
}

fn count(types: &[String], kind: &str) -> usize {
    types.iter().filter(|t| *t == kind).count()
}

async fn the_journey_arrives_signed_each_event_after_one_retry(backend: Backend) {
    let receiver = Receiver::start(Policy::FailFirst, WEBHOOK_SECRET).await;
    let Some(app) = TestApp::spawn(backend, |c| webhooks_to(c, &receiver)).await else {
        return;
    };
    let id = "HOOK_JOURNEY_1";
    app.paid_order(id, "100.00").await;
    let (status, first) = app.refund(id, "30.00").await;
    assert_eq!(status, 201, "{first}");
    let (status, rest) = app.refund(id, "70.00").await;
    assert_eq!(status, 201, "{rest}");
    app.order_with_status(id, "refunded").await;
    // The payment's and both refunds' notifications are in: no change is still to come.
    app.notifications_settled(3).await;

    let events = app.events("").await;
    let types = event_types(&events);
    for (kind, times) in [
        ("order.paid", 1),
        ("order.partially_refunded", 1),
        ("order.refunded", 1),
        ("refund.succeeded", 2),
    ] {
        assert_eq!(count(&types, kind), times, "{kind} in {types:?}");
    }
    // Oldest first: each refund's success is written with the order's change it makes.
    let at = |kind: &str, nth: usize| {
        types
            .iter()
            .enumerate()
            .filter(|(_, t)| *t == kind)
            .nth(nth)
            .map(|(i, _)| i)
            .expect("listed")
    };
    assert!(at("order.paid", 0) < at("refund.succeeded", 0), "{types:?}");
    assert!(
        at("refund.succeeded", 0) < at("order.partially_refunded", 0),
        "{types:?}"
    );
    assert!(
        at("order.partially_refunded", 0) < at("refund.succeeded", 1),
        "{types:?}"
    );
    assert!(
        at("refund.succeeded", 1) < at("order.refunded", 0),
        "{types:?}"
    );
    for event in &events {
        assert_object_matches_type(event);
    }
    // Each change is a newer version of its object.
    let increasing = |v: Vec<i64>| v.windows(2).all(|w| w[0] < w[1]) && !v.is_empty();
    assert!(increasing(versions_of(
        &events,
        "order.",
        "out_trade_no",
        id
    )));
    for refund in [&first, &rest] {
        assert!(increasing(versions_of(
            &events,
            "refund.",
            "refund_id",
            &refund_id(refund)
        )));
    }

    // Every event: first answered 500, then delivered on the retry, the same signed
    // bytes both times, and the same event the API lists.
    let ids = event_ids(&events);
    let received = all_delivered(&receiver, &ids).await;
    let by_id = by_event(&received);
    assert_eq!(by_id.len(), ids.len(), "only listed events arrive");
    for event in &events {
        let id = event_id(event);
        let attempts = &by_id[&id];
        let answered: Vec<u16> = attempts.iter().map(|r| r.answered).collect();
        assert_eq!(answered, [500, 200], "{id}");
        for attempt in attempts {
            assert!(attempt.signature_ok, "{attempt:#?}");
            assert_eq!(attempt.content_type.as_deref(), Some("application/json"));
            assert_eq!(attempt.body, attempts[0].body, "the same bytes on a retry");
            let sent = attempt.event();
            assert_eq!(sent["id"], id.as_str());
            assert_eq!(sent["type"], event["type"]);
            assert_eq!(sent["created_at"], event["created_at"]);
            assert_eq!(sent["data"], event["data"], "{id}");
        }

        // The events API shows both attempts; where they went and what the endpoint
        // said are the operator's.
        let merchant_view = app.event_delivered(&id).await;
        let seen = &merchant_view["deliveries"][0];
        assert!(seen["url"].is_null(), "{merchant_view:#}");
        assert!(seen["attempts"][0]["error"].is_null(), "{merchant_view:#}");
        let (status, shown) = app.operator().get(&format!("/v1/events/{id}")).await;
        assert_eq!(status, 200, "{shown}");
        let deliveries = shown["deliveries"].as_array().expect("deliveries");
        assert_eq!(deliveries.len(), 1, "{shown:#}");
        assert_eq!(deliveries[0]["url"], receiver.url().as_str());
        let tries = deliveries[0]["attempts"].as_array().expect("attempts");
        let codes: Vec<&Value> = tries.iter().map(|a| &a["status_code"]).collect();
        assert_eq!(codes, [&json!(500), &json!(200)], "{shown:#}");
        assert!(tries[0]["error"].is_string(), "{shown:#}");
        assert!(tries[1]["error"].is_null(), "{shown:#}");
        assert!(tries.iter().all(|a| a["at"].is_string()), "{shown:#}");
    }
}

async fn two_instances_on_one_database_send_each_event_once(backend: Backend) {
    let receiver = Receiver::start(Policy::Accept, WEBHOOK_SECRET).await;
    let Some(one) = TestApp::spawn(backend, |c| webhooks_to(c, &receiver)).await else {
        return;
    };
    let two = one.beside(|c| webhooks_to(c, &receiver)).await;
    // Each order through one instance (its simulator knows the trade), both at once.
    let orders: Vec<(&TestApp, String)> = (0..4)
        .flat_map(|i| {
            [
                (&one, format!("HOOK_ONE_{i}")),
                (&two, format!("HOOK_TWO_{i}")),
            ]
        })
        .collect();
    for batch in orders.chunks(2) {
        join_all(
            batch
                .iter()
                .map(|(app, id)| app.paid_and_partly_refunded(id)),
        )
        .await;
    }
    // Every payment's and refund's notification is in: no change is still to come.
    one.notifications_settled(8).await;
    two.notifications_settled(8).await;

    let events = one.events("").await;
    assert_eq!(events, two.events("").await, "one database, one list");
    let ids = event_ids(&events);
    assert!(ids.len() >= 8 * 3, "{:?}", event_types(&events));
    all_delivered(&receiver, &ids).await;
    // Recorded as delivered after one attempt each: no instance will send it again.
    for id in &ids {
        let shown = one.event_delivered(id).await;
        let attempts = shown["deliveries"][0]["attempts"]
            .as_array()
            .expect("attempts");
        assert_eq!(attempts.len(), 1, "sent once: {shown:#}");
    }
    let received = receiver.received();
    let by_id = by_event(&received);
    for id in &ids {
        assert_eq!(by_id.get(id).map(Vec::len), Some(1), "{id} arrived once");
    }
    assert_eq!(by_id.len(), ids.len(), "nothing else arrived");
    assert!(received.iter().all(|r| r.signature_ok && r.delivered()));
    drop(two);
}
