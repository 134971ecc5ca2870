//! The whole journey: create; page pay through the cashier; notify and return; a
//! partial refund; a second partial refund; a refund of the rest, leaving the order
//! `refunded`; the simulator's books agree.

use payport_blackbox::{assert_same_second, both_backends, refund_id, Backend, TestApp};
use serde_json::{json, Value};

both_backends!(whole_journey);

/// A refund of `amount` that succeeds at once (201), and the order after it.
async fn refund_succeeds(app: &TestApp, id: &str, amount: &str) -> (Value, Value) {
    let (status, refund) = app.refund(id, amount).await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    assert_eq!(refund["amount"], amount);
    assert_eq!(refund["out_trade_no"], id);
    assert_eq!(refund["gateway"], "openapi");
    assert!(refund["failure"].is_null(), "{refund}");
    assert!(refund["completed_at"].is_string(), "{refund}");
    assert!(
        refund["out_request_no"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{refund}"
    );
    (refund, app.order(id).await)
}

async fn whole_journey(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "JOURNEY_1";

    // The shop creates the order.
    let (status, order) = app
        .post(
            "/v1/orders",
            &json!({
                "subject": "Green tea, 500 g",
                "total_amount": "100.00",
                "out_trade_no": id,
                "body": "Longjing, spring harvest",
            }),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["out_trade_no"], id);
    assert_eq!(order["subject"], "Green tea, 500 g");
    assert_eq!(order["total_amount"], "100.00");
    assert_eq!(order["status"], "pending");
    assert_eq!(order["refunded_amount"], "0.00");
    assert_eq!(order["refundable_amount"], "0.00");
    assert!(order["trade_no"].is_null() && order["paid_at"].is_null());
    assert_eq!(order["refunds"], json!([]));
    assert!(order["created_at"].is_string());

    // Page pay: the buyer's browser opens pay_url and lands on the cashier.
    let (status, payment) = app
        .post(
            &format!("/v1/orders/{id}/payments"),
            &json!({ "method": "page", "return_url": "https://shop.example/done" }),
        )
        .await;
    assert_eq!(status, 200, "{payment}");
    assert_eq!(payment["method"], "page");
    let pay_url = payment["pay_url"].as_str().expect("pay_url");
    assert!(
        payment["form_html"]
            .as_str()
            .is_some_and(|f| f.contains("<form")),
        "{payment}"
    );
    let to_cashier = app.browse(pay_url).await;
    assert_eq!(to_cashier.status, 302, "{}", to_cashier.text);
    let cashier = to_cashier.location();
    assert_eq!(cashier, app.url(&format!("/sim/cashier/{id}")));
    let page = app.browse(&cashier).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("100.00"), "{}", page.text);

    // The buyer pays; the browser comes back through payport to the shop.
    let paid = app.submit(&format!("{cashier}/pay")).await;
    assert_eq!(paid.status, 302, "{}", paid.text);
    let back = paid.location();
    assert!(
        back.starts_with(&app.url("/callbacks/alipay/return?")),
        "{back}"
    );
    let to_shop = app.browse(&back).await;
    assert_eq!(to_shop.status, 302, "{}", to_shop.text);
    // The shop's thank-you page learns which order it is about.
    assert_eq!(
        to_shop.location(),
        format!("https://shop.example/done?out_trade_no={id}")
    );

    // The notification lands: the order is paid.
    let order = app.order_with_status(id, "paid").await;
    let trade = app.sim_trade(id).await.expect("trade at the simulator");
    assert_eq!(order["trade_no"], trade["trade_no"]);
    assert_same_second(&order["paid_at"], &trade["paid_at"]);
    assert_eq!(order["refunded_amount"], "0.00");
    assert_eq!(order["refundable_amount"], "100.00");
    assert_eq!(order["paid_after_close"], false);
    app.notifications_settled(1).await;

    // The refunds' notifications are held until all three answers are in, so that
    // each answer is the refund call's own (notifications racing the answers:
    // `unknown_outcomes::refund_notifications_racing_the_answers`).
    app.sim_hold_notifications().await;

    // A partial refund.
    let (first, order) = refund_succeeds(&app, id, "30.00").await;
    assert_eq!(order["status"], "partially_refunded", "{order}");
    assert_eq!(order["refunded_amount"], "30.00");
    assert_eq!(order["refundable_amount"], "70.00");

    // A second partial refund.
    let (second, order) = refund_succeeds(&app, id, "20.00").await;
    assert_ne!(first["out_request_no"], second["out_request_no"]);
    assert_eq!(order["status"], "partially_refunded", "{order}");
    assert_eq!(order["refunded_amount"], "50.00");
    assert_eq!(order["refundable_amount"], "50.00");

    // The rest.
    let (third, order) = refund_succeeds(&app, id, "50.00").await;
    assert_eq!(order["status"], "refunded", "{order}");
    assert_eq!(order["refunded_amount"], "100.00");
    assert_eq!(order["refundable_amount"], "0.00");
    let listed: Vec<String> = order["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(refund_id)
        .collect();
    assert_eq!(listed.len(), 3, "{order}");
    for refund in [&first, &second, &third] {
        assert!(listed.contains(&refund_id(refund)), "{order}");
        let fetched = app.refund_by_id(&refund_id(refund)).await;
        assert_eq!(fetched["status"], "succeeded");
    }
    let (status, of_order) = app.get(&format!("/v1/orders/{id}/refunds")).await;
    assert_eq!(status, 200);
    assert_eq!(of_order.as_array().unwrap().len(), 3, "{of_order}");

    // The simulator's books agree: three refunds under payport's numbers, all money back.
    let trade = app.sim_trade(id).await.unwrap();
    assert_eq!(trade["refunded_fen"], 10_000, "{trade}");
    assert_eq!(trade["status"], "TRADE_CLOSED", "{trade}");
    let sim_refunds = app.sim_refunds_of(id).await;
    let mut wire: Vec<(String, i64)> = sim_refunds
        .iter()
        .map(|r| {
            (
                r["out_request_no"].as_str().unwrap().to_owned(),
                r["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    wire.sort();
    let mut ours: Vec<(String, i64)> = [(&first, 3_000), (&second, 2_000), (&third, 5_000)]
        .iter()
        .map(|(r, fen)| (r["out_request_no"].as_str().unwrap().to_owned(), *fen))
        .collect();
    ours.sort();
    assert_eq!(wire, ours);

    // The refund notifications arrive after the fact: acknowledged, and they change
    // nothing more.
    assert_eq!(app.sim_release(false).await, 3);
    let deliveries = app.notifications_settled(4).await;
    let mut statuses: Vec<&str> = deliveries
        .iter()
        .map(|d| d["trade_status"].as_str().unwrap())
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [
            "TRADE_CLOSED",
            "TRADE_SUCCESS",
            "TRADE_SUCCESS",
            "TRADE_SUCCESS"
        ]
    );
    let settled = app.order(id).await;
    assert_eq!(settled["status"], "refunded");
    assert_eq!(settled["refunded_amount"], "100.00");
}
