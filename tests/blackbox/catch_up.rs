//! Payments whose notification never came: the worker asks Alipay about pending orders
//! on a schedule from the payment start, so the buyer's money is never left unseen.
//! Every app here checks right away, then every second (`[0, 1]`).

use payport_blackbox::{both_backends, wait_until, Backend, TestApp};
use payport_domain::{Order, OutTradeNo};
use payport_server::config::Config;
use serde_json::{json, Value};

both_backends!(
    a_payment_whose_notification_was_lost_becomes_paid_through_the_worker,
    an_unpaid_order_is_checked_again_later,
    a_notified_payment_is_not_asked_about,
);

fn check_every_second(config: &mut Config) {
    config.payments.check_after_secs = vec![0, 1];
}

/// The order as stored: its check time is not part of the API.
async fn stored(app: &TestApp, id: &str) -> Order {
    let no = OutTradeNo::parse(id).unwrap();
    app.state.orders.get(&no).await.unwrap()
}

/// `order.paid` events about this order, as the merchant lists them.
async fn paid_events(app: &TestApp, id: &str) -> Vec<Value> {
    app.events(&format!("type=order.paid&object_id={id}")).await
}

async fn a_payment_whose_notification_was_lost_becomes_paid_through_the_worker(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, check_every_second).await else {
        return;
    };
    let id = "CATCHUP_1";
    app.create_order(id, "12.34").await;
    let payment = app.start_qr(id).await;
    app.scan(&payment).await;
    let paid = app.sim_pay_silently(id).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert!(app.sim_notifications().await.is_empty(), "nothing was sent");
    let before = app.order(id).await;
    assert_eq!(
        before["status"], "pending",
        "payport was not told: {before}"
    );

    assert!(app.run_worker_once().await >= 1);
    let order = app.order(id).await;
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["trade_no"], paid.json["trade_no"], "{order}");
    assert!(order["paid_at"].is_string(), "{order}");
    assert_eq!(order["refundable_amount"], "12.34", "{order}");
    let events = paid_events(&app, id).await;
    assert_eq!(events.len(), 1, "{events:#?}");

    // A second pass finds nothing to do: no check is left for a paid order.
    app.run_worker_once().await;
    assert_eq!(app.order(id).await, order);
    assert_eq!(paid_events(&app, id).await.len(), 1);
    assert_eq!(stored(&app, id).await.payment_check_at, None);

    // The money can be given back as usual.
    let (status, refund) = app.refund(id, "2.34").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
}

async fn an_unpaid_order_is_checked_again_later(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, check_every_second).await else {
        return;
    };
    let id = "CATCHUP_WAIT";
    app.create_order(id, "8.00").await;
    app.start_qr(id).await;
    let started = stored(&app, id).await;
    let started_at = started.payment_started_at.expect("the payment started");
    assert_eq!(
        started.payment_check_at,
        Some(started_at),
        "checked at once"
    );

    // Nobody paid: the order stays pending, its next check a second later at most
    // (not the worker's one-minute claim).
    app.run_worker_once().await;
    let checked = stored(&app, id).await;
    assert_eq!(checked.status, payport_domain::OrderStatus::Pending);
    let next = checked.payment_check_at.expect("checked again later");
    assert!(next > started_at, "{next} after {started_at}");
    assert!(
        next <= app.state.clock.now() + chrono::Duration::seconds(1),
        "{next}"
    );
    assert_eq!(app.order(id).await["status"], "pending");

    // When that time comes, the worker asks again and moves it once more.
    let asked_again = wait_until(|| async {
        app.run_worker_once().await;
        stored(&app, id)
            .await
            .payment_check_at
            .is_some_and(|at| at > next)
    })
    .await;
    assert!(asked_again, "the order was not checked again");
    assert!(paid_events(&app, id).await.is_empty());
}

async fn a_notified_payment_is_not_asked_about(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, check_every_second).await else {
        return;
    };
    let paid = "CATCHUP_NOTIFIED";
    app.paid_order(paid, "5.00").await;
    app.notifications_settled(1).await;
    let waiting = "CATCHUP_WAITING";
    app.create_order(waiting, "6.00").await;
    app.start_qr(waiting).await;

    // Every trade query from now on fails, and is counted by the simulator.
    let queries = json!({ "kind": "unavailable", "times": 100 });
    app.sim_faults(json!({ "methods": { "alipay.trade.query": queries } }))
        .await;
    app.run_worker_once().await;
    let left = &app.sim_faults_now().await["methods"]["alipay.trade.query"]["times"];
    assert_eq!(left, 99, "only the waiting order was asked about");
    assert_eq!(app.order(paid).await["status"], "paid");
    // A query without an answer is normal: the waiting order is checked again later.
    assert!(stored(&app, waiting).await.payment_check_at.is_some());
}
