//! Late payment: a payment Alipay confirms after payport closed the order is recorded
//! and flagged, never dropped (money was taken).

use payport_blackbox::{both_backends, Backend, TestApp};
use serde_json::json;

both_backends!(a_payment_after_close_is_recorded);

async fn a_payment_after_close_is_recorded(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "LATE_1";
    app.create_order(id, "66.00").await;
    let payment = app.start_qr(id).await;

    // Nobody scanned yet: Alipay does not know the trade (TRADE_NOT_EXIST), so payport
    // closes the order locally.
    let (status, closed) = app
        .post(&format!("/v1/orders/{id}/close"), &json!({}))
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["paid_after_close"], false);
    let trade = app.sim_trade(id).await.unwrap();
    assert_eq!(trade["status"], "WAIT_BUYER_PAY", "{trade}");

    // Closing again is harmless; paying again is refused.
    let (status, again) = app
        .post(&format!("/v1/orders/{id}/close"), &json!({}))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "closed");
    let (status, body) = app
        .post(
            &format!("/v1/orders/{id}/payments"),
            &json!({ "method": "qr" }),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "ORDER_CLOSED", "{body}");

    // The buyer still had the code on screen, scans and pays.
    app.scan(&payment).await;
    let paid = app.sim_pay(id).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let order = app
        .order_when(id, "the late payment recorded", |o| {
            o["paid_after_close"] == true
        })
        .await;
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["trade_no"], paid.json["trade_no"]);
    assert!(order["paid_at"].is_string());
    assert_eq!(order["refundable_amount"], "66.00");
    app.notifications_settled(1).await;

    // The money can be given back.
    let (status, refund) = app.refund(id, "16.00").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    let order = app.order(id).await;
    assert_eq!(order["status"], "partially_refunded");
    assert_eq!(order["paid_after_close"], true);
}
