//! The events API: filters, cursor paging and roles; redelivery; endpoints managed
//! by operators, each getting only the event types it asked for.

use payport_blackbox::receiver::{Policy, Receiver};
use payport_blackbox::webhooks::{
    all_delivered, event_id, event_ids, event_types, webhooks_to, DELIVERY_PATIENCE, WEBHOOK_SECRET,
};
use payport_blackbox::{both_backends, refund_id, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    the_events_api_filters_pages_and_keeps_to_roles,
    an_endpoint_made_through_the_api_gets_only_its_types,
    an_instance_without_webhooks_leaves_the_configured_endpoint_to_the_others
);

async fn the_events_api_filters_pages_and_keeps_to_roles(backend: Backend) {
    let receiver = Receiver::start(Policy::Accept, WEBHOOK_SECRET).await;
    let Some(app) = TestApp::spawn(backend, |c| webhooks_to(c, &receiver)).await else {
        return;
    };
    app.paid_and_partly_refunded("HOOK_API_1").await;
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
    ] {
        let (status, error) = app.get(&format!("/v1/events?{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(error["code"], code, "{query}: {error}");
    }
    // An id of nothing, as a path or as `after`: not found.
    for path in ["/v1/events/evt_nobody", "/v1/events?after=evt_nobody"] {
        let (status, error) = app.get(path).await;
        assert_eq!(status, 404, "{path}: {error}");
        assert_eq!(error["code"], "EVENT_NOT_FOUND");
    }

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

    app.paid_and_partly_refunded("HOOK_TYPES_1").await;
    app.notifications_settled(2).await;
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

/// Instances on one database share the configured endpoint: one started without
/// `webhooks.url` (another service, a one-off tool) must not delete it under the
/// instances that have it, nor fail their pending deliveries.
async fn an_instance_without_webhooks_leaves_the_configured_endpoint_to_the_others(
    backend: Backend,
) {
    let receiver = Receiver::start(Policy::Accept, WEBHOOK_SECRET).await;
    let Some(app) = TestApp::spawn(backend, |c| webhooks_to(c, &receiver)).await else {
        return;
    };
    let bare = app.beside(|_| {}).await;
    let (status, listed) = bare.operator().get("/v1/webhook-endpoints").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed[0]["id"], "we_configured", "{listed}");
    // And it still gets what either instance writes.
    bare.paid_order("HOOK_BARE_1", "3.00").await;
    let paid = bare.events("type=order.paid&object_id=HOOK_BARE_1").await;
    all_delivered(&receiver, &event_ids(&paid)).await;
    bare.stop().await;
    app.stop().await;
}
