//! Reconciliation: a day's books checked against the simulator's trade bill. Each test
//! first moves the simulator's clock to the next 12:00 in Beijing, so that its activity
//! happens mid-day on a known date whatever the time the test runs; then the clock
//! moves a day on, so that the activity's day has its bill, and that day is
//! reconciled. Dates come from the simulator (Alipay's clock), never from this
//! machine's, which payport's own clock follows.

use payport_blackbox::{both_backends, refund_id, Backend, TestApp};
use serde_json::{json, Value};

both_backends!(
    a_day_with_nothing_wrong_matches_every_line,
    a_legacy_refund_whose_notification_was_lost_is_settled_by_the_bill,
    a_payment_whose_notification_was_lost_is_synced,
    a_console_refund_is_recorded_and_lowers_what_is_refundable,
    a_day_without_its_bill_is_pending_and_can_be_read_back,
    a_legacy_refund_nobody_confirmed_is_unresolved,
    the_worker_reconciles_the_past_week_once
);

/// `POST /v1/reconciliations` as the operator; the report.
async fn reconcile(app: &TestApp, date: &str) -> Value {
    let (status, report) = app
        .operator()
        .post("/v1/reconciliations", &json!({ "date": date }))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["date"], date, "{report}");
    report
}

/// payport with `tweak`, its simulator at the next Beijing noon; `None` as
/// [`TestApp::spawn`].
async fn mid_day(
    backend: Backend,
    tweak: impl FnOnce(&mut payport_server::config::Config),
) -> Option<(TestApp, String)> {
    let app = TestApp::spawn(backend, tweak).await?;
    let day = app.sim_to_next_beijing_noon().await;
    Some((app, day))
}

/// Makes `day`, the day of the activity so far, available as a bill.
async fn close_the_day(app: &TestApp, day: &str) {
    assert_eq!(
        app.sim_beijing_date().await,
        day,
        "the activity stayed in its day"
    );
    app.sim_advance_days(1).await;
}

fn items(report: &Value) -> Vec<Value> {
    report["items"].as_array().expect("items").clone()
}

async fn a_day_with_nothing_wrong_matches_every_line(backend: Backend) {
    let Some((app, day)) = mid_day(backend, |_| {}).await else {
        return;
    };
    app.paid_order("CLEAN_1", "10.00").await;
    app.paid_order("CLEAN_2", "25.50").await;
    let (status, refund) = app.refund("CLEAN_1", "3.00").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    close_the_day(&app, &day).await;

    let report = reconcile(&app, &day).await;
    assert_eq!(report["status"], "completed", "{report:#}");
    assert_eq!(items(&report), Vec::<Value>::new(), "{report:#}");
    assert_eq!(
        report["counts"],
        json!({
            "alipay_payments": 2,
            "alipay_refunds": 1,
            "payport_payments": 2,
            "payport_refunds": 1,
            "matched": 3,
            "mismatches": 0,
            "unresolved": 0,
        })
    );
    assert_eq!(report["attempts"], 1);
    let (status, read) = app
        .operator()
        .get(&format!("/v1/reconciliations/{day}"))
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, report);
}

async fn a_legacy_refund_whose_notification_was_lost_is_settled_by_the_bill(backend: Backend) {
    let Some((app, day)) = mid_day(backend, |_| {}).await else {
        return;
    };
    let id = "LOST_BATCH_NOTIFY";
    app.paid_order(id, "20.00").await;
    app.sim_hold_notifications().await;
    let (status, refund) = app
        .post(
            &format!("/v1/orders/{id}/refunds"),
            &json!({ "amount": "5.00", "gateway": "mapi_nopwd" }),
        )
        .await;
    assert_eq!(status, 202, "{refund}");
    assert_eq!(refund["status"], "processing", "{refund}");
    let batch_no = refund["batch_no"].as_str().expect("batch_no").to_owned();
    close_the_day(&app, &day).await;

    let report = reconcile(&app, &day).await;
    assert_eq!(report["status"], "completed", "{report:#}");
    let listed = items(&report);
    assert_eq!(listed.len(), 1, "{report:#}");
    assert_eq!(listed[0]["kind"], "refund_missing_here");
    assert_eq!(listed[0]["action"], "settled_refund");
    assert_eq!(listed[0]["out_trade_no"], id);
    assert_eq!(listed[0]["out_request_no"], batch_no.as_str());
    assert_eq!(listed[0]["alipay_amount"], "5.00");
    let settled = app.refund_by_id(&refund_id(&refund)).await;
    assert_eq!(settled["status"], "succeeded", "{settled}");
    let order = app.order(id).await;
    assert_eq!(order["refunded_amount"], "5.00", "{order}");
    assert_eq!(order["refundable_amount"], "15.00", "{order}");

    // Run again: the line now matches, and what was done stays on record.
    let again = reconcile(&app, &day).await;
    assert_eq!(items(&again), listed);
    assert_eq!(again["counts"]["matched"], 2, "{again:#}");
    assert_eq!(again["attempts"], 2);
}

async fn a_payment_whose_notification_was_lost_is_synced(backend: Backend) {
    let Some((app, day)) = mid_day(backend, |_| {}).await else {
        return;
    };
    let id = "LOST_PAY_NOTIFY";
    app.create_order(id, "42.00").await;
    let payment = app.start_qr(id).await;
    app.scan(&payment).await;
    let paid = app.sim_pay_silently(id).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert_eq!(app.order(id).await["status"], "pending");
    close_the_day(&app, &day).await;

    let report = reconcile(&app, &day).await;
    assert_eq!(report["status"], "completed", "{report:#}");
    let listed = items(&report);
    assert_eq!(listed.len(), 1, "{report:#}");
    assert_eq!(listed[0]["kind"], "payment_missing_here");
    assert_eq!(listed[0]["action"], "synced");
    assert_eq!(listed[0]["alipay_amount"], "42.00");
    assert_eq!(app.order(id).await["status"], "paid");
    assert_eq!(report["counts"]["payport_payments"], 1, "{report:#}");
}

async fn a_console_refund_is_recorded_and_lowers_what_is_refundable(backend: Backend) {
    let Some((app, day)) = mid_day(backend, |_| {}).await else {
        return;
    };
    let id = "CONSOLE_REFUND";
    app.paid_order(id, "10.00").await;
    let made = app.sim_console_refund(id, "3.00", "console1", false).await;
    assert_eq!(made.status, 200, "{}", made.text);
    close_the_day(&app, &day).await;

    let report = reconcile(&app, &day).await;
    let listed = items(&report);
    assert_eq!(listed.len(), 1, "{report:#}");
    assert_eq!(listed[0]["kind"], "refund_missing_here");
    assert_eq!(
        listed[0]["action"], "recorded_external_refund",
        "{report:#}"
    );
    assert_eq!(listed[0]["alipay_amount"], "3.00");
    let order = app.order(id).await;
    assert_eq!(order["refundable_amount"], "7.00", "{order}");
    let (status, refused) = app.refund(id, "8.00").await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "REFUND_EXCEEDS_REFUNDABLE");
}

async fn a_day_without_its_bill_is_pending_and_can_be_read_back(backend: Backend) {
    let Some((app, day)) = mid_day(backend, |_| {}).await else {
        return;
    };
    app.paid_order("TODAY", "10.00").await;
    // The simulator's today: its bill cannot be there yet.
    let today = day;
    let (status, none) = app
        .operator()
        .get(&format!("/v1/reconciliations/{today}"))
        .await;
    assert_eq!(status, 404, "{none}");
    assert_eq!(none["code"], "RECONCILIATION_NOT_FOUND");

    let report = reconcile(&app, &today).await;
    assert_eq!(report["status"], "pending", "{report:#}");
    assert!(report["last_error"].as_str().is_some(), "{report:#}");
    assert_eq!(report["attempts"], 1);
    assert_eq!(
        report.get("counts"),
        None,
        "absent, and never all matched: {report:#}"
    );
    let (status, read) = app
        .operator()
        .get(&format!("/v1/reconciliations/{today}"))
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, report);

    for bad in ["2026-13-01", "yesterday", "2026-1-5"] {
        let (status, e) = app
            .operator()
            .post("/v1/reconciliations", &json!({ "date": bad }))
            .await;
        assert_eq!(
            (status, e["code"].as_str()),
            (400, Some("VALIDATION_FAILED")),
            "{bad}"
        );
    }
    let (status, e) = app
        .merchant()
        .post("/v1/reconciliations", &json!({ "date": today }))
        .await;
    assert_eq!((status, e["code"].as_str()), (403, Some("FORBIDDEN")));
    let (status, _) = app
        .merchant()
        .get(&format!("/v1/reconciliations/{today}"))
        .await;
    assert_eq!(status, 403);
}

async fn a_legacy_refund_nobody_confirmed_is_unresolved(backend: Backend) {
    let Some((app, day)) = mid_day(backend, |c| c.reconciliation.stranded_after_days = 0).await
    else {
        return;
    };
    let id = "NEVER_CONFIRMED";
    app.paid_order(id, "20.00").await;
    let (status, refund) = app
        .operator()
        .post(
            &format!("/v1/orders/{id}/refunds"),
            &json!({ "amount": "4.00", "gateway": "mapi_pwd" }),
        )
        .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "awaiting_operator", "{refund}");
    close_the_day(&app, &day).await;

    let report = reconcile(&app, &day).await;
    assert_eq!(report["status"], "completed", "{report:#}");
    let listed = items(&report);
    assert_eq!(listed.len(), 1, "{report:#}");
    assert_eq!(listed[0]["kind"], "unresolved");
    assert_eq!(listed[0]["action"], "none");
    assert_eq!(listed[0]["payport_amount"], "4.00");
    assert_eq!(report["counts"]["unresolved"], 1);
    assert_eq!(report["counts"]["mismatches"], 0);
    let still = app.refund_by_id(&refund_id(&refund)).await;
    assert_eq!(still["status"], "awaiting_operator", "never guessed");
}

/// payport's own clock decides which days are past: the days the worker ran are read
/// back from it, never worked out here from this machine's clock.
async fn the_worker_reconciles_the_past_week_once(backend: Backend) {
    let Some((app, _)) = mid_day(backend, |c| {
        c.reconciliation.enabled = true;
        c.reconciliation.daily_at = chrono::NaiveTime::MIN;
    })
    .await
    else {
        return;
    };
    // Nobody ran the past week (as after downtime): one pass runs all of it.
    let ran = app.run_reconciliation_once().await;
    assert_eq!(ran.len(), 7, "{ran:?}");
    let mut reports = Vec::new();
    for day in &ran {
        let (status, report) = app
            .operator()
            .get(&format!("/v1/reconciliations/{day}"))
            .await;
        assert_eq!(status, 200, "{report}");
        // No trades those days: the simulator's bills of them are empty.
        assert_eq!(report["status"], "completed", "{report:#}");
        assert_eq!(report["counts"]["alipay_payments"], 0);
        reports.push(report);
    }
    // Not one of them again (across Beijing midnight the new yesterday may run).
    let again = app.run_reconciliation_once().await;
    assert!(again.iter().all(|day| !ran.contains(day)), "{again:?}");
    for (day, report) in ran.iter().zip(&reports) {
        let (_, again) = app
            .operator()
            .get(&format!("/v1/reconciliations/{day}"))
            .await;
        assert_eq!(&again, report, "a completed day is not run again");
    }
}
