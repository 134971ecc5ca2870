//! Webhooks and events over HTTP, payport in-process on SQLite against its simulator:
//! a paid order reaches a receiver on 127.0.0.1 signed with the endpoint's secret;
//! the events API pages, shows deliveries and answers roles and bad input with
//! stable codes; endpoints are managed by operators and show their secret once; the
//! buyer's browser comes back to the shop's return_url with the order named.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use support::{receiver, App, MERCHANT, OPERATOR};

const SECRET: &str = "whsec_server_test_0123456789abcdef";

#[tokio::test]
async fn a_paid_order_is_delivered_signed_and_listed_as_the_same_event() {
    let mut hooks = receiver().await;
    let url = hooks.url.clone();
    let app = App::start(|config| {
        config.webhooks.url = Some(url);
        config.webhooks.secret = Some(SECRET.into());
    })
    .await;
    app.pay("wh_paid_1", "88.88").await;

    let got = hooks.next().await;
    let now = chrono::Utc::now().timestamp();
    payport_webhooks::signature::verify(
        SECRET,
        &got.signature,
        got.body.as_bytes(),
        now,
        Some(300),
    )
    .unwrap();
    assert!(got.user_agent.starts_with("payport/"), "{}", got.user_agent);
    assert_eq!(got.content_type, "application/json");
    let event: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(
        event["id"],
        got.event_id.as_str(),
        "the header names the event"
    );
    assert!(got.event_id.starts_with("evt_"), "{}", got.event_id);
    assert_eq!(event["type"], "order.paid");
    let order = &event["data"]["object"];
    assert_eq!(order["out_trade_no"], "wh_paid_1");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["refunds"], json!([]));
    assert!(order["version"].as_i64().unwrap() > 0, "{order}");
    // The order as the API shows it now (nothing changed since).
    let (_, shown) = app
        .call(MERCHANT, "GET", "/v1/orders/wh_paid_1", None)
        .await;
    assert_eq!(order, &shown);

    // The events API shows the same event, and where it went.
    let (status, page) = app
        .call(
            MERCHANT,
            "GET",
            "/v1/events?type=order.paid&object_id=wh_paid_1",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], json!([event]));
    assert!(page["next_cursor"].is_null(), "{page}");
    let detail = app
        .until(&format!("/v1/events/{}", got.event_id), |d| {
            d["deliveries"][0]["status"] == "delivered"
        })
        .await;
    let delivery = &detail["deliveries"][0];
    assert_eq!(delivery["endpoint_id"], "we_configured");
    // Where it went is the operator's: a URL may carry the receiver's own token.
    assert!(delivery["url"].is_null(), "{detail}");
    assert_eq!(delivery["attempts"][0]["status_code"], 200);
    assert!(delivery["attempts"][0]["error"].is_null(), "{detail}");
    let path = format!("/v1/events/{}", got.event_id);
    let (status, seen) = app.call(OPERATOR, "GET", &path, None).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["deliveries"][0]["url"], hooks.url.as_str());
    assert_eq!(detail["type"], "order.paid");
    assert_eq!(detail["data"], event["data"]);

    let (status, endpoints) = app
        .call(OPERATOR, "GET", "/v1/webhook-endpoints", None)
        .await;
    assert_eq!(status, 200, "{endpoints}");
    assert_eq!(endpoints[0]["id"], "we_configured");
    assert_eq!(endpoints[0]["configured"], true);
    assert!(!endpoints.to_string().contains(SECRET), "{endpoints}");
    app.stop().await;
}

#[tokio::test]
async fn the_events_api_pages_oldest_first_and_answers_bad_input_and_roles() {
    let app = App::start(|_| {}).await;
    app.pay("wh_events_1", "10.00").await;
    let (status, refund) = app
        .call(
            MERCHANT,
            "POST",
            "/v1/orders/wh_events_1/refunds",
            Some(json!({"amount": "1.00"})),
        )
        .await;
    assert_eq!(status, 201, "{refund}");

    let (status, all) = app.call(MERCHANT, "GET", "/v1/events", None).await;
    assert_eq!(status, 200, "{all}");
    let types: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types[0], "order.paid", "{types:?}");
    for wanted in ["refund.succeeded", "order.partially_refunded"] {
        assert!(types.contains(&wanted), "{types:?}");
    }
    let refund_event = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "refund.succeeded")
        .unwrap();
    assert_eq!(
        refund_event["data"]["object"]["refund_id"],
        refund["refund_id"]
    );
    assert!(refund_event["data"]["object"]["operator_form_html"].is_null());

    // One at a time, following next_cursor, gives the same events in the same order.
    let mut paged = Vec::new();
    let mut path = "/v1/events?limit=1".to_owned();
    loop {
        let (status, page) = app.call(MERCHANT, "GET", &path, None).await;
        assert_eq!(status, 200, "{page}");
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/events?limit=1&after={cursor}"),
            None => break,
        }
        assert!(paged.len() <= types.len(), "paging does not end");
    }
    assert_eq!(Value::Array(paged), all["items"]);

    for (path, code) in [
        ("/v1/events?type=order.shipped", "VALIDATION_FAILED"),
        ("/v1/events?limit=0", "VALIDATION_FAILED"),
        ("/v1/events?limit=101", "VALIDATION_FAILED"),
        ("/v1/events?after=evt_never_issued", "EVENT_NOT_FOUND"),
        ("/v1/events/not%20an%20id", "VALIDATION_FAILED"),
        ("/v1/events/evt_never_issued", "EVENT_NOT_FOUND"),
    ] {
        let (status, error) = app.call(MERCHANT, "GET", path, None).await;
        assert_eq!(error["code"], code, "{path}: {status} {error}");
    }
    let (status, _) = app.call("", "GET", "/v1/events", None).await;
    assert_eq!(status, 401);

    let id = all["items"][0]["id"].as_str().unwrap();
    let redeliver = format!("/v1/events/{id}/redeliver");
    let (status, error) = app.call(MERCHANT, "POST", &redeliver, None).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("FORBIDDEN")));
    let (status, detail) = app.call(OPERATOR, "POST", &redeliver, None).await;
    assert_eq!(status, 202, "{detail}");
    assert_eq!(detail["id"], id);
    assert_eq!(detail["deliveries"], json!([]), "no endpoint, no delivery");
    app.stop().await;
}

#[tokio::test]
async fn operators_manage_endpoints_and_see_each_secret_once() {
    let mut hooks = receiver().await;
    let app = App::start(|_| {}).await;
    let create = |body: Value| app.call(OPERATOR, "POST", "/v1/webhook-endpoints", Some(body));

    let wanted = json!({"url": hooks.url, "event_types": ["order.paid"]});
    let (status, error) = app
        .call(
            MERCHANT,
            "POST",
            "/v1/webhook-endpoints",
            Some(wanted.clone()),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (403, Some("FORBIDDEN")));
    let (status, _) = app
        .call(MERCHANT, "GET", "/v1/webhook-endpoints", None)
        .await;
    assert_eq!(status, 403);
    for bad in [
        json!({"url": "ftp://shop.example/hooks"}),
        json!({"url": "http://%zz/hooks"}),
        json!({"url": "http://["}),
        json!({"url": hooks.url, "event_types": ["order.shipped"]}),
        json!({"url": hooks.url, "event_types": []}),
    ] {
        let (status, error) = create(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {error}");
        assert_eq!(error["code"], "VALIDATION_FAILED", "{bad}: {error}");
    }

    let (status, created) = create(wanted).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("we_") && secret.starts_with("whsec_"),
        "{created}"
    );
    assert_eq!(created["event_types"], json!(["order.paid"]));
    assert_eq!(created["configured"], false);
    let (status, listed) = app
        .call(OPERATOR, "GET", "/v1/webhook-endpoints", None)
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0].get("secret").is_none(), "{listed}");
    assert!(!listed.to_string().contains(&secret), "{listed}");

    // The new endpoint gets the next payment, signed with its own secret.
    app.pay("wh_endpoint_1", "5.00").await;
    let got = hooks.next().await;
    let now = chrono::Utc::now().timestamp();
    payport_webhooks::signature::verify(
        &secret,
        &got.signature,
        got.body.as_bytes(),
        now,
        Some(300),
    )
    .unwrap();
    assert!(got.body.contains("\"order.paid\""), "{}", got.body);

    let path = format!("/v1/webhook-endpoints/{id}");
    let (status, _) = app.call(MERCHANT, "DELETE", &path, None).await;
    assert_eq!(status, 403);
    let (status, body) = app.call(OPERATOR, "DELETE", &path, None).await;
    assert_eq!(status, 204, "{body}");
    let (status, error) = app.call(OPERATOR, "DELETE", &path, None).await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["code"], "WEBHOOK_ENDPOINT_NOT_FOUND");
    let (_, listed) = app
        .call(OPERATOR, "GET", "/v1/webhook-endpoints", None)
        .await;
    assert_eq!(listed, json!([]));
    app.stop().await;
}

#[tokio::test]
async fn the_buyer_comes_back_to_the_return_url_with_the_order_named() {
    let app = App::start(|_| {}).await;
    for (id, return_url, expected) in [
        (
            "wh_return_1",
            "https://shop.example/thanks",
            "https://shop.example/thanks?out_trade_no=wh_return_1",
        ),
        (
            "wh_return_2",
            "https://shop.example/thanks?lang=zh#paid",
            "https://shop.example/thanks?lang=zh&out_trade_no=wh_return_2#paid",
        ),
    ] {
        assert_eq!(app.pay_in_browser(id, return_url).await, expected);
    }
    app.stop().await;
}
