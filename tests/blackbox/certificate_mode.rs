//! Certificate mode end to end: payport with the DEV certificates against the
//! simulator in certificate mode (which it runs in process when it is configured so).
//! Every call carries the SNs and every answer names the simulator's certificate; a
//! page payment, a QR payment, refunds and a refund query work as in public key mode.
//! An app certificate Alipay does not know is refused, and payport says which.

use payport_blackbox::app::repo_path;
use payport_blackbox::{refund_id, Backend, TestApp};
use payport_server::config::Config;
use serde_json::json;

payport_blackbox::both_backends!(
    certificate_mode_pays_and_refunds,
    an_app_certificate_alipay_does_not_know_is_refused_by_name,
    a_rotation_mid_run_is_adopted_and_a_refund_in_flight_settles,
);

/// The DEV certificates (keys/README.md) instead of Alipay's public key.
fn certificates(app_cert: &str) -> impl FnOnce(&mut Config) + '_ {
    move |config| {
        config.alipay.alipay_public_key = None;
        config.alipay.app_cert = Some(repo_path(app_cert));
        config.alipay.alipay_cert = Some(repo_path("keys/dev_alipay_cert.pem"));
        config.alipay.alipay_root_cert = Some(repo_path("keys/dev_alipay_root_bundle.pem"));
    }
}

async fn certificate_mode_pays_and_refunds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, certificates("keys/dev_app_cert.pem")).await else {
        return;
    };
    // A page payment through the cashier: the browser carries the signed request
    // (SNs included) to the simulator's gateway, and the return comes back verified.
    app.create_order("CERT_PAGE", "50.00").await;
    let (status, payment) = app
        .post(
            "/v1/orders/CERT_PAGE/payments",
            &json!({ "method": "page", "return_url": "https://shop.example/done" }),
        )
        .await;
    assert_eq!(status, 200, "{payment}");
    let to_cashier = app.browse(payment["pay_url"].as_str().unwrap()).await;
    assert_eq!(to_cashier.status, 302, "{}", to_cashier.text);
    let paid = app.submit(&format!("{}/pay", to_cashier.location())).await;
    assert_eq!(paid.status, 302, "{}", paid.text);
    let to_shop = app.browse(&paid.location()).await;
    assert_eq!(
        to_shop.location(),
        "https://shop.example/done?out_trade_no=CERT_PAGE"
    );
    app.order_with_status("CERT_PAGE", "paid").await;

    // A QR payment (precreate), paid; a refund answered at once.
    app.paid_order("CERT_QR", "20.00").await;
    let (status, refund) = app.refund("CERT_QR", "5.00").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");

    // A refund whose answer is lost (Alipay refunded anyway), settled by the refund
    // query; its notification is held, so that only the query can settle it.
    app.sim_faults(json!({
        "methods": { "alipay.trade.refund":
            { "kind": "system_error", "performed": true, "times": 1 } },
        "notify": { "hold": true },
    }))
    .await;
    let (status, refund) = app.refund("CERT_PAGE", "10.00").await;
    assert_eq!(status, 202, "{refund}");
    let (status, synced) = app
        .post(
            &format!("/v1/refunds/{}/sync", refund_id(&refund)),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["status"], "succeeded", "{synced}");
    assert_eq!(app.order("CERT_PAGE").await["refunded_amount"], "10.00");
}

async fn an_app_certificate_alipay_does_not_know_is_refused_by_name(backend: Backend) {
    // The app key's superseded certificate: payport accepts it (it holds the key),
    // Alipay does not know its SN.
    let reissued = certificates("testdata/cert-mode/app_cert_reissued.pem");
    let Some(app) = TestApp::spawn(backend, reissued).await else {
        return;
    };
    app.create_order("CERT_WRONG", "10.00").await;
    let (status, body) = app
        .post("/v1/orders/CERT_WRONG/payments", &json!({ "method": "qr" }))
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["code"], "GATEWAY_REJECTED", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("isv.app-cert-not-exist"), "{message}");
    assert_eq!(app.order("CERT_WRONG").await["status"], "pending");
    assert!(
        app.sim_trade("CERT_WRONG").await.is_none(),
        "nothing ran at Alipay"
    );
}

async fn a_rotation_mid_run_is_adopted_and_a_refund_in_flight_settles(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, certificates("keys/dev_app_cert.pem")).await else {
        return;
    };
    app.paid_order("ROTATE_1", "30.00").await;
    // A refund whose answer is lost (Alipay refunded anyway): in flight.
    app.sim_faults(json!({
        "methods": { "alipay.trade.refund":
            { "kind": "system_error", "performed": true, "times": 1 } },
        "notify": { "hold": true },
    }))
    .await;
    let (status, refund) = app.refund("ROTATE_1", "7.00").await;
    assert_eq!(status, 202, "{refund}");

    // Alipay rotates its certificate: from now on it signs with another key.
    let new_sn = app.sim_rotate_alipay_cert().await;
    let configured = payport_alipay_sim::SimCerts::dev().alipay_cert_sn;
    assert_ne!(new_sn, configured);

    // The refund query's answer names the new certificate: payport downloads it,
    // checks it against the root, and believes the answer.
    let (status, synced) = app
        .post(
            &format!("/v1/refunds/{}/sync", refund_id(&refund)),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["status"], "succeeded", "{synced}");
    let order = app.order("ROTATE_1").await;
    assert_eq!(order["refunded_amount"], "7.00", "{order}");
    let refunds = app.sim_refunds_of("ROTATE_1").await;
    assert_eq!(refunds.len(), 1, "one refund at Alipay: {refunds:?}");

    // Notifications signed with the new key are accepted too: a new payment lands.
    app.sim_faults(json!({})).await;
    app.sim_release(false).await;
    app.paid_order("ROTATE_2", "5.00").await;
}
