//! The HTTP API keeps the promises its OpenAPI document makes, over real HTTP against
//! payport in-process (SQLite, simulator): what a client generated from the spec
//! meets — statuses the operation lists, an `Allow` on 405, 401 before anything
//! else, error bodies with `request_id` and `param`, absent fields left out, and
//! only JSON strings where the spec says string.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

// Shared with the webhook tests, which use more of it.
#[allow(dead_code)]
mod support;

use serde_json::{json, Value};
use support::{App, MERCHANT};

fn spec() -> Value {
    serde_json::from_str(&payport_server::api::spec_json()).unwrap()
}

fn listed(operation: &str, method: &str, status: u16) -> bool {
    spec()["paths"][operation][method]["responses"]
        .get(status.to_string())
        .is_some()
}

async fn answer(response: reqwest::Response) -> (u16, Option<String>, Option<String>, Value) {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (allow, request_id) = (header("allow"), header("x-request-id"));
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    (status, allow, request_id, body)
}

const BEARER: &str = "Bearer m-webhook-test-token";

#[tokio::test]
async fn a_post_without_a_body_gets_the_415_its_operation_lists() {
    let app = App::start(|_| {}).await;
    let (status, _, _, body) = answer(
        app.raw("POST", "/v1/orders", &[("authorization", BEARER)], None)
            .await,
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["code"], "UNSUPPORTED_MEDIA_TYPE");
    assert!(listed("/v1/orders", "post", 415));
    // A read never takes a body, so it does not list 415.
    assert!(!listed("/v1/orders", "get", 415));
    app.stop().await;
}

#[tokio::test]
async fn a_405_says_which_methods_the_path_has() {
    let app = App::start(|_| {}).await;
    let (status, allow, _, body) = answer(
        app.raw("PUT", "/v1/orders", &[("authorization", BEARER)], None)
            .await,
    )
    .await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(allow.as_deref(), Some("GET, POST"));
    let (status, allow, _, _) = answer(
        app.raw(
            "GET",
            "/v1/refunds/operator-batches/x",
            &[("authorization", BEARER)],
            None,
        )
        .await,
    )
    .await;
    assert_eq!((status, allow), (404, None), "no such path: no Allow");
    app.stop().await;
}

#[tokio::test]
async fn a_missing_token_is_answered_401_before_the_key_or_the_body_is_looked_at() {
    let app = App::start(|_| {}).await;
    for (headers, body) in [
        // An invalid key, an invalid body.
        (vec![("idempotency-key", "")], Some("{")),
        (vec![("idempotency-key", "k1")], None),
        (
            vec![("idempotency-key", "k1"), ("content-type", "text/plain")],
            Some("hello"),
        ),
        (vec![("content-type", "application/json")], Some("[]")),
        (vec![("authorization", "Bearer nobody")], Some("{")),
    ] {
        let (status, _, _, answer) =
            answer(app.raw("POST", "/v1/orders", &headers, body).await).await;
        assert_eq!(status, 401, "{headers:?} {body:?}: {answer}");
        assert_eq!(answer["code"], "UNAUTHORIZED");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_error_names_its_request_and_the_field_at_fault() {
    let app = App::start(|_| {}).await;
    let json_headers = [
        ("authorization", BEARER),
        ("content-type", "application/json"),
        ("x-request-id", "trace-me-1"),
    ];
    let too_long = json!({"subject": "茶".repeat(257), "total_amount": "1.00"}).to_string();
    let (status, _, request_id, body) = answer(
        app.raw("POST", "/v1/orders", &json_headers, Some(&too_long))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "VALIDATION_FAILED");
    assert_eq!(body["param"], "subject", "{body}");
    assert_eq!(body["request_id"], "trace-me-1");
    assert_eq!(request_id.as_deref(), Some("trace-me-1"));

    let (status, _, request_id, body) = answer(
        app.raw(
            "GET",
            "/v1/orders?limit=0",
            &[("authorization", BEARER)],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["param"], "limit", "{body}");
    // Without one from the caller, payport makes one up, the same in both places.
    assert!(!body["request_id"].as_str().unwrap().is_empty(), "{body}");
    assert_eq!(body["request_id"].as_str(), request_id.as_deref());

    // Not a validation failure: no param.
    let (status, body) = app.call(MERCHANT, "GET", "/v1/orders/nope", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "ORDER_NOT_FOUND");
    assert!(body.get("param").is_none(), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn only_a_json_string_is_a_string() {
    let app = App::start(|_| {}).await;
    for order in [
        json!({"subject": 42, "total_amount": "1.00"}),
        json!({"subject": true, "total_amount": "1.00"}),
        json!({"subject": "tea", "total_amount": "1.00", "body": 7}),
    ] {
        let (status, body) = app.call(MERCHANT, "POST", "/v1/orders", Some(order)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "VALIDATION_FAILED");
    }
    let (_, page) = app.call(MERCHANT, "GET", "/v1/orders", None).await;
    assert_eq!(page["items"], json!([]), "nothing was created");
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_does_not_fit_its_schema_names_the_field() {
    let app = App::start(|_| {}).await;
    let (_, order) = app
        .call(
            MERCHANT,
            "POST",
            "/v1/orders",
            Some(json!({"subject": "tea", "total_amount": "1.00"})),
        )
        .await;
    let payments = format!(
        "/v1/orders/{}/payments",
        order["out_trade_no"].as_str().unwrap()
    );
    for (path, bad, field) in [
        (
            "/v1/orders",
            json!({"subject": 42, "total_amount": "1.00"}),
            "subject",
        ),
        (
            "/v1/orders",
            json!({"subject": "tea", "total_amount": true}),
            "total_amount",
        ),
        ("/v1/orders", json!({"total_amount": "1.00"}), "subject"),
        // Two faults: the message and `param` are both about the first field.
        ("/v1/orders", json!({"subject": 7}), "subject"),
        (payments.as_str(), json!({"method": "bitcoin"}), "method"),
        (
            payments.as_str(),
            json!({"method": "page", "return_url": 5}),
            "return_url",
        ),
    ] {
        let (status, body) = app.call(MERCHANT, "POST", path, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "VALIDATION_FAILED", "{bad}: {body}");
        assert_eq!(body["param"], field, "{bad}: {body}");
    }
    // Not an object at all: no field to name, so no `param`.
    let (status, body) = app
        .call(MERCHANT, "POST", "/v1/orders", Some(json!([1])))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("param").is_none(), "{body}");
    let (_, page) = app.call(MERCHANT, "GET", "/v1/orders", None).await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "nothing more was created"
    );
    app.stop().await;
}

#[tokio::test]
async fn absent_fields_are_left_out_and_null_in_a_request_means_absent() {
    let app = App::start(|_| {}).await;
    let order =
        json!({"subject": "tea", "total_amount": "1.00", "out_trade_no": "c_1", "body": null});
    let (status, order) = app.call(MERCHANT, "POST", "/v1/orders", Some(order)).await;
    assert_eq!(status, 201, "{order}");
    let fields = order.as_object().unwrap();
    for absent in ["body", "trade_no", "paid_at", "closed_at"] {
        assert!(!fields.contains_key(absent), "{absent}: {order}");
    }
    assert!(
        !order.to_string().contains("null"),
        "no field is ever null: {order}"
    );
    let (_, page) = app.call(MERCHANT, "GET", "/v1/orders", None).await;
    assert!(page.get("next_cursor").is_none(), "last page: {page}");
    app.stop().await;
}

#[tokio::test]
async fn the_interactive_docs_show_the_served_document() {
    let app = App::start(|_| {}).await;
    let page = app
        .raw("GET", "/docs", &[], None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("x-payport-roles"),
        "{}",
        &page[..page.len().min(300)]
    );
    app.stop().await;
}
