//! The other flows: paying by QR code; refunds an operator must approve (always, or
//! above an amount); listing orders and refunds page by page.

use payport_blackbox::{assert_same_second, both_backends, refund_id, Backend, TestApp};
use payport_server::config::values::approval;
use payport_server::config::ApprovalPolicy;
use serde_json::json;

both_backends!(
    qr_code_flow,
    manual_approval_flow,
    approval_above_an_amount,
    orders_and_refunds_are_paged,
    a_page_of_orders_shows_each_order_its_own_refunds
);

async fn qr_code_flow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "QR_1";
    app.create_order(id, "12.50").await;

    let payment = app.start_qr(id).await;
    assert_eq!(payment["method"], "qr");
    let qr_code = payment["qr_code"].as_str().unwrap();
    assert!(qr_code.ends_with(&format!("/qr/{id}")), "{qr_code}");
    let svg = payment["qr_svg"].as_str().expect("qr_svg");
    assert!(
        svg.starts_with("<?xml") || svg.starts_with("<svg"),
        "{}",
        &svg[..svg.len().min(80)]
    );
    assert!(svg.contains("<svg"), "not an SVG document");
    assert!(payment["pay_url"].is_null() && payment["order_string"].is_null());

    // Unscanned, the trade is invisible to Alipay's queries: a sync learns nothing.
    let (status, order) = app.post(&format!("/v1/orders/{id}/sync"), &json!({})).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "pending");

    // Asking again for the code is safe: one trade at Alipay.
    app.start_qr(id).await;
    let trades = app.sim_trades().await;
    assert_eq!(trades.len(), 1, "{trades:#?}");

    // The buyer scans and pays in the app; the notification marks the order paid.
    app.scan(&payment).await;
    let paid = app.sim_pay(id).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let order = app.order_with_status(id, "paid").await;
    assert_eq!(order["trade_no"], paid.json["trade_no"]);
    assert_eq!(order["total_amount"], "12.50");
    assert_eq!(order["refundable_amount"], "12.50");
    assert_same_second(&order["paid_at"], &paid.json["paid_at"]);
    app.notifications_settled(1).await;

    // A sync now agrees with the notification and changes nothing.
    let (status, synced) = app.post(&format!("/v1/orders/{id}/sync"), &json!({})).await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["status"], "paid");
    assert_eq!(synced["trade_no"], order["trade_no"]);

    // Paid orders are listed as paid.
    let (status, page) = app.get("/v1/orders?status=paid").await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["out_trade_no"], id);
    let (status, page) = app.get("/v1/orders?status=pending").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"], json!([]), "{page}");
}

async fn manual_approval_flow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.refunds.approval = ApprovalPolicy::Manual).await
    else {
        return;
    };
    let id = "APPROVE_1";
    app.paid_order(id, "50.00").await;

    // Requested: waiting for an operator, nothing sent to Alipay, the amount reserved.
    let (status, asked) = app.refund(id, "10.00").await;
    assert_eq!(status, 201, "{asked}");
    assert_eq!(asked["status"], "pending_approval", "{asked}");
    assert!(app.sim_refunds().await.is_empty());
    let order = app.order(id).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["refunded_amount"], "0.00");
    assert_eq!(order["refundable_amount"], "40.00");
    let first = refund_id(&asked);

    // The operator's queue shows it; merchants may not see the queue or decide.
    let (status, queue) = app
        .operator()
        .get("/v1/refunds?status=pending_approval")
        .await;
    assert_eq!(status, 200, "{queue}");
    let queued: Vec<String> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(refund_id)
        .collect();
    assert_eq!(queued, vec![first.clone()]);
    for (status, body) in [
        app.merchant()
            .get("/v1/refunds?status=pending_approval")
            .await,
        app.merchant().get("/v1/refunds").await,
        app.merchant()
            .post(&format!("/v1/refunds/{first}/approve"), &json!({}))
            .await,
        app.merchant()
            .post(
                &format!("/v1/refunds/{first}/reject"),
                &json!({ "reason": "no" }),
            )
            .await,
    ] {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "FORBIDDEN", "{body}");
    }
    assert_eq!(app.refund_by_id(&first).await["status"], "pending_approval");
    // A rejection needs a reason.
    let (status, body) = app
        .operator()
        .post(
            &format!("/v1/refunds/{first}/reject"),
            &json!({ "reason": " " }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "VALIDATION_FAILED");
    assert_eq!(app.refund_by_id(&first).await["status"], "pending_approval");

    // Approved: sent, and it succeeds.
    let (status, approved) = app
        .operator()
        .post(&format!("/v1/refunds/{first}/approve"), &json!({}))
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "succeeded", "{approved}");
    let sim = app.sim_refunds_of(id).await;
    assert_eq!(sim.len(), 1);
    assert_eq!(sim[0]["out_request_no"], approved["out_request_no"]);
    assert_eq!(sim[0]["amount_fen"], 1_000);
    let order = app.order(id).await;
    assert_eq!(order["status"], "partially_refunded");
    assert_eq!(order["refunded_amount"], "10.00");
    assert_eq!(order["refundable_amount"], "40.00");

    // Another one, rejected with a reason: the amount is released.
    let (status, asked) = app.refund(id, "25.00").await;
    assert_eq!(status, 201, "{asked}");
    assert_eq!(asked["status"], "pending_approval");
    assert_eq!(app.order(id).await["refundable_amount"], "15.00");
    let second = refund_id(&asked);
    let (status, rejected) = app
        .operator()
        .post(
            &format!("/v1/refunds/{second}/reject"),
            &json!({ "reason": "item not returned" }),
        )
        .await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["rejection_reason"], "item not returned");
    let order = app.order(id).await;
    assert_eq!(order["status"], "partially_refunded");
    assert_eq!(order["refunded_amount"], "10.00");
    assert_eq!(order["refundable_amount"], "40.00");
    assert_eq!(
        app.sim_refunds().await.len(),
        1,
        "a rejected refund is never sent"
    );

    // Decided refunds cannot be decided again; the queue is empty.
    for path in [
        format!("/v1/refunds/{first}/approve"),
        format!("/v1/refunds/{second}/approve"),
    ] {
        let (status, body) = app.operator().post(&path, &json!({})).await;
        assert_eq!(status, 409, "{path}: {body}");
        assert_eq!(body["code"], "INVALID_STATE", "{body}");
    }
    let (status, body) = app
        .operator()
        .post(
            &format!("/v1/refunds/{second}/reject"),
            &json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "INVALID_STATE");
    let (_, queue) = app
        .operator()
        .get("/v1/refunds?status=pending_approval")
        .await;
    assert_eq!(queue["items"], json!([]), "{queue}");
    let (status, all) = app.operator().get("/v1/refunds").await;
    assert_eq!(status, 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
}

async fn approval_above_an_amount(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.refunds.approval = approval::parse("10.00").expect("amount")
    })
    .await
    else {
        return;
    };
    let id = "APPROVE_2";
    app.paid_order(id, "30.00").await;

    let (status, small) = app.refund(id, "10.00").await;
    assert_eq!(status, 201, "{small}");
    assert_eq!(
        small["status"], "succeeded",
        "up to the limit: sent at once"
    );

    let (status, large) = app.refund(id, "10.01").await;
    assert_eq!(status, 201, "{large}");
    assert_eq!(
        large["status"], "pending_approval",
        "above the limit: waits"
    );
    assert_eq!(app.sim_refunds().await.len(), 1);

    let (status, approved) = app
        .operator()
        .post(
            &format!("/v1/refunds/{}/approve", refund_id(&large)),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "succeeded");
    let order = app.order(id).await;
    assert_eq!(order["refunded_amount"], "20.01");
    assert_eq!(order["refundable_amount"], "9.99");
    assert_eq!(app.sim_refunds().await.len(), 2);
}

async fn orders_and_refunds_are_paged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.refunds.approval = ApprovalPolicy::Manual).await
    else {
        return;
    };
    for n in 0..5 {
        app.create_order(&format!("PAGE_{n}"), "1.00").await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/orders?limit=2".to_owned();
    for _ in 0..10 {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        seen.extend(
            items
                .iter()
                .map(|o| o["out_trade_no"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/orders?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    // Newest first, each once.
    let expected: Vec<String> = (0..5).rev().map(|n| format!("PAGE_{n}")).collect();
    assert_eq!(seen, expected);

    app.paid_order("PAGE_PAID", "9.00").await;
    for _ in 0..3 {
        let (status, refund) = app.refund("PAGE_PAID", "1.00").await;
        assert_eq!(status, 201, "{refund}");
    }
    let (status, first) = app
        .operator()
        .get("/v1/refunds?status=pending_approval&limit=2")
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 2, "{first}");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (status, second) = app
        .operator()
        .get(&format!(
            "/v1/refunds?status=pending_approval&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["items"].as_array().unwrap().len(), 1, "{second}");
    assert!(second["next_cursor"].is_null(), "{second}");
    let (_, none) = app.operator().get("/v1/refunds?status=succeeded").await;
    assert_eq!(none["items"], json!([]));
}

/// The page an operator lists is what each order reads alone: its own refunds, oldest
/// first, and the amount they leave.
async fn a_page_of_orders_shows_each_order_its_own_refunds(backend: Backend) {
    // Refunds wait for approval, so nothing moves between the reads.
    let Some(app) = TestApp::spawn(backend, |c| c.refunds.approval = ApprovalPolicy::Manual).await
    else {
        return;
    };
    for (id, refunds) in [("MANY_A", 2), ("MANY_B", 0), ("MANY_C", 1)] {
        app.paid_order(id, "10.00").await;
        for n in 1..=refunds {
            let (status, refund) = app.refund(id, &format!("{n}.00")).await;
            assert_eq!(status, 201, "{refund}");
        }
    }
    app.paid_order("MANY_A_LATE", "1.00").await;
    let (status, refund) = app.refund("MANY_A", "3.00").await;
    assert_eq!(status, 201, "{refund}");

    let (status, page) = app.operator().get("/v1/orders").await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{page}");
    for item in items {
        let id = item["out_trade_no"].as_str().unwrap();
        let (status, alone) = app.operator().get(&format!("/v1/orders/{id}")).await;
        assert_eq!(status, 200, "{alone}");
        assert_eq!(item, &alone);
    }
    let a = app.order("MANY_A").await;
    assert_eq!(a["refunds"].as_array().unwrap().len(), 3, "{a}");
    assert_eq!(a["refundable_amount"], "4.00", "{a}");
}
