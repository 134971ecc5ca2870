//! Refusals: an over-refund is refused without a gateway call; the refund window is
//! enforced; unpaid and closed orders cannot be refunded.

use payport_alipay_openapi::SignType;
use payport_blackbox::notify::{self, set, signed, Key};
use payport_blackbox::{both_backends, Backend, TestApp};
use serde_json::json;

both_backends!(
    over_refunds_never_reach_alipay,
    the_refund_window_is_enforced,
    finished_orders_are_not_refunded,
    unpaid_and_closed_orders_are_not_refunded
);

async fn over_refunds_never_reach_alipay(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "OVER_1";
    app.paid_order(id, "10.00").await;
    // Refund notifications wait until the end, so that each answer is the call's own
    // (the race is `unknown_outcomes::refund_notifications_racing_the_answers`).
    app.sim_hold_notifications().await;

    let (status, body) = app.refund(id, "10.01").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "REFUND_EXCEEDS_REFUNDABLE", "{body}");
    assert!(app.sim_refunds().await.is_empty(), "Alipay was called");

    let (status, refund) = app.refund(id, "7.00").await;
    assert_eq!(status, 201, "{refund}");
    let (status, body) = app.refund(id, "3.01").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "REFUND_EXCEEDS_REFUNDABLE", "{body}");
    assert_eq!(app.sim_refunds().await.len(), 1, "Alipay was called");

    let (status, refund) = app.refund(id, "3.00").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    let order = app.order(id).await;
    assert_eq!(order["status"], "refunded");
    assert_eq!(order["refundable_amount"], "0.00");
    let (status, body) = app.refund(id, "0.01").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "REFUND_EXCEEDS_REFUNDABLE", "{body}");
    assert_eq!(app.sim_refunds().await.len(), 2);
    let order = app.order(id).await;
    assert_eq!(order["refunded_amount"], "10.00");
    assert_eq!(order["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(app.sim_release(false).await, 2);
    app.notifications_settled(3).await;
}

async fn the_refund_window_is_enforced(backend: Backend) {
    // The shortest window (one day), and an order Alipay says was paid before it.
    let Some(app) = TestApp::spawn(backend, |c| c.refunds.window_days = 1).await else {
        return;
    };
    let id = "WINDOW_1";
    app.create_order(id, "10.00").await;
    app.start_qr(id).await;
    let trade = app.sim_trade(id).await.expect("trade");
    let trade_no = trade["trade_no"].as_str().unwrap();
    let mut paid = notify::trade_success(id, trade_no, "10.00", "n_window_1");
    // Two days ago, in Alipay's Beijing time (UTC+8) and format.
    let paid_at = chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(2);
    set(
        &mut paid,
        "gmt_payment",
        &paid_at.format("%Y-%m-%d %H:%M:%S").to_string(),
    );
    let paid = signed(paid, Key::Alipay, SignType::Rsa2);
    assert_eq!(app.post_notify(&paid).await, "success");
    assert_eq!(app.order(id).await["status"], "paid");

    let (status, body) = app.refund(id, "1.00").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "REFUND_WINDOW_EXPIRED", "{body}");
    assert!(app.sim_refunds().await.is_empty());
    let order = app.order(id).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["refunds"], json!([]));
}

async fn unpaid_and_closed_orders_are_not_refunded(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    app.create_order("UNPAID_1", "10.00").await;
    let (status, body) = app.refund("UNPAID_1", "1.00").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "ORDER_NOT_PAID", "{body}");

    let (status, closed) = app.post("/v1/orders/UNPAID_1/close", &json!({})).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    let (status, body) = app.refund("UNPAID_1", "1.00").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "ORDER_CLOSED", "{body}");
    assert!(app.sim_refunds().await.is_empty());
    assert_eq!(app.order("UNPAID_1").await["refunds"], json!([]));
}

async fn finished_orders_are_not_refunded(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "FINISHED_1";
    let paid = app.paid_order(id, "10.00").await;
    // Alipay says TRADE_FINISHED (the trade left its refund window at Alipay).
    let trade_no = paid["trade_no"].as_str().unwrap();
    let mut fields = notify::trade_success(id, trade_no, "10.00", "n_finished_1");
    set(&mut fields, "trade_status", "TRADE_FINISHED");
    let fields = signed(fields, Key::Alipay, SignType::Rsa2);
    assert_eq!(app.post_notify(&fields).await, "success");
    let order = app.order(id).await;
    assert_eq!(order["status"], "finished", "{order}");
    assert_eq!(order["refundable_amount"], "0.00");
    let (status, body) = app.refund(id, "1.00").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "ORDER_FINISHED", "{body}");
    assert!(app.sim_refunds().await.is_empty());
}
