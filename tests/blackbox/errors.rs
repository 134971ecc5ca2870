//! Errors and auth: every error code of the contract is reachable through the API,
//! with its HTTP status and a `{code, message}` body; the two roles are enforced; the
//! public endpoints need no token.
//!
//! Reached elsewhere: REFUND_EXCEEDS_REFUNDABLE and REFUND_WINDOW_EXPIRED
//! (`refusals`), IDEMPOTENCY_KEY_REUSED (`idempotency`), FORBIDDEN for each operator
//! action (`flows::manual_approval_flow`).

use payport_blackbox::{both_backends, refund_id, Backend, Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    validation_failures,
    amounts_must_be_strings,
    foreign_page_cursors_are_refused,
    unknown_orders_and_refunds,
    state_conflicts,
    gateway_rejections,
    tokens_and_roles,
    public_endpoints_need_no_token
);

/// The error body: `{code, message}`, both strings, with the expected status.
fn assert_error(what: &str, status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{what}: {body}");
    assert_eq!(body["code"], code, "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no message in {body}"
    );
}

fn assert_reply(what: &str, reply: &Reply, expected_status: u16, code: &str) {
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}: not JSON: {:?}",
        reply.headers
    );
    assert_error(what, reply.status, &reply.json, expected_status, code);
}

async fn validation_failures(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let merchant = app.merchant();
    let order = |fields: Value| {
        let mut body = json!({ "subject": "Tea", "total_amount": "1.00" });
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let bad_orders = [
        ("three decimals", order(json!({ "total_amount": "1.234" }))),
        ("zero", order(json!({ "total_amount": "0.00" }))),
        ("negative", order(json!({ "total_amount": "-1.00" }))),
        ("exponent", order(json!({ "total_amount": "1e2" }))),
        ("too much", order(json!({ "total_amount": "100000000.01" }))),
        ("empty amount", order(json!({ "total_amount": "" }))),
        ("missing subject", json!({ "total_amount": "1.00" })),
        ("missing amount", json!({ "subject": "Tea" })),
        ("blank subject", order(json!({ "subject": "   " }))),
        (
            "bad out_trade_no",
            order(json!({ "out_trade_no": "bad-no!" })),
        ),
        (
            "long out_trade_no",
            order(json!({ "out_trade_no": "A".repeat(65) })),
        ),
        ("timeout 0", order(json!({ "timeout_minutes": 0 }))),
        ("not an object", json!(["Tea", "1.00"])),
    ];
    for (what, body) in bad_orders {
        let reply = merchant
            .send(Method::POST, "/v1/orders", Some(&body), None)
            .await;
        assert_reply(what, &reply, 400, "VALIDATION_FAILED");
    }
    let reply = merchant
        .post_raw("/v1/orders", "application/json", "{\"subject\": \"Tea\",")
        .await;
    assert_reply("bad JSON", &reply, 400, "VALIDATION_FAILED");

    for path in [
        "/v1/orders?limit=0",
        "/v1/orders?limit=201",
        "/v1/orders?limit=ten",
        "/v1/orders?status=lost",
        "/v1/orders/bad-no!",
    ] {
        let reply = merchant.send(Method::GET, path, None, None).await;
        assert_reply(path, &reply, 400, "VALIDATION_FAILED");
    }
    let reply = app
        .operator()
        .send(Method::GET, "/v1/refunds?limit=0", None, None)
        .await;
    assert_reply("refunds limit=0", &reply, 400, "VALIDATION_FAILED");

    app.paid_order("VALID_1", "5.00").await;
    for (what, path, body) in [
        (
            "refund amount",
            "/v1/orders/VALID_1/refunds",
            json!({ "amount": "abc" }),
        ),
        (
            "refund amount with three decimals",
            "/v1/orders/VALID_1/refunds",
            json!({ "amount": "0.001" }),
        ),
        (
            "bad out_request_no",
            "/v1/orders/VALID_1/refunds",
            json!({ "amount": "1.00", "out_request_no": "no spaces" }),
        ),
        (
            "unknown gateway",
            "/v1/orders/VALID_1/refunds",
            json!({ "amount": "1.00", "gateway": "carrier_pigeon" }),
        ),
        (
            "control character in the reason",
            "/v1/orders/VALID_1/refunds",
            json!({ "amount": "1.00", "reason": "bad\u{7}bell" }),
        ),
        (
            "reason too long",
            "/v1/orders/VALID_1/refunds",
            json!({ "amount": "1.00", "reason": "x".repeat(1_000) }),
        ),
        (
            "unknown method",
            "/v1/orders/VALID_1/payments",
            json!({ "method": "cash" }),
        ),
    ] {
        let reply = merchant.send(Method::POST, path, Some(&body), None).await;
        assert_reply(what, &reply, 400, "VALIDATION_FAILED");
    }
    assert!(app.sim_refunds().await.is_empty());

    for key in ["", "with space", &"k".repeat(256)] {
        let reply = merchant
            .post_keyed("/v1/orders", key, &order(json!({})))
            .await;
        assert_reply(
            &format!("Idempotency-Key {key:?}"),
            &reply,
            400,
            "VALIDATION_FAILED",
        );
    }
    let (_, page) = app.get("/v1/orders").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    // The buyer's browser is redirected to return_url: only http(s) URLs.
    app.create_order("URL_1", "1.00").await;
    for url in ["javascript:alert(1)", "data:text/html,x", "//evil.example/"] {
        let body = json!({ "method": "page", "return_url": url });
        let reply = merchant
            .send(Method::POST, "/v1/orders/URL_1/payments", Some(&body), None)
            .await;
        assert_reply(url, &reply, 400, "VALIDATION_FAILED");
    }
}

/// Amounts are strings (`"88.88"`): a JSON number has already been through a binary
/// float in the client's and payport's JSON parsers, where `99999999.999999999` (not
/// a valid amount) rounds to `100000000.0` (a valid one). Refused like any bad amount.
async fn amounts_must_be_strings(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    for amount in ["99999999.999999999", "1.0", "1", "0.1"] {
        let body = format!(r#"{{"subject": "Tea", "total_amount": {amount}}}"#);
        let reply = app
            .merchant()
            .send(
                Method::POST,
                "/v1/orders",
                Some(&serde_json::from_str(&body).unwrap()),
                None,
            )
            .await;
        assert_reply(
            &format!("total_amount {amount} (a number)"),
            &reply,
            400,
            "VALIDATION_FAILED",
        );
    }
    app.paid_order("NUMBERS_1", "5.00").await;
    let reply = app
        .merchant()
        .send(
            Method::POST,
            "/v1/orders/NUMBERS_1/refunds",
            Some(&json!({ "amount": 1 })),
            None,
        )
        .await;
    assert_reply(
        "refund amount 1 (a number)",
        &reply,
        400,
        "VALIDATION_FAILED",
    );
    assert!(app.sim_refunds().await.is_empty());
}

/// A cursor is opaque: one payport did not issue is the caller's mistake, not a
/// storage outage to retry.
async fn foreign_page_cursors_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    app.create_order("CURSOR_1", "1.00").await;
    // A cursor is an opaque keyset position, not a secret: a well-formed one is a
    // position (an empty page past the end); a malformed one is the caller's mistake.
    for path in [
        "/v1/orders?cursor=garbage",
        "/v1/orders?cursor=p1.notatime.x",
        "/v1/refunds?cursor=garbage",
    ] {
        let reply = app.operator().send(Method::GET, path, None, None).await;
        assert_reply(path, &reply, 400, "VALIDATION_FAILED");
    }
}

async fn unknown_orders_and_refunds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    for (method, path, body) in [
        (Method::GET, "/v1/orders/NOPE", None),
        (Method::GET, "/v1/orders/NOPE/refunds", None),
        (
            Method::POST,
            "/v1/orders/NOPE/payments",
            Some(json!({ "method": "qr" })),
        ),
        (
            Method::POST,
            "/v1/orders/NOPE/refunds",
            Some(json!({ "amount": "1.00" })),
        ),
        (Method::POST, "/v1/orders/NOPE/sync", None),
        (Method::POST, "/v1/orders/NOPE/close", None),
    ] {
        let what = format!("{method} {path}");
        let reply = app.merchant().send(method, path, body.as_ref(), None).await;
        assert_reply(&what, &reply, 404, "ORDER_NOT_FOUND");
    }
    for (method, path, body) in [
        (Method::GET, "/v1/refunds/rf_nope", None),
        (Method::POST, "/v1/refunds/rf_nope/sync", None),
        (Method::POST, "/v1/refunds/rf_nope/approve", None),
        (
            Method::POST,
            "/v1/refunds/rf_nope/reject",
            Some(json!({ "reason": "no" })),
        ),
    ] {
        let what = format!("{method} {path}");
        let reply = app.operator().send(method, path, body.as_ref(), None).await;
        assert_reply(&what, &reply, 404, "REFUND_NOT_FOUND");
    }
}

async fn state_conflicts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    // ORDER_ALREADY_EXISTS.
    app.create_order("STATE_1", "10.00").await;
    let (status, body) = app
        .post(
            "/v1/orders",
            &json!({ "subject": "Tea", "total_amount": "10.00", "out_trade_no": "STATE_1" }),
        )
        .await;
    assert_error(
        "same out_trade_no",
        status,
        &body,
        409,
        "ORDER_ALREADY_EXISTS",
    );

    // ORDER_NOT_PAID.
    let (status, body) = app.refund("STATE_1", "1.00").await;
    assert_error(
        "refund a pending order",
        status,
        &body,
        409,
        "ORDER_NOT_PAID",
    );

    // INVALID_STATE: a paid order cannot be closed or paid again.
    app.paid_order("STATE_2", "10.00").await;
    let (status, body) = app.post("/v1/orders/STATE_2/close", &json!({})).await;
    assert_error("close a paid order", status, &body, 409, "INVALID_STATE");
    let (status, body) = app
        .post("/v1/orders/STATE_2/payments", &json!({ "method": "qr" }))
        .await;
    assert_error("pay a paid order", status, &body, 409, "INVALID_STATE");
    assert_eq!(app.order("STATE_2").await["status"], "paid");

    // The same out_request_no: same amount is the same refund, another is refused.
    let path = "/v1/orders/STATE_2/refunds";
    let (status, first) = app
        .post(
            path,
            &json!({ "amount": "1.00", "out_request_no": "REQ_1" }),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["out_request_no"], "REQ_1");
    let (status, same) = app
        .post(
            path,
            &json!({ "amount": "1.00", "out_request_no": "REQ_1" }),
        )
        .await;
    assert!(matches!(status, 200 | 201), "{status} {same}");
    assert_eq!(refund_id(&same), refund_id(&first));
    let (status, body) = app
        .post(
            path,
            &json!({ "amount": "2.00", "out_request_no": "REQ_1" }),
        )
        .await;
    assert_error(
        "out_request_no reused",
        status,
        &body,
        409,
        "OUT_REQUEST_NO_REUSED",
    );
    assert_eq!(app.sim_refunds_of("STATE_2").await.len(), 1);
    assert_eq!(app.order("STATE_2").await["refunded_amount"], "1.00");

    // INVALID_STATE: approving or rejecting a refund that was never pending approval.
    let id = refund_id(&first);
    let (status, body) = app
        .operator()
        .post(&format!("/v1/refunds/{id}/approve"), &json!({}))
        .await;
    assert_error(
        "approve a succeeded refund",
        status,
        &body,
        409,
        "INVALID_STATE",
    );
    let (status, body) = app
        .operator()
        .post(
            &format!("/v1/refunds/{id}/reject"),
            &json!({ "reason": "late" }),
        )
        .await;
    assert_error(
        "reject a succeeded refund",
        status,
        &body,
        409,
        "INVALID_STATE",
    );
    assert_eq!(app.refund_by_id(&id).await["status"], "succeeded");
    assert_eq!(app.sim_refunds_of("STATE_2").await.len(), 1);
}

async fn gateway_rejections(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    // The trade was closed at Alipay (its notification not here yet): asking Alipay for
    // a QR code again is refused with ACQ.TRADE_HAS_CLOSE.
    app.create_order("REJECTED_1", "10.00").await;
    app.start_qr("REJECTED_1").await;
    app.sim_hold_notifications().await;
    assert_eq!(app.sim_close("REJECTED_1").await.status, 200);
    let (status, body) = app
        .post("/v1/orders/REJECTED_1/payments", &json!({ "method": "qr" }))
        .await;
    assert_error(
        "precreate a closed trade",
        status,
        &body,
        502,
        "GATEWAY_REJECTED",
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("ACQ.TRADE_HAS_CLOSE"),
        "{body}"
    );
    assert_eq!(app.order("REJECTED_1").await["status"], "pending");

    // The buyer paid at Alipay (notification still held) while the shop closes the
    // order: Alipay refuses to close, payport learns the payment and refuses the close.
    app.create_order("REJECTED_2", "10.00").await;
    let payment = app.start_qr("REJECTED_2").await;
    app.scan(&payment).await;
    assert_eq!(app.sim_pay("REJECTED_2").await.status, 200);
    let (status, body) = app.post("/v1/orders/REJECTED_2/close", &json!({})).await;
    assert_error(
        "close a trade paid at Alipay",
        status,
        &body,
        409,
        "INVALID_STATE",
    );
    let order = app.order("REJECTED_2").await;
    assert_eq!(order["status"], "paid", "{order}");

    // The held notifications then land harmlessly.
    assert_eq!(app.sim_release(false).await, 2);
    app.notifications_settled(2).await;
    assert_eq!(app.order("REJECTED_2").await, order);
    assert_eq!(app.order("REJECTED_1").await["status"], "closed");
}

async fn tokens_and_roles(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    app.paid_order("AUTH_1", "10.00").await;
    let requests: Vec<(Method, &str, Option<Value>)> = vec![
        (
            Method::POST,
            "/v1/orders",
            Some(json!({ "subject": "Tea", "total_amount": "1.00" })),
        ),
        (Method::GET, "/v1/orders", None),
        (Method::GET, "/v1/orders/AUTH_1", None),
        (
            Method::POST,
            "/v1/orders/AUTH_1/payments",
            Some(json!({ "method": "qr" })),
        ),
        (Method::POST, "/v1/orders/AUTH_1/sync", None),
        (Method::POST, "/v1/orders/AUTH_1/close", None),
        (
            Method::POST,
            "/v1/orders/AUTH_1/refunds",
            Some(json!({ "amount": "1.00" })),
        ),
        (Method::GET, "/v1/orders/AUTH_1/refunds", None),
        (Method::GET, "/v1/refunds", None),
        (Method::GET, "/v1/refunds/rf_x", None),
        (Method::POST, "/v1/refunds/rf_x/approve", None),
        (
            Method::POST,
            "/v1/refunds/rf_x/reject",
            Some(json!({ "reason": "no" })),
        ),
        (Method::POST, "/v1/refunds/rf_x/sync", None),
    ];
    for (method, path, body) in &requests {
        let what = format!("{method} {path}");
        for (who, caller) in [
            ("no token", app.anonymous()),
            ("unknown token", app.bearer("not-a-token")),
            ("empty token", app.bearer("")),
            ("token prefix", app.bearer("m-tok")),
            ("token plus", app.bearer("m-token2")),
        ] {
            let reply = caller.send(method.clone(), path, body.as_ref(), None).await;
            assert_reply(&format!("{what} with {who}"), &reply, 401, "UNAUTHORIZED");
        }
        // Another scheme with the right secret.
        let reply = app
            .http_raw(method.clone(), path, "Basic m-token", body.as_ref())
            .await;
        assert_reply(&format!("{what} with Basic"), &reply, 401, "UNAUTHORIZED");
    }
    // Nothing happened: no refund, no new order, order still paid.
    let order = app.order("AUTH_1").await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["refunds"], json!([]));
    let (_, page) = app.get("/v1/orders").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    // Merchants may not touch the operator's actions.
    for (method, path, body) in &requests[10..12] {
        let reply = app
            .merchant()
            .send(method.clone(), path, body.as_ref(), None)
            .await;
        assert_reply(
            &format!("merchant {method} {path}"),
            &reply,
            403,
            "FORBIDDEN",
        );
    }
    let reply = app
        .merchant()
        .send(Method::GET, "/v1/refunds", None, None)
        .await;
    assert_reply("merchant lists all refunds", &reply, 403, "FORBIDDEN");

    // Operators may do everything a merchant does.
    let (status, order) = app
        .operator()
        .post(
            "/v1/orders",
            &json!({ "subject": "Tea", "total_amount": "2.00", "out_trade_no": "AUTH_2" }),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let (status, refund) = app
        .operator()
        .post("/v1/orders/AUTH_1/refunds", &json!({ "amount": "1.00" }))
        .await;
    assert_eq!(status, 201, "{refund}");
    let (status, _) = app.operator().get("/v1/orders/AUTH_2").await;
    assert_eq!(status, 200);
    let (status, listed) = app.operator().get("/v1/refunds").await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}

async fn public_endpoints_need_no_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let health = app.browse(&app.url("/healthz")).await;
    assert_eq!((health.status, health.text.as_str()), (200, "ok"));
    let spec = app.browse(&app.url("/openapi.json")).await;
    assert_eq!(spec.status, 200);
    assert!(spec.json["paths"].is_object());
    let docs = app.browse(&app.url("/docs")).await;
    assert!(
        docs.status == 200 || (300..400).contains(&docs.status),
        "{} {}",
        docs.status,
        docs.text
    );
    if docs.status == 200 {
        assert!(docs.text.to_lowercase().contains("<html"), "{}", docs.text);
    }

    // Callbacks answer on their own terms (a refused notification, a return that
    // does not verify), never 401.
    assert_eq!(app.post_notify(&Vec::new()).await, "failure");
    let back = app.browse(&app.url("/callbacks/alipay/return")).await;
    assert_eq!(back.status, 400, "{}", back.text);
    let mapi = app
        .anonymous()
        .post_raw(
            "/callbacks/alipay/mapi/refund-notify",
            "application/x-www-form-urlencoded",
            "notify_type=batch_refund_notify",
        )
        .await;
    assert_eq!(mapi.status, 200, "{}", mapi.text);
    assert_eq!(mapi.text, "failure");
}
