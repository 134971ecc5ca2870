//! What each role may see and do (the README's role table): merchants never choose
//! the operator-password flow nor see its forms, see refunds one order at a time, and
//! the approval threshold counts every refund of an order.

use payport_blackbox::{both_backends, join_all, refund_id, Backend, TestApp};
use payport_server::config::values::approval;
use payport_server::config::RefundGatewayKind;
use serde_json::{json, Value};

both_backends!(
    merchants_may_not_choose_the_operator_password_flow,
    merchants_never_see_operator_forms,
    merchant_order_lists_leave_out_refunds,
    the_approval_threshold_counts_every_refund_of_the_order,
    concurrent_refunds_cannot_all_slip_under_the_threshold
);

fn form(refund: &Value) -> Option<&str> {
    refund.get("operator_form_html").and_then(Value::as_str)
}

async fn merchants_may_not_choose_the_operator_password_flow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    app.paid_order("ROLE_PWD", "10.00").await;
    let path = "/v1/orders/ROLE_PWD/refunds";
    let body = json!({ "amount": "4.00", "gateway": "mapi_pwd" });
    let (status, refused) = app.merchant().post(path, &body).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "GATEWAY_OPERATOR_ONLY", "{refused}");
    let order = app.order("ROLE_PWD").await;
    assert_eq!(order["refundable_amount"], "10.00", "nothing was reserved");
    assert_eq!(order["refunds"], json!([]));

    let (status, refund) = app.operator().post(path, &body).await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "awaiting_operator", "{refund}");
    assert!(
        form(&refund).is_some(),
        "the operator gets the form: {refund}"
    );
}

/// With the password flow as the configured default, a merchant's refund goes to the
/// operator; the merchant sees it wait, never the form.
async fn merchants_never_see_operator_forms(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.refunds.default_gateway = RefundGatewayKind::MapiPwd;
    })
    .await
    else {
        return;
    };
    app.paid_order("ROLE_FORM", "10.00").await;
    let (status, refund) = app.refund("ROLE_FORM", "2.00").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "awaiting_operator", "{refund}");
    assert_eq!(form(&refund), None, "{refund}");
    let id = refund_id(&refund);
    assert_eq!(form(&app.refund_by_id(&id).await), None);
    assert_eq!(form(&app.order("ROLE_FORM").await["refunds"][0]), None);
    let (_, listed) = app.get("/v1/orders/ROLE_FORM/refunds").await;
    assert_eq!(form(&listed[0]), None, "{listed}");

    let (status, seen) = app.operator().get(&format!("/v1/refunds/{id}")).await;
    assert_eq!(status, 200, "{seen}");
    assert!(form(&seen).is_some(), "{seen}");
}

/// Refunds across orders are the operator's approval queue: an order list shows a
/// merchant each order's amounts, and the refunds only when it asks for one order.
async fn merchant_order_lists_leave_out_refunds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.refunds.approval = payport_server::config::ApprovalPolicy::Manual;
    })
    .await
    else {
        return;
    };
    app.paid_order("ROLE_LIST", "10.00").await;
    let (status, refund) = app.refund("ROLE_LIST", "1.00").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "pending_approval");

    let (status, page) = app.get("/v1/orders").await;
    assert_eq!(status, 200, "{page}");
    let listed = &page["items"][0];
    assert_eq!(listed["out_trade_no"], "ROLE_LIST", "{page}");
    assert_eq!(listed.get("refunds"), None, "{page}");
    assert_eq!(listed["refundable_amount"], "9.00", "{page}");
    let (_, page) = app.operator().get("/v1/orders").await;
    assert_eq!(page["items"][0]["refunds"].as_array().unwrap().len(), 1);
    // One order at a time, the merchant sees its refunds, waiting ones included.
    let order = app.order("ROLE_LIST").await;
    assert_eq!(order["refunds"][0]["status"], "pending_approval", "{order}");
    let (status, _) = app.get("/v1/refunds").await;
    assert_eq!(status, 403);
}

async fn the_approval_threshold_counts_every_refund_of_the_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.refunds.approval = approval::parse("5.00").expect("amount");
    })
    .await
    else {
        return;
    };
    app.paid_order("ROLE_SUM", "20.00").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, refund) = app.refund("ROLE_SUM", "5.00").await;
        assert_eq!(status, 201, "{refund}");
        statuses.push(refund["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        statuses,
        [
            "succeeded",
            "pending_approval",
            "pending_approval",
            "pending_approval"
        ]
    );
    assert_eq!(app.sim_refunds_of("ROLE_SUM").await.len(), 1);
}

async fn concurrent_refunds_cannot_all_slip_under_the_threshold(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.refunds.approval = approval::parse("5.00").expect("amount");
    })
    .await
    else {
        return;
    };
    app.paid_order("ROLE_RACE", "20.00").await;
    let answers = join_all((0..4).map(|_| app.refund("ROLE_RACE", "5.00"))).await;
    let mut sent = 0;
    for (status, refund) in &answers {
        assert_eq!(*status, 201, "{refund}");
        if refund["status"] != "pending_approval" {
            sent += 1;
        }
    }
    assert_eq!(sent, 1, "{answers:#?}");
    assert_eq!(app.sim_refunds_of("ROLE_RACE").await.len(), 1);
}
