//! Refunds made outside payport, in Alipay's merchant console: payport learns them
//! from Alipay's trade notification (asking the refund query for the amount), shows
//! them on the order, announces them, and counts them against later refunds.

use payport_alipay_openapi::SignType;
use payport_blackbox::notify::{self, set, signed, Key};
use payport_blackbox::{both_backends, refund_id, Backend, TestApp};
use serde_json::{json, Value};

both_backends!(
    a_console_refund_is_recorded_shown_announced_and_counted,
    a_console_refund_whose_amount_cannot_be_learned_is_acknowledged_and_left_alone
);

/// The order's refunds made outside payport.
fn external_refunds(order: &Value) -> Vec<Value> {
    order["refunds"]
        .as_array()
        .expect("refunds")
        .iter()
        .filter(|r| r["external"] == true)
        .cloned()
        .collect()
}

async fn a_console_refund_is_recorded_shown_announced_and_counted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "EXTERNAL_1";
    app.paid_order(id, "10.00").await;
    app.notifications_settled(1).await;

    // Alipay delivers the console refund's notification twice.
    app.sim_faults(json!({ "notify": { "duplicate": true } }))
        .await;
    let console = app.sim_console_refund(id, "3.00", "desk_1", true).await;
    assert_eq!(console.status, 200, "{}", console.text);
    let order = app
        .order_when(id, "the console refund recorded", |o| {
            o["refunded_amount"] == "3.00"
        })
        .await;
    assert_eq!(order["status"], "partially_refunded", "{order:#}");
    assert_eq!(order["refundable_amount"], "7.00", "{order:#}");
    let external = external_refunds(&order);
    assert_eq!(external.len(), 1, "{order:#}");
    let refund = &external[0];
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["amount"], "3.00");
    assert_eq!(refund["out_request_no"], "desk_1");
    assert_eq!(refund["attempts"], 0, "payport never sent it");
    app.notifications_settled(3).await;
    assert_eq!(
        external_refunds(&app.order(id).await).len(),
        1,
        "one, not two"
    );

    let rid = refund_id(refund);
    let events = app
        .events(&format!("type=refund.succeeded&object_id={rid}"))
        .await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["data"]["object"]["external"], true);
    assert_eq!(events[0]["data"]["object"]["amount"], "3.00");

    // What is left is 7.00: payport refuses 8.00 and refunds 7.00.
    app.sim_faults(json!({})).await;
    let (status, body) = app.refund(id, "8.00").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "REFUND_EXCEEDS_REFUNDABLE", "{body}");
    let (status, ours) = app.refund(id, "7.00").await;
    assert_eq!(status, 201, "{ours}");
    assert_eq!(ours["status"], "succeeded", "{ours}");
    assert_eq!(ours["external"], false, "{ours}");
    let order = app.order_with_status(id, "refunded").await;
    assert_eq!(order["refunded_amount"], "10.00");

    // Another notification naming the console refund (cumulative refund_fee) changes
    // nothing.
    let trade_no = order["trade_no"].as_str().unwrap();
    let mut fields = notify::trade_success(id, trade_no, "10.00", "external_again_1");
    set(&mut fields, "out_biz_no", "desk_1");
    set(&mut fields, "refund_fee", "10.00");
    set(&mut fields, "trade_status", "TRADE_CLOSED");
    set(&mut fields, "gmt_refund", "2026-01-01 12:10:00.000");
    let answer = app
        .post_notify(&signed(fields, Key::Alipay, SignType::Rsa2))
        .await;
    assert_eq!(answer, "success");
    let after = app.order(id).await;
    assert_eq!(after["refunds"].as_array().unwrap().len(), 2, "{after:#}");
    assert_eq!(after["refunded_amount"], "10.00");
}

/// The refund query fails: the notification is acknowledged all the same, and the
/// refund is left for the daily reconciliation rather than guessed from refund_fee.
async fn a_console_refund_whose_amount_cannot_be_learned_is_acknowledged_and_left_alone(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "EXTERNAL_2";
    app.paid_order(id, "10.00").await;
    app.notifications_settled(1).await;
    app.sim_faults(json!({
        "methods": { "alipay.trade.fastpay.refund.query": { "kind": "unavailable" } }
    }))
    .await;
    let console = app.sim_console_refund(id, "3.00", "desk_2", true).await;
    assert_eq!(console.status, 200, "{}", console.text);
    app.notifications_settled(2).await;
    let order = app.order(id).await;
    assert_eq!(order["status"], "paid", "{order:#}");
    assert_eq!(order["refunded_amount"], "0.00", "{order:#}");
    assert_eq!(order["refunds"], json!([]), "{order:#}");
}
