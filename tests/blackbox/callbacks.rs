//! Bad callbacks: forged, tampered (amount, app_id, seller_id), unsigned and SHA-1
//! downgraded notifications are refused (`failure`) and change nothing; duplicate and
//! out-of-order notifications are harmless; a forged browser return is not believed.

use payport_alipay_openapi::SignType;
use payport_blackbox::notify::{self, set, signed, Fields, Key};
use payport_blackbox::{both_backends, Backend, TestApp};
use serde_json::{json, Value};

both_backends!(
    bad_notifications_are_refused_and_change_nothing,
    duplicate_notifications_are_harmless,
    notifications_out_of_order_are_harmless,
    a_forged_return_is_not_believed
);

async fn bad_notifications_are_refused_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "CALLBACK_1";
    let trade_no = app.pending_with_trade(id, "88.88").await;
    let genuine = notify::trade_success(id, &trade_no, "88.88", "n_genuine_1");
    let before = app.order(id).await;

    let changed = |key: &str, value: &str| {
        let mut fields = genuine.clone();
        set(&mut fields, key, value);
        fields
    };
    let mut cases: Vec<(&str, Fields)> = Vec::new();
    cases.push((
        "forged",
        signed(genuine.clone(), Key::Forger, SignType::Rsa2),
    ));
    let mut tampered = signed(genuine.clone(), Key::Alipay, SignType::Rsa2);
    set(&mut tampered, "total_amount", "0.01");
    cases.push(("amount tampered after signing", tampered));
    let mut tampered = signed(genuine.clone(), Key::Alipay, SignType::Rsa2);
    set(&mut tampered, "trade_status", "TRADE_FINISHED");
    cases.push(("status tampered after signing", tampered));
    let mut wrong_amount = changed("total_amount", "0.01");
    set(&mut wrong_amount, "receipt_amount", "0.01");
    set(&mut wrong_amount, "buyer_pay_amount", "0.01");
    cases.push((
        "signed, another amount",
        signed(wrong_amount, Key::Alipay, SignType::Rsa2),
    ));
    cases.push((
        "signed, another app_id",
        signed(
            changed("app_id", "2021000000000999"),
            Key::Alipay,
            SignType::Rsa2,
        ),
    ));
    cases.push((
        "signed, another seller_id",
        signed(
            changed("seller_id", "2088999999999999"),
            Key::Alipay,
            SignType::Rsa2,
        ),
    ));
    let no_seller: Fields = genuine
        .iter()
        .filter(|(k, _)| k != "seller_id")
        .cloned()
        .collect();
    cases.push((
        "signed, no seller_id",
        signed(no_seller, Key::Alipay, SignType::Rsa2),
    ));
    cases.push((
        "signed, not our order",
        signed(
            changed("out_trade_no", "NOT_OURS"),
            Key::Alipay,
            SignType::Rsa2,
        ),
    ));
    cases.push(("unsigned", genuine.clone()));
    let mut type_only = genuine.clone();
    set(&mut type_only, "sign_type", "RSA2");
    cases.push(("sign_type without sign", type_only));
    let mut empty_sign = genuine.clone();
    set(&mut empty_sign, "sign_type", "RSA2");
    set(&mut empty_sign, "sign", "");
    cases.push(("empty sign", empty_sign));
    cases.push((
        "SHA-1 downgrade (sign_type=RSA)",
        signed(genuine.clone(), Key::Alipay, SignType::Rsa),
    ));
    let mut relabelled = signed(genuine.clone(), Key::Alipay, SignType::Rsa);
    set(&mut relabelled, "sign_type", "RSA2");
    cases.push(("SHA-1 signature labelled RSA2", relabelled));
    let mut twice = signed(genuine.clone(), Key::Alipay, SignType::Rsa2);
    let forged = signed(genuine.clone(), Key::Forger, SignType::Rsa2);
    twice.push(forged.last().unwrap().clone());
    cases.push(("two signs", twice));

    for (what, fields) in &cases {
        assert_eq!(app.post_notify(fields).await, "failure", "{what}");
        assert_eq!(app.order(id).await, before, "{what} changed the order");
    }
    assert_eq!(app.post_notify(&Vec::new()).await, "failure", "empty body");

    // The same notification, genuinely signed, is believed: the cases above were
    // refused for what was wrong with them.
    let good = signed(genuine.clone(), Key::Alipay, SignType::Rsa2);
    assert_eq!(app.post_notify(&good).await, "success");
    let paid = app.order(id).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["trade_no"], trade_no.as_str());
    // gmt_payment is Beijing time (UTC+8).
    assert!(
        paid["paid_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-01-01T03:59:30")),
        "{paid}"
    );

    // Sent again (Alipay resends until it reads `success`): harmless.
    assert_eq!(app.post_notify(&good).await, "success");
    assert_eq!(app.order(id).await, paid);
    // The same news under a new notify_id: harmless too.
    let mut renewed = genuine.clone();
    set(&mut renewed, "notify_id", "n_genuine_2");
    let renewed = signed(renewed, Key::Alipay, SignType::Rsa2);
    assert_eq!(app.post_notify(&renewed).await, "success");
    assert_eq!(app.order(id).await, paid);

    // Bad ones stay refused once the order is paid.
    for (what, fields) in &cases {
        assert_eq!(app.post_notify(fields).await, "failure", "{what} (paid)");
    }
    assert_eq!(app.order(id).await, paid);
}

async fn duplicate_notifications_are_harmless(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    app.sim_faults(json!({ "notify": { "duplicate": true } }))
        .await;
    let id = "DUPLICATE_1";
    let paid = app.paid_order(id, "40.00").await;
    let deliveries = app.notifications_settled(2).await;
    assert_eq!(deliveries[0]["notify_id"], deliveries[1]["notify_id"]);
    assert_eq!(
        app.order(id).await,
        paid,
        "the second copy changed the order"
    );

    let (status, refund) = app.refund(id, "15.00").await;
    assert_eq!(status, 201, "{refund}");
    app.notifications_settled(4).await;
    let order = app.order(id).await;
    assert_eq!(order["status"], "partially_refunded");
    assert_eq!(order["refunded_amount"], "15.00", "counted once: {order}");
    assert_eq!(order["refundable_amount"], "25.00");
    assert_eq!(order["refunds"].as_array().unwrap().len(), 1);
}

async fn notifications_out_of_order_are_harmless(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "REORDER_1";
    app.create_order(id, "30.00").await;
    let payment = app.start_qr(id).await;
    app.scan(&payment).await;
    app.sim_hold_notifications().await;
    assert_eq!(app.sim_pay(id).await.status, 200);
    // The notification is held: the shop asks Alipay instead.
    let (status, synced) = app.post(&format!("/v1/orders/{id}/sync"), &json!({})).await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["status"], "paid");
    for amount in ["5.00", "6.00"] {
        let (status, refund) = app.refund(id, amount).await;
        assert_eq!(status, 201, "{refund}");
        assert_eq!(refund["status"], "succeeded");
    }
    let order = app.order(id).await;
    assert_eq!(order["refunded_amount"], "11.00");

    // Newest first: the second refund, the first, then the payment.
    assert_eq!(app.sim_release(true).await, 3);
    app.notifications_settled(3).await;
    let after: Value = app.order(id).await;
    assert_eq!(after, order);
}

async fn a_forged_return_is_not_believed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "RETURN_1";
    let trade_no = app.pending_with_trade(id, "18.00").await;
    let before = app.order(id).await;
    let params: Fields = [
        ("charset", "utf-8"),
        ("out_trade_no", id),
        ("method", "alipay.trade.page.pay.return"),
        ("total_amount", "18.00"),
        ("trade_no", trade_no.as_str()),
        ("auth_app_id", notify::APP_ID),
        ("version", "1.0"),
        ("app_id", notify::APP_ID),
        ("seller_id", notify::SELLER_ID),
        ("timestamp", "2026-01-01 12:00:00"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let query = |fields: &Fields| {
        let pairs: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        app.url(&format!("/callbacks/alipay/return?{}", pairs.join("&")))
    };
    for (what, fields) in [
        (
            "forged",
            signed(params.clone(), Key::Forger, SignType::Rsa2),
        ),
        ("unsigned", params.clone()),
        (
            "downgraded",
            signed(params.clone(), Key::Alipay, SignType::Rsa),
        ),
    ] {
        let page = app.browse(&query(&fields)).await;
        assert_eq!(page.status, 400, "{what}: {}", page.text);
        assert!(page.header("location").is_none(), "{what} redirected");
        assert_eq!(app.order(id).await, before, "{what}");
    }
    // Genuinely signed, it is verified; payport still asks Alipay, which has no
    // payment yet, so the order stays pending (a return is not proof of payment).
    let page = app
        .browse(&query(&signed(params, Key::Alipay, SignType::Rsa2)))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("pending"), "{}", page.text);
    assert_eq!(app.order(id).await["status"], "pending");
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
