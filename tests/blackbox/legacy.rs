//! Legacy refunds over the mapi gateway (MD5), against the simulator's mapi side: the
//! no-password flow (accepted, then `batch_refund_notify`), the password flow (an
//! operator confirms the form on Alipay), and operator batches of several refunds.

use payport_blackbox::html::first_form;
use payport_blackbox::{both_backends, refund_id, Backend, TestApp};
use payport_server::config::ApprovalPolicy;
use serde_json::{json, Value};

both_backends!(
    no_password_refunds_settle_by_notification,
    password_refunds_wait_for_the_operator,
    operator_batches_confirm_several_refunds,
    forged_batch_notifications_change_nothing,
    a_batch_line_with_another_amount_needs_a_person,
    an_operator_can_reopen_a_batch_form_until_it_is_confirmed
);

/// Asked for by the merchant, or for the password flow (operators only) the operator.
async fn legacy_refund(app: &TestApp, id: &str, amount: &str, gateway: &str) -> (u16, Value) {
    let caller = if gateway == "mapi_pwd" {
        app.operator()
    } else {
        app.merchant()
    };
    caller
        .post(
            &format!("/v1/orders/{id}/refunds"),
            &json!({ "amount": amount, "reason": "returned", "gateway": gateway }),
        )
        .await
}

/// Polls the refund until it has `status`.
async fn refund_with_status(app: &TestApp, refund: &Value, status: &str) -> Value {
    let id = refund_id(refund);
    let deadline = payport_blackbox::Deadline::start();
    loop {
        let now = app.refund_by_id(&id).await;
        if now["status"] == status {
            return now;
        }
        assert!(deadline.wait().await, "refund never {status}: {now:#}");
    }
}

/// The operator opens the form (Alipay's confirmation page), without confirming yet.
async fn operator_opens(app: &TestApp, form_html: &str, batch_no: &str) -> payport_blackbox::Reply {
    let (action, fields) = first_form(form_html);
    assert!(
        action.starts_with(&app.url("/sim/mapi/gateway.do")),
        "{action}"
    );
    assert!(fields.iter().any(|(k, v)| k == "batch_no" && v == batch_no));
    app.submit_form(&action, &fields).await
}

/// The operator opens the form, then confirms with the payment password.
async fn operator_confirms(app: &TestApp, form_html: &str, batch_no: &str) {
    let page = operator_opens(app, form_html, batch_no).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let (confirm, _) = first_form(&page.text);
    assert!(
        confirm.ends_with(&format!("/mapi/confirm/{batch_no}")),
        "{confirm}"
    );
    let done = app
        .submit_form(&confirm, &[("password".into(), "any-dev-password".into())])
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
}

async fn no_password_refunds_settle_by_notification(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "LEGACY_NOPWD";
    app.paid_order(id, "20.00").await;
    let (status, refund) = legacy_refund(&app, id, "5.00", "mapi_nopwd").await;
    // Accepted, so processing until the notification comes; on a busy machine the
    // notification can land before the answer is recorded, and the refund is settled.
    match status {
        202 => assert_eq!(refund["status"], "processing", "{refund}"),
        201 => assert_eq!(refund["status"], "succeeded", "{refund}"),
        other => panic!("{other}: {refund}"),
    }
    assert_eq!(refund["gateway"], "mapi_nopwd");
    let batch_no = refund["batch_no"].as_str().expect("batch_no").to_owned();

    let settled = refund_with_status(&app, &refund, "succeeded").await;
    assert_eq!(settled["batch_no"], batch_no.as_str());
    let order = app.order(id).await;
    assert_eq!(order["status"], "partially_refunded", "{order}");
    assert_eq!(order["refunded_amount"], "5.00");
    assert_eq!(order["refundable_amount"], "15.00");
    let sim = app.sim_refunds_of(id).await;
    assert_eq!(sim.len(), 1, "{sim:#?}");
    assert_eq!(sim[0]["batch_no"], batch_no.as_str());
    assert_eq!(sim[0]["amount_fen"], 500);
}

async fn password_refunds_wait_for_the_operator(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "LEGACY_PWD";
    app.paid_order(id, "20.00").await;
    let (status, refund) = legacy_refund(&app, id, "4.00", "mapi_pwd").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "awaiting_operator", "{refund}");
    let batch_no = refund["batch_no"].as_str().expect("batch_no").to_owned();
    let form = refund["operator_form_html"]
        .as_str()
        .expect("operator_form_html")
        .to_owned();
    assert!(app.sim_refunds().await.is_empty(), "nothing sent yet");
    assert_eq!(app.order(id).await["refundable_amount"], "16.00");

    operator_confirms(&app, &form, &batch_no).await;
    refund_with_status(&app, &refund, "succeeded").await;
    let order = app.order(id).await;
    assert_eq!(order["status"], "partially_refunded", "{order}");
    assert_eq!(order["refunded_amount"], "4.00");
    assert_eq!(app.sim_refunds_of(id).await.len(), 1);
}

async fn operator_batches_confirm_several_refunds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.refunds.approval = ApprovalPolicy::Manual).await
    else {
        return;
    };
    let mut asked = Vec::new();
    for (id, amount) in [("BATCH_A", "3.00"), ("BATCH_B", "7.00")] {
        app.paid_order(id, "10.00").await;
        let (status, refund) = legacy_refund(&app, id, amount, "mapi_pwd").await;
        assert_eq!(status, 201, "{refund}");
        assert_eq!(refund["status"], "pending_approval", "{refund}");
        asked.push(refund);
    }
    let ids: Vec<String> = asked.iter().map(refund_id).collect();
    let (status, body) = app
        .merchant()
        .post(
            "/v1/refunds/operator-batches",
            &json!({ "refund_ids": ids }),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "FORBIDDEN");

    let (status, batch) = app
        .operator()
        .post(
            "/v1/refunds/operator-batches",
            &json!({ "refund_ids": ids }),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let batch_no = batch["batch_no"].as_str().unwrap().to_owned();
    let refunds = batch["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2, "{batch}");
    for refund in refunds {
        assert_eq!(refund["status"], "awaiting_operator", "{refund}");
        assert_eq!(refund["batch_no"], batch_no.as_str());
    }
    assert!(app.sim_refunds().await.is_empty());

    let form = batch["operator_form_html"].as_str().unwrap().to_owned();
    operator_confirms(&app, &form, &batch_no).await;
    for (refund, (id, refunded)) in asked.iter().zip([("BATCH_A", "3.00"), ("BATCH_B", "7.00")]) {
        refund_with_status(&app, refund, "succeeded").await;
        let order = app.order(id).await;
        assert_eq!(order["refunded_amount"], refunded, "{order}");
    }
    assert_eq!(app.sim_refunds().await.len(), 2);
}

/// POSTs a legacy batch_refund_notify, MD5-signed with the DEV key, as a form.
async fn post_batch_notify(app: &TestApp, fields: &[(&str, &str)], tamper: bool) -> String {
    use payport_alipay_mapi::{md5, Md5Key};
    let key = Md5Key::new(payport_alipay_sim::config::DEV_MD5_KEY).expect("key");
    let owned: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut signed = md5::sign_params(&owned, &key).params;
    if tamper {
        for (k, v) in &mut signed {
            if k == "success_num" {
                *v = "9".into();
            }
        }
    }
    let body = signed
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('^', "%5E").replace('#', "%23").replace(' ', "+")
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    reqwest::Client::new()
        .post(app.url("/callbacks/alipay/mapi/refund-notify"))
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded; text/html; charset=UTF-8",
        )
        .body(body)
        .send()
        .await
        .expect("callback")
        .text()
        .await
        .expect("body")
}

async fn forged_batch_notifications_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "LEGACY_FORGED";
    let order = app.paid_order(id, "20.00").await;
    // The genuine notification waits, so the refund stays processing meanwhile.
    app.sim_hold_notifications().await;
    let (status, refund) = legacy_refund(&app, id, "5.00", "mapi_nopwd").await;
    assert_eq!(status, 202, "{refund}");
    let batch_no = refund["batch_no"].as_str().expect("batch_no").to_owned();
    let trade_no = order["trade_no"].as_str().expect("trade_no").to_owned();
    let details = format!("{trade_no}^5.00^SUCCESS");
    let fields = [
        ("notify_time", "2026-11-22 08:00:00"),
        ("notify_type", "batch_refund_notify"),
        ("notify_id", "forged0000000000000000000000001"),
        ("batch_no", batch_no.as_str()),
        ("success_num", "1"),
        ("result_details", details.as_str()),
    ];
    // Right MD5 key, but Alipay never sent it: notify_verify answers false.
    assert_eq!(post_batch_notify(&app, &fields, false).await, "failure");
    // Changed after signing: the MD5 check fails before anything is asked.
    assert_eq!(post_batch_notify(&app, &fields, true).await, "failure");
    let unchanged = app.refund_by_id(&refund_id(&refund)).await;
    assert_eq!(unchanged["status"], "processing", "{unchanged}");
    assert_eq!(app.order(id).await["refunded_amount"], "0.00");
    // The genuine one settles it.
    assert!(app.sim_release(false).await >= 1);
    let settled = refund_with_status(&app, &refund, "succeeded").await;
    assert_eq!(settled["batch_no"], batch_no.as_str());
}

async fn a_batch_line_with_another_amount_needs_a_person(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "LEGACY_AMOUNT";
    let order = app.paid_order(id, "20.00").await;
    // Alipay's own notification never arrives, so its notify_id is Alipay's and unused.
    app.sim_faults(json!({ "notify": { "drop_attempts": 1000 } }))
        .await;
    let (status, refund) = legacy_refund(&app, id, "5.00", "mapi_nopwd").await;
    assert_eq!(status, 202, "{refund}");
    let batch_no = refund["batch_no"].as_str().expect("batch_no").to_owned();
    let mut notify_id = None;
    let deadline = payport_blackbox::Deadline::start();
    while notify_id.is_none() {
        notify_id = app
            .sim_notifications()
            .await
            .iter()
            .find(|d| d["notify_type"] == "batch_refund_notify")
            .and_then(|d| d["notify_id"].as_str().map(str::to_owned));
        assert!(
            notify_id.is_some() || deadline.wait().await,
            "no notification"
        );
    }
    let notify_id = notify_id.unwrap();
    // Correctly signed, confirmed by notify_verify, but 6.00 for a refund of 5.00.
    let trade_no = order["trade_no"].as_str().expect("trade_no").to_owned();
    let details = format!("{trade_no}^6.00^SUCCESS");
    let fields = [
        ("notify_time", "2026-11-22 08:00:00"),
        ("notify_type", "batch_refund_notify"),
        ("notify_id", notify_id.as_str()),
        ("batch_no", batch_no.as_str()),
        ("success_num", "1"),
        ("result_details", details.as_str()),
    ];
    // Recorded (sending it again would change nothing), but not a success.
    assert_eq!(post_batch_notify(&app, &fields, false).await, "success");
    let refund = app.refund_by_id(&refund_id(&refund)).await;
    assert_eq!(refund["status"], "processing", "{refund}");
    let why = refund["last_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("Alipay reported 6.00 for a refund of 5.00") && why.contains("needs a person"),
        "{refund}"
    );
    let order = app.order(id).await;
    assert_eq!(order["refunded_amount"], "0.00", "{order}");
    assert_eq!(order["refundable_amount"], "15.00", "{order}");
}

async fn an_operator_can_reopen_a_batch_form_until_it_is_confirmed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let id = "LEGACY_REOPEN";
    app.paid_order(id, "20.00").await;
    let (status, refund) = legacy_refund(&app, id, "4.00", "mapi_pwd").await;
    assert_eq!(status, 201, "{refund}");
    let batch_no = refund["batch_no"].as_str().expect("batch_no").to_owned();
    let form = refund["operator_form_html"]
        .as_str()
        .expect("form")
        .to_owned();
    // The operator opens the page and closes the tab without confirming.
    let first = operator_opens(&app, &form, &batch_no).await;
    assert_eq!(first.status, 200, "{}", first.text);

    // Later, the operator fetches the refund again: the same batch, the same form.
    let (status, again) = app
        .operator()
        .get(&format!("/v1/refunds/{}", refund_id(&refund)))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "awaiting_operator", "{again}");
    assert_eq!(again["batch_no"], batch_no.as_str());
    let form_again = again["operator_form_html"].as_str().expect("form");
    assert_eq!(
        form_again, form,
        "a re-issued form carries the same batch_no"
    );
    // Opening it again shows the batch again; confirming refunds it once.
    operator_confirms(&app, form_again, &batch_no).await;
    refund_with_status(&app, &refund, "succeeded").await;
    assert_eq!(app.order(id).await["refunded_amount"], "4.00");

    // Once confirmed, the same form is Alipay's DUPLICATE_BATCH_NO: never twice.
    let late = operator_opens(&app, &form, &batch_no).await;
    assert_eq!(late.status, 400, "{}", late.text);
    assert!(late.text.contains("DUPLICATE_BATCH_NO"), "{}", late.text);
    assert_eq!(app.sim_refunds_of(id).await.len(), 1);
    assert_eq!(app.order(id).await["refunded_amount"], "4.00");
}
