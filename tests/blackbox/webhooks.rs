//! Webhooks as a shop receives them: every status change of the journey arrives
//! signed, and a failed delivery is retried; two instances on one database send each
//! event once; the events API lists, filters and pages them; an endpoint made through
//! the API gets only the types it asked for; the return URL names the order.

use std::collections::HashMap;
use std::time::Duration;

use payport_blackbox::receiver::{Policy, Received, Receiver};
use payport_blackbox::webhooks::{event_id, event_ids, event_types, webhooks_to, WEBHOOK_SECRET};
use payport_blackbox::{both_backends, join_all, refund_id, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    the_journey_arrives_signed_each_event_after_one_retry,
    two_instances_on_one_database_send_each_event_once,
    the_events_api_filters_pages_and_keeps_to_roles,
    an_endpoint_made_through_the_api_gets_only_its_types,
    the_return_url_names_the_order
);

/// Retries come after 1 to 2 s; a few of them, for many events, fit in this.
const DELIVERY_PATIENCE: Duration = Duration::from_secs(60);

/// Waits until every event in `ids` was answered 2xx by `receiver`.
async fn all_delivered(receiver: &Receiver, ids: &[String]) -> Vec<Received> {
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

        // The events API shows both attempts.
        let shown = app.event_delivered(&id).await;
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

/// Paid, then a refund of part of it: about six events.
async fn pay_and_refund(app: &TestApp, id: &str) {
    app.paid_order(id, "20.00").await;
    let (status, refund) = app.refund(id, "5.00").await;
    assert_eq!(status, 201, "{refund}");
    app.order_with_status(id, "partially_refunded").await;
    app.notifications_settled(2).await;
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
        join_all(batch.iter().map(|(app, id)| pay_and_refund(app, id))).await;
    }

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

async fn the_events_api_filters_pages_and_keeps_to_roles(backend: Backend) {
    let receiver = Receiver::start(Policy::Accept, WEBHOOK_SECRET).await;
    let Some(app) = TestApp::spawn(backend, |c| webhooks_to(c, &receiver)).await else {
        return;
    };
    pay_and_refund(&app, "HOOK_API_1").await;
    app.paid_order("HOOK_API_2", "8.00").await;
    app.notifications_settled(3).await;
    let all = app.events("").await;
    let all_ids = event_ids(&all);

    // By type: both payments, nothing else.
    let paid = app.events("type=order.paid").await;
    assert_eq!(event_types(&paid), ["order.paid", "order.paid"]);
    let paid_orders: Vec<&Value> = paid
        .iter()
        .map(|e| &e["data"]["object"]["out_trade_no"])
        .collect();
    assert_eq!(paid_orders, [&json!("HOOK_API_1"), &json!("HOOK_API_2")]);
    // By object: an order's own events, then a refund's.
    let first = app.events("object_id=HOOK_API_1").await;
    assert_eq!(
        event_types(&first),
        ["order.paid", "order.partially_refunded"]
    );
    let (_, refunds) = app.get("/v1/orders/HOOK_API_1/refunds").await;
    let refund = refund_id(&refunds[0]);
    let of_refund = app.events(&format!("object_id={refund}")).await;
    assert!(
        of_refund
            .last()
            .is_some_and(|e| e["type"] == "refund.succeeded"),
        "{of_refund:#?}"
    );
    assert!(of_refund
        .iter()
        .all(|e| e["data"]["object"]["refund_id"] == refund.as_str()));
    let both = app
        .events(&format!("type=refund.succeeded&object_id={refund}"))
        .await;
    assert_eq!(event_types(&both), ["refund.succeeded"]);
    // Every event is in the unfiltered list, in the same order.
    for filtered in [&paid, &first, &of_refund] {
        let positions: Vec<usize> = event_ids(filtered)
            .iter()
            .map(|id| all_ids.iter().position(|a| a == id).expect("listed"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    // Page by page, two at a time: the same list, each page after its cursor.
    let (status, page) = app.get("/v1/events?limit=2").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["next_cursor"], page["items"][1]["id"]);
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = app.get(&format!("/v1/events?limit=2{after}")).await;
        assert_eq!(status, 200, "{page}");
        paged.extend(event_ids(page["items"].as_array().expect("items")));
        match page["next_cursor"].as_str() {
            Some(cursor) => after = format!("&after={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, all_ids);
    let (status, page) = app.get(&format!("/v1/events?after={}", all_ids[1])).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        event_ids(page["items"].as_array().expect("items")),
        all_ids[2..]
    );

    // Bad input: a clear error with a stable code.
    for (query, code) in [
        ("type=order.shipped", "VALIDATION_FAILED"),
        ("limit=0", "VALIDATION_FAILED"),
        ("limit=101", "VALIDATION_FAILED"),
        ("after=evt_nobody", "VALIDATION_FAILED"),
    ] {
        let (status, error) = app.get(&format!("/v1/events?{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(error["code"], code, "{query}: {error}");
    }
    let (status, error) = app.get("/v1/events/evt_nobody").await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["code"], "EVENT_NOT_FOUND");

    // Roles: both read; only operators redeliver; strangers nothing.
    let one = &all_ids[0];
    let (status, _) = app.operator().get("/v1/events").await;
    assert_eq!(status, 200);
    let (status, shown) = app.operator().get(&format!("/v1/events/{one}")).await;
    assert_eq!(status, 200, "{shown}");
    let (status, error) = app.anonymous().get("/v1/events").await;
    assert_eq!(status, 401, "{error}");
    assert_eq!(error["code"], "UNAUTHORIZED");
    let redeliver = format!("/v1/events/{one}/redeliver");
    let (status, error) = app.merchant().post(&redeliver, &json!({})).await;
    assert_eq!(status, 403, "{error}");
    assert_eq!(error["code"], "FORBIDDEN");

    // Redelivered: the same event, under the same id, arrives again.
    all_delivered(&receiver, &all_ids).await;
    let (status, _) = app.operator().post(&redeliver, &json!({})).await;
    assert!((200..300).contains(&status), "{status}");
    receiver
        .wait_for("the event a second time", DELIVERY_PATIENCE, |r| {
            r.iter()
                .filter(|r| r.delivered() && r.event_id.as_deref() == Some(one.as_str()))
                .count()
                == 2
        })
        .await;
    let (status, error) = app
        .operator()
        .post("/v1/events/evt_nobody/redeliver", &json!({}))
        .await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["code"], "EVENT_NOT_FOUND");
}

async fn an_endpoint_made_through_the_api_gets_only_its_types(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let receiver = Receiver::start(Policy::Accept, "not known yet").await;
    let asked = json!({ "url": receiver.url(), "event_types": ["refund.succeeded"] });

    // Endpoints are the operators' business.
    for (method, path) in [
        (Method::POST, "/v1/webhook-endpoints"),
        (Method::GET, "/v1/webhook-endpoints"),
        (Method::DELETE, "/v1/webhook-endpoints/we_nobody"),
    ] {
        let body = (method == Method::POST).then_some(&asked);
        let reply = app.merchant().send(method.clone(), path, body, None).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
        assert_eq!(reply.json["code"], "FORBIDDEN");
    }
    for (bad, why) in [
        (
            json!({ "url": receiver.url(), "event_types": ["order.shipped"] }),
            "unknown type",
        ),
        (json!({ "url": "ftp://shop.example/hooks" }), "not http(s)"),
        (json!({ "url": "not a url" }), "not a URL"),
    ] {
        let (status, error) = app.operator().post("/v1/webhook-endpoints", &bad).await;
        assert_eq!(status, 400, "{why}: {error}");
        assert_eq!(error["code"], "VALIDATION_FAILED", "{why}: {error}");
    }
    let (status, listed) = app.operator().get("/v1/webhook-endpoints").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed, json!([]), "nothing made by the refused ones");

    // Made: the secret is in this answer and never again.
    let (status, endpoint) = app.operator().post("/v1/webhook-endpoints", &asked).await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["secret"].as_str().expect("the secret, once");
    receiver.set_secret(secret);
    let endpoint_id = endpoint["id"].as_str().expect("id").to_owned();
    assert_eq!(endpoint["event_types"], json!(["refund.succeeded"]));
    let listed = app
        .operator()
        .send(Method::GET, "/v1/webhook-endpoints", None, None)
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json[0]["id"], endpoint_id.as_str());
    assert_eq!(listed.json[0]["url"], receiver.url().as_str());
    assert!(!listed.text.contains(secret), "{}", listed.text);

    pay_and_refund(&app, "HOOK_TYPES_1").await;
    let wanted = app.events("type=refund.succeeded").await;
    assert_eq!(wanted.len(), 1);
    let wanted_id = event_id(&wanted[0]);
    let received = all_delivered(&receiver, std::slice::from_ref(&wanted_id)).await;
    // Every other event was written with no delivery to this endpoint.
    for event in app.events("").await {
        let shown = app.event(&event_id(&event)).await;
        let deliveries = shown["deliveries"].as_array().expect("deliveries").len();
        let expected = usize::from(event["type"] == "refund.succeeded");
        assert_eq!(deliveries, expected, "{shown:#}");
    }
    assert_eq!(received.len(), 1, "{received:#?}");
    assert!(
        received[0].signature_ok,
        "signed with the endpoint's own secret"
    );
    assert_eq!(received[0].event_type(), "refund.succeeded");

    // Deleted: gone from the list, and the next refund is not sent to it.
    let path = format!("/v1/webhook-endpoints/{endpoint_id}");
    let gone = app.operator().send(Method::DELETE, &path, None, None).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let again = app.operator().send(Method::DELETE, &path, None, None).await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(again.json["code"], "WEBHOOK_ENDPOINT_NOT_FOUND");
    let (_, listed) = app.operator().get("/v1/webhook-endpoints").await;
    assert_eq!(listed, json!([]));
    let (status, refund) = app.refund("HOOK_TYPES_1", "5.00").await;
    assert_eq!(status, 201, "{refund}");
    let later = app.events("type=refund.succeeded").await;
    assert_eq!(later.len(), 2);
    let shown = app.event(&event_id(&later[1])).await;
    assert_eq!(shown["deliveries"], json!([]), "{shown:#}");
}

async fn the_return_url_names_the_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    for (id, return_url, expected) in [
        (
            "HOOK_RETURN_1",
            "https://shop.example/thanks",
            "https://shop.example/thanks?out_trade_no=HOOK_RETURN_1",
        ),
        (
            "HOOK_RETURN_2",
            "https://shop.example/thanks?lang=zh&step=3",
            "https://shop.example/thanks?lang=zh&step=3&out_trade_no=HOOK_RETURN_2",
        ),
        (
            "HOOK_RETURN_3",
            "https://shop.example/thanks?lang=zh#receipt",
            "https://shop.example/thanks?lang=zh&out_trade_no=HOOK_RETURN_3#receipt",
        ),
    ] {
        app.create_order(id, "12.00").await;
        let (status, payment) = app
            .post(
                &format!("/v1/orders/{id}/payments"),
                &json!({ "method": "page", "return_url": return_url }),
            )
            .await;
        assert_eq!(status, 200, "{payment}");
        let to_cashier = app
            .browse(payment["pay_url"].as_str().expect("pay_url"))
            .await;
        let cashier = to_cashier.location();
        let paid = app.submit(&format!("{cashier}/pay")).await;
        assert_eq!(paid.status, 302, "{}", paid.text);
        let to_shop = app.browse(&paid.location()).await;
        assert_eq!(to_shop.status, 302, "{}", to_shop.text);
        assert_eq!(to_shop.location(), expected);
    }
}
