//! Callbacks that could mislead payport, and what a shop then sees: a return naming
//! another seller, returns replayed for a paid order, a notify_id reused for other
//! content, and a trade_no Alipay's signature gives to two orders.

use payport_alipay_openapi::SignType;
use payport_blackbox::notify::{self, set, signed, Fields, Key};
use payport_blackbox::{both_backends, Backend, TestApp};
use serde_json::{json, Value};

both_backends!(
    a_return_naming_another_seller_is_refused_and_changes_nothing,
    replaying_a_return_for_a_paid_order_asks_alipay_nothing,
    a_notify_id_reused_for_other_content_is_answered_failure,
    a_trade_no_given_to_two_orders_is_refused_without_sql_or_503
);

const QUERY: &str = "alipay.trade.query";

/// A return's parameters as Alipay signs them (PROTOCOL.md A6).
fn return_params(out_trade_no: &str, amount: &str, trade_no: &str, seller: &str) -> Fields {
    [
        ("charset", "utf-8"),
        ("out_trade_no", out_trade_no),
        ("method", "alipay.trade.page.pay.return"),
        ("total_amount", amount),
        ("trade_no", trade_no),
        ("auth_app_id", notify::APP_ID),
        ("version", "1.0"),
        ("app_id", notify::APP_ID),
        ("seller_id", seller),
        ("timestamp", "2026-01-01 12:00:00"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn return_url(app: &TestApp, fields: &Fields) -> String {
    let pairs: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    app.url(&format!("/callbacks/alipay/return?{}", pairs.join("&")))
}

/// Makes the simulator count `method` calls: a zero-delay fault with a budget that
/// each call uses up.
async fn count_calls(app: &TestApp, method: &str) {
    app.sim_faults(json!({ "methods": { method: { "kind": "delay", "ms": 0, "times": 1000 } } }))
        .await;
}

/// How many `method` calls the simulator received since [`count_calls`].
async fn calls(app: &TestApp, method: &str) -> u64 {
    let faults: Value = reqwest::get(app.url("/sim/control/faults"))
        .await
        .expect("faults")
        .json()
        .await
        .expect("faults JSON");
    1000 - faults["methods"][method]["times"].as_u64().unwrap_or(0)
}

async fn a_return_naming_another_seller_is_refused_and_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "RETURN_SELLER_1";
    let trade_no = app.pending_with_trade(id, "18.00").await;
    let before = app.order(id).await;
    count_calls(&app, QUERY).await;
    let params = return_params(id, "18.00", &trade_no, "2088999999999999");
    let page = app
        .browse(&return_url(
            &app,
            &signed(params, Key::Alipay, SignType::Rsa2),
        ))
        .await;
    assert_eq!(page.status, 400, "{}", page.text);
    assert!(page.header("location").is_none(), "refused, not redirected");
    assert_eq!(app.order(id).await, before);
    assert_eq!(calls(&app, QUERY).await, 0, "nothing asked on its behalf");
}

async fn replaying_a_return_for_a_paid_order_asks_alipay_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "RETURN_REPLAY_1";
    let paid = app.paid_order(id, "25.00").await;
    let trade_no = paid["trade_no"].as_str().unwrap();
    let url = return_url(
        &app,
        &signed(
            return_params(id, "25.00", trade_no, notify::SELLER_ID),
            Key::Alipay,
            SignType::Rsa2,
        ),
    );
    count_calls(&app, QUERY).await;
    for _ in 0..3 {
        let page = app.browse(&url).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.text.contains("paid"), "{}", page.text);
    }
    assert_eq!(calls(&app, QUERY).await, 0, "answered from payport's books");
    assert_eq!(app.order(id).await, paid);
}

async fn a_notify_id_reused_for_other_content_is_answered_failure(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "NOTIFY_REUSE_1";
    let trade_no = app.pending_with_trade(id, "30.00").await;
    let genuine = notify::trade_success(id, &trade_no, "30.00", "n_reused_1");
    let first = signed(genuine.clone(), Key::Alipay, SignType::Rsa2);
    assert_eq!(app.post_notify(&first).await, "success");
    let paid = app.order(id).await;
    assert_eq!(paid["status"], "paid", "{paid}");

    let mut other = genuine;
    set(&mut other, "trade_status", "TRADE_FINISHED");
    let other = signed(other, Key::Alipay, SignType::Rsa2);
    assert_eq!(app.post_notify(&other).await, "failure");
    assert_eq!(
        app.order(id).await,
        paid,
        "the other content changed nothing"
    );
    // The first one, sent again byte for byte, is a harmless redelivery.
    assert_eq!(app.post_notify(&first).await, "success");
    assert_eq!(app.order(id).await, paid);
    // So is the same notification sent again later, with a new send time and so a new
    // signature: it says the same about the trade.
    let mut later = notify::trade_success(id, &trade_no, "30.00", "n_reused_1");
    set(&mut later, "notify_time", "2026-01-01 12:04:00");
    let later = signed(later, Key::Alipay, SignType::Rsa2);
    assert_ne!(later, first);
    assert_eq!(app.post_notify(&later).await, "success");
    assert_eq!(app.order(id).await, paid);
}

async fn a_trade_no_given_to_two_orders_is_refused_without_sql_or_503(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let first = "TWICE_A";
    let second = "TWICE_B";
    app.pending_with_trade(first, "10.00").await;
    let taken = app.pending_with_trade(second, "20.00").await;
    // Correctly signed, and claiming the second order's trade for the first one.
    let claim = notify::trade_success(first, &taken, "10.00", "n_twice_1");
    let claim = signed(claim, Key::Alipay, SignType::Rsa2);
    assert_eq!(app.post_notify(&claim).await, "success");
    assert_eq!(app.order(first).await["trade_no"], taken.as_str());

    // Now Alipay reports the same trade_no for the second order.
    app.sim_hold_notifications().await;
    assert_eq!(app.sim_pay(second).await.status, 200);
    let before = app.order(second).await;
    let (status, body) = app
        .post(&format!("/v1/orders/{second}/sync"), &json!({}))
        .await;
    assert_ne!(status, 503, "retrying cannot help: {body}");
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["code"], "GATEWAY_DATA_MISMATCH", "{body}");
    let message = body["message"].as_str().unwrap_or_default().to_lowercase();
    for sql in [
        "unique",
        "constraint",
        "orders.",
        "duplicate key",
        "insert",
        "update ",
    ] {
        assert!(!message.contains(sql), "SQL text {sql:?} in {body}");
    }
    assert_eq!(app.order(second).await, before, "nothing changed");
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
