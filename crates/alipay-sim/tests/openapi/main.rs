//! The simulator's OpenAPI side over loopback: every rule of issue 4 / PROTOCOL.md A,
//! checked through a real client, with signatures from the vectors' keys.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::Duration;
use payport_alipay_openapi::{parse_form_urlencoded, BillType};
use payport_alipay_sim::signing::{notify_content, request_content};
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::ports::*;
use payport_domain::{Amount, GatewayError, OutRequestNo, OutTradeNo, RefundId};
use reqwest::Method;
use serde_json::Value;
use support::{adapter, Rig};

fn otn(s: &str) -> OutTradeNo {
    OutTradeNo::parse(s).unwrap()
}

fn pay_request(id: &str, method: PaymentMethod, total: &str) -> PaymentRequest {
    PaymentRequest {
        method,
        out_trade_no: otn(id),
        subject: "Green tea <b>&</b>".into(),
        body: None,
        total_amount: Amount::parse(total).unwrap(),
        expires_at: support::t0() + Duration::minutes(30),
        return_url: Some("https://shop.example/return".into()),
        quit_url: None,
    }
}

fn refund(id: &str, number: &str, amount: &str) -> RefundSubmission {
    RefundSubmission {
        refund_id: RefundId::parse("rf").unwrap(),
        out_trade_no: otn(id),
        trade_no: None,
        out_request_no: OutRequestNo::parse(number).unwrap(),
        amount: Amount::parse(amount).unwrap(),
        reason: None,
        batch_no: None,
    }
}

/// A precreated trade the buyer has scanned and paid.
async fn paid_trade(rig: &Rig, id: &str, total: &str) {
    rig.gateway
        .create_payment(&pay_request(id, PaymentMethod::Qr, total))
        .await
        .unwrap();
    let paid = rig
        .control(Method::POST, &format!("/trades/{id}/pay"))
        .await;
    assert_eq!(paid.status(), 200);
}

#[test]
fn the_simulators_sign_content_matches_the_official_sdk_vectors() {
    let requests: Value =
        serde_json::from_str(&support::repo_file("testdata/vectors/request_sign.json")).unwrap();
    for case in requests["cases"].as_array().unwrap() {
        let params: Vec<(String, String)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        // The gateway drops empty values before verifying (the doc rule).
        let expected = case
            .get("string_to_sign_drop_empty")
            .unwrap_or(&case["string_to_sign"]);
        assert_eq!(
            request_content(&params),
            expected.as_str().unwrap(),
            "{}",
            case["id"]
        );
    }
    let notifies: Value =
        serde_json::from_str(&support::repo_file("testdata/vectors/notify_verify.json")).unwrap();
    for case in notifies["cases"].as_array().unwrap() {
        let fields: Vec<(String, String)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            notify_content(&fields),
            case["verify_content"].as_str().unwrap(),
            "{}",
            case["id"]
        );
    }
}

#[tokio::test]
async fn precreate_then_scan_then_pay_with_a_signed_notification() {
    let rig = Rig::start().await;
    let qr = rig
        .gateway
        .create_payment(&pay_request("o1", PaymentMethod::Qr, "88.88"))
        .await
        .unwrap();
    let PaymentInstruction::QrCode(qr_url) = qr else {
        panic!("{qr:?}")
    };
    assert_eq!(qr_url, format!("{}/qr/o1", rig.sim_url));
    // Until the buyer scans, Alipay has no such trade.
    assert_eq!(
        rig.gateway.query_trade(&otn("o1")).await.unwrap(),
        TradeLookup::NotFound
    );
    let page = rig
        .http
        .get(&qr_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("¥88.88") && page.contains("<svg") && page.contains("id=\"pay\""));
    assert!(
        page.contains("Green tea &lt;b&gt;&amp;&lt;/b&gt;"),
        "subject is escaped"
    );
    let TradeLookup::Found(snapshot) = rig.gateway.query_trade(&otn("o1")).await.unwrap() else {
        panic!("found expected")
    };
    assert_eq!(snapshot.status, AlipayTradeStatus::WaitBuyerPay);
    rig.control(Method::POST, "/trades/o1/pay").await;
    let got = rig.notifications(1).await;
    assert_eq!(
        got[0].content_type,
        "application/x-www-form-urlencoded; text/html; charset=UTF-8"
    );
    assert_eq!(got[0].user_agent, "Mozilla/4.0");
    let n = rig.verify(&got[0]).await;
    assert_eq!(n.trade_status, AlipayTradeStatus::TradeSuccess);
    assert_eq!(n.total_amount.to_string(), "88.88");
    assert_eq!(n.seller_id.unwrap().as_str(), "2088102000000001");
    for field in [
        "notify_time",
        "notify_type",
        "notify_id",
        "app_id",
        "auth_app_id",
        "charset",
        "version",
        "sign_type",
        "sign",
        "trade_no",
        "out_trade_no",
        "buyer_id",
        "buyer_logon_id",
        "seller_id",
        "seller_email",
        "trade_status",
        "total_amount",
        "receipt_amount",
        "invoice_amount",
        "buyer_pay_amount",
        "point_amount",
        "subject",
        "gmt_create",
        "gmt_payment",
        "fund_bill_list",
    ] {
        assert!(got[0].field(field).is_some(), "notification lacks {field}");
    }
    let TradeLookup::Found(snapshot) = rig.gateway.query_trade(&otn("o1")).await.unwrap() else {
        panic!("found expected")
    };
    assert_eq!(snapshot.status, AlipayTradeStatus::TradeSuccess);
    assert!(snapshot.paid_at.is_some() && snapshot.buyer_id.is_some());
}

#[tokio::test]
async fn page_pay_through_the_cashier_returns_signed_to_the_shop() {
    let rig = Rig::start().await;
    let PaymentInstruction::Redirect { pay_url, form_html } = rig
        .gateway
        .create_payment(&pay_request("o2", PaymentMethod::Page, "10.00"))
        .await
        .unwrap()
    else {
        panic!("redirect expected")
    };
    assert!(form_html.contains(&format!("{}/gateway.do?", rig.sim_url)));
    // The browser opens the pay URL: the trade exists from now on.
    let opened = rig.http.get(&pay_url).send().await.unwrap();
    assert_eq!(opened.status(), 302);
    let cashier = opened.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(cashier, format!("{}/cashier/o2", rig.sim_url));
    let page = rig
        .http
        .get(&cashier)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("¥10.00") && page.contains("id=\"cancel\""));
    let paid = rig
        .http
        .post(format!("{cashier}/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 302);
    let back = paid.headers()["location"].to_str().unwrap().to_owned();
    let (base, query) = back.split_once('?').unwrap();
    assert_eq!(base, "https://shop.example/return");
    let params = parse_form_urlencoded(query.as_bytes()).unwrap();
    let verified = rig.gateway.verify_return(&params).await.unwrap();
    assert_eq!(verified.out_trade_no.as_str(), "o2");
    assert_eq!(verified.total_amount.to_string(), "10.00");
    // The same out_trade_no with other data is a different context.
    let mut other = pay_request("o2", PaymentMethod::Qr, "11.00");
    other.subject = "Other".into();
    let err = rig.gateway.create_payment(&other).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("ACQ.TRADE_HAS_SUCCESS")),
        "{err}"
    );
}

#[tokio::test]
async fn a_reused_out_trade_no_with_other_data_is_inconsistent() {
    let rig = Rig::start().await;
    rig.gateway
        .create_payment(&pay_request("o3", PaymentMethod::Qr, "1.00"))
        .await
        .unwrap();
    // Same data: the same trade again.
    rig.gateway
        .create_payment(&pay_request("o3", PaymentMethod::Qr, "1.00"))
        .await
        .unwrap();
    let err = rig
        .gateway
        .create_payment(&pay_request("o3", PaymentMethod::Qr, "2.00"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("ACQ.CONTEXT_INCONSISTENT")),
        "{err}"
    );
    let err = rig
        .gateway
        .create_payment(&pay_request("o4", PaymentMethod::Qr, "100000000.00"))
        .await;
    assert!(err.is_ok(), "the maximum amount is allowed");
}

#[tokio::test]
async fn refunds_partial_repeat_discordant_over_and_full() {
    let rig = Rig::start().await;
    paid_trade(&rig, "r1", "10.00").await;
    let first = rig
        .gateway
        .submit_refund(&refund("r1", "q1", "3.00"))
        .await
        .unwrap();
    let RefundSubmitted::Succeeded(success) = first else {
        panic!("{first:?}")
    };
    assert_eq!(success.refund_fee.unwrap().to_string(), "3.00");
    // The same out_request_no again: no money moves, fund_change=N, so "ask".
    let again = rig
        .gateway
        .submit_refund(&refund("r1", "q1", "3.00"))
        .await
        .unwrap_err();
    assert!(
        matches!(again, GatewayError::Unknown(ref m) if m.contains("fund_change=N")),
        "{again}"
    );
    let discordant = rig
        .gateway
        .submit_refund(&refund("r1", "q1", "4.00"))
        .await
        .unwrap_err();
    assert!(
        matches!(discordant, GatewayError::Unknown(ref m) if m.contains("DISCORDANT_REPEAT_REQUEST")),
        "{discordant}"
    );
    let over = rig
        .gateway
        .submit_refund(&refund("r1", "q2", "7.01"))
        .await
        .unwrap_err();
    assert!(
        matches!(over, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")),
        "{over}"
    );
    let rest = rig
        .gateway
        .submit_refund(&refund("r1", "q2", "7.00"))
        .await
        .unwrap();
    let RefundSubmitted::Succeeded(success) = rest else {
        panic!("{rest:?}")
    };
    assert_eq!(
        success.refund_fee.unwrap().to_string(),
        "10.00",
        "refund_fee is cumulative"
    );
    let TradeLookup::Found(t) = rig.gateway.query_trade(&otn("r1")).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        t.status,
        AlipayTradeStatus::TradeClosed,
        "a full refund closes the trade"
    );
    // payment + two refunds notified; the refunds carry out_biz_no and refund_fee.
    let got = rig.notifications(3).await;
    let refunds: Vec<_> = got
        .iter()
        .filter(|r| r.field("out_biz_no").is_some())
        .collect();
    assert_eq!(refunds.len(), 2);
    let partial = rig
        .verify(
            refunds
                .iter()
                .find(|r| r.field("out_biz_no") == Some("q1"))
                .unwrap(),
        )
        .await;
    assert_eq!(partial.trade_status, AlipayTradeStatus::TradeSuccess);
    assert_eq!(partial.refund_fee.unwrap().to_string(), "3.00");
    assert!(partial.gmt_refund.is_some());
    let full = rig
        .verify(
            refunds
                .iter()
                .find(|r| r.field("out_biz_no") == Some("q2"))
                .unwrap(),
        )
        .await;
    assert_eq!(full.trade_status, AlipayTradeStatus::TradeClosed);
    assert_eq!(full.refund_fee.unwrap().to_string(), "10.00");
}

#[tokio::test]
async fn refunds_of_unknown_or_unpaid_trades_are_refused() {
    let rig = Rig::start().await;
    let err = rig
        .gateway
        .submit_refund(&refund("nope", "q1", "1.00"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("ACQ.TRADE_NOT_EXIST")),
        "{err}"
    );
    rig.gateway
        .create_payment(&pay_request("u", PaymentMethod::Qr, "1.00"))
        .await
        .unwrap();
    rig.http
        .get(format!("{}/qr/u", rig.sim_url))
        .send()
        .await
        .unwrap();
    let err = rig
        .gateway
        .submit_refund(&refund("u", "q1", "1.00"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("ACQ.TRADE_STATUS_ERROR")),
        "{err}"
    );
}

#[tokio::test]
async fn refund_query_finds_refunds_by_number() {
    let rig = Rig::start().await;
    paid_trade(&rig, "q", "5.00").await;
    assert_eq!(
        rig.gateway
            .query_refund(&refund("q", "n1", "1.00"))
            .await
            .unwrap(),
        RefundLookup::NotRefunded
    );
    rig.gateway
        .submit_refund(&refund("q", "n1", "1.00"))
        .await
        .unwrap();
    assert!(matches!(
        rig.gateway
            .query_refund(&refund("q", "n1", "1.00"))
            .await
            .unwrap(),
        RefundLookup::Succeeded(_)
    ));
}

#[tokio::test]
async fn close_only_closes_unpaid_trades_alipay_knows() {
    let rig = Rig::start().await;
    rig.gateway
        .create_payment(&pay_request("c1", PaymentMethod::Qr, "1.00"))
        .await
        .unwrap();
    assert_eq!(
        rig.gateway.close_trade(&otn("c1")).await.unwrap(),
        CloseOutcome::NeverOpened
    );
    rig.http
        .get(format!("{}/qr/c1", rig.sim_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        rig.gateway.close_trade(&otn("c1")).await.unwrap(),
        CloseOutcome::Closed
    );
    paid_trade(&rig, "c2", "1.00").await;
    let err = rig.gateway.close_trade(&otn("c2")).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("ACQ.TRADE_STATUS_ERROR")),
        "{err}"
    );
}

#[tokio::test]
async fn the_refund_window_ends_in_trade_finished() {
    let rig = Rig::start().await;
    paid_trade(&rig, "w", "5.00").await;
    rig.clock.advance(Duration::days(91));
    let err = rig
        .gateway
        .submit_refund(&refund("w", "late", "1.00"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("ACQ.TRADE_HAS_FINISHED")),
        "{err}"
    );
    let got = rig.notifications(2).await;
    assert_eq!(got[1].field("trade_status"), Some("TRADE_FINISHED"));
    rig.verify(&got[1]).await;
}

#[tokio::test]
async fn unpaid_trades_expire_at_time_expire() {
    let rig = Rig::start().await;
    rig.gateway
        .create_payment(&pay_request("e", PaymentMethod::Qr, "1.00"))
        .await
        .unwrap();
    rig.http
        .get(format!("{}/qr/e", rig.sim_url))
        .send()
        .await
        .unwrap();
    rig.clock.advance(Duration::minutes(31));
    let TradeLookup::Found(t) = rig.gateway.query_trade(&otn("e")).await.unwrap() else {
        panic!()
    };
    assert_eq!(t.status, AlipayTradeStatus::TradeClosed);
    let got = rig.notifications(1).await;
    assert_eq!(got[0].field("trade_status"), Some("TRADE_CLOSED"));
}

#[tokio::test]
async fn requests_that_do_not_verify_get_unsigned_40002() {
    let rig = Rig::start().await;
    // Signed with a key the simulator does not know as the merchant's.
    let forger = adapter(
        &rig.sim_url,
        &rig.notify_url,
        "testdata/vectors/keys/forger_private_pkcs8.pem",
        2_000,
    );
    let err = forger.query_trade(&otn("x")).await.unwrap_err();
    let GatewayError::Rejected(failure) = err else {
        panic!("{err}")
    };
    assert_eq!(failure.code, "40002");
    assert_eq!(failure.sub_code.as_deref(), Some("isv.invalid-signature"));
    assert!(
        failure.message.contains("app_id=2021000000000001"),
        "sub_msg echoes the verified string"
    );
    // A raw request: unknown app id, unsigned answer.
    let body = reqwest::get(format!(
        "{}/gateway.do?method=alipay.trade.query&app_id=9999&sign=x&sign_type=RSA2&timestamp=2026-11-21+16:00:00&version=1.0",
        rig.sim_url
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        body.contains("isv.invalid-app-id") && !body.contains("\"sign\""),
        "{body}"
    );
    let body = reqwest::get(format!(
        "{}/gateway.do?app_id=2021000000000001",
        rig.sim_url
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        body.contains("40001") && body.contains("isv.missing-method"),
        "{body}"
    );
}

#[tokio::test]
async fn faults_timeouts_5xx_20000_system_errors_and_bad_signatures() {
    let rig = Rig::start().await;
    paid_trade(&rig, "f", "10.00").await;
    let slow = adapter(
        &rig.sim_url,
        &rig.notify_url,
        "keys/dev_app_private_pkcs8.pem",
        300,
    );
    rig.set_faults(serde_json::json!({"methods": {"alipay.trade.refund": {"kind": "delay", "ms": 1000, "times": 1}}})).await;
    let err = slow
        .submit_refund(&refund("f", "t1", "1.00"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Unknown(ref m) if m.contains("timeout")),
        "{err}"
    );
    for (fault, expect) in [
        (serde_json::json!({"kind": "http500"}), "HTTP 500"),
        (
            serde_json::json!({"kind": "unavailable"}),
            "isp.unknow-error",
        ),
        (
            serde_json::json!({"kind": "system_error", "performed": false}),
            "ACQ.SYSTEM_ERROR",
        ),
    ] {
        let mut rule = fault.clone();
        rule["times"] = 1.into();
        rig.set_faults(serde_json::json!({"methods": {"alipay.trade.refund": rule}}))
            .await;
        let err = rig
            .gateway
            .submit_refund(&refund("f", "t2", "1.00"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, GatewayError::Unknown(ref m) if m.contains(expect)),
            "{fault}: {err}"
        );
    }
    // None of those refunded anything...
    let refunded: Vec<_> = rig
        .sim
        .ledger()
        .refunds
        .iter()
        .map(|r| r.out_request_no.clone())
        .collect();
    assert_eq!(
        refunded,
        vec!["t1".to_owned()],
        "the delayed one was performed before answering"
    );
    // ...but a SYSTEM_ERROR can hide a refund that happened.
    rig.set_faults(serde_json::json!({"methods": {"alipay.trade.refund": {"kind": "system_error", "performed": true, "times": 1}}})).await;
    let err = rig
        .gateway
        .submit_refund(&refund("f", "t3", "1.00"))
        .await
        .unwrap_err();
    assert!(matches!(err, GatewayError::Unknown(_)), "{err}");
    assert!(rig
        .sim
        .ledger()
        .refunds
        .iter()
        .any(|r| r.out_request_no == "t3"));
    for kind in ["bad_signature", "missing_signature"] {
        rig.set_faults(
            serde_json::json!({"methods": {"alipay.trade.query": {"kind": kind, "times": 1}}}),
        )
        .await;
        let err = rig.gateway.query_trade(&otn("f")).await.unwrap_err();
        assert!(
            matches!(err, GatewayError::BadSignature(_)),
            "{kind}: {err}"
        );
    }
    assert!(
        rig.gateway.query_trade(&otn("f")).await.is_ok(),
        "faults wear off after `times`"
    );
}

#[tokio::test]
async fn faults_can_be_configured_from_the_start() {
    let mut config = support::dev_config();
    config.faults = serde_json::from_value(serde_json::json!({
        "methods": {"alipay.trade.query": {"kind": "unavailable", "times": 1}}
    }))
    .unwrap();
    let rig = Rig::start_with(config).await;
    let err = rig.gateway.query_trade(&otn("any")).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Unknown(ref m) if m.contains("isp.unknow-error")),
        "{err}"
    );
    assert_eq!(
        rig.gateway.query_trade(&otn("any")).await.unwrap(),
        TradeLookup::NotFound
    );
}

#[tokio::test]
async fn notifications_retry_until_exactly_success() {
    let rig = Rig::start().await;
    rig.receiver
        .answers
        .lock()
        .unwrap()
        .extend(["fail", "success\n"]);
    paid_trade(&rig, "n", "1.00").await;
    let got = rig.notifications(3).await;
    assert_eq!(
        got[0].field("notify_id"),
        got[2].field("notify_id"),
        "the same notification each time"
    );
    for _ in 0..200 {
        if rig.sim.deliveries().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let deliveries = rig.sim.deliveries();
    let acknowledged: Vec<_> = deliveries
        .iter()
        .map(|d| (d.attempt, d.acknowledged))
        .collect();
    assert_eq!(
        acknowledged,
        vec![(1, false), (2, false), (3, true)],
        "\"success\\n\" is not success"
    );
    assert_eq!(deliveries[1].answer.as_deref(), Some("success\n"));
}

#[tokio::test]
async fn notification_faults_duplicate_hold_and_drop() {
    let rig = Rig::start().await;
    rig.set_faults(serde_json::json!({"notify": {"duplicate": true}}))
        .await;
    paid_trade(&rig, "d", "1.00").await;
    let got = rig.notifications(2).await;
    assert_eq!(got[0].field("notify_id"), got[1].field("notify_id"));

    let rig = Rig::start().await;
    rig.set_faults(serde_json::json!({"notify": {"hold": true}}))
        .await;
    paid_trade(&rig, "h", "5.00").await;
    rig.gateway
        .submit_refund(&refund("h", "p1", "1.00"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(rig.receiver.got.lock().unwrap().is_empty(), "held");
    let released: Value = rig
        .control(Method::POST, "/notifications/release?order=reverse")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(released["released"], 2);
    let got = rig.notifications(2).await;
    let order: Vec<_> = got
        .iter()
        .map(|r| r.field("out_biz_no").is_some())
        .collect();
    assert!(order.contains(&true) && order.contains(&false));

    let rig = Rig::start().await;
    rig.set_faults(serde_json::json!({"notify": {"drop_attempts": 1}}))
        .await;
    paid_trade(&rig, "x", "1.00").await;
    rig.notifications(1).await;
    let deliveries = rig.sim.deliveries();
    assert_eq!(deliveries[0].outcome, "dropped by fault injection");
}

#[tokio::test]
async fn bill_download_url_and_file() {
    let rig = Rig::start().await;
    paid_trade(&rig, "b", "2.50").await;
    let url = rig
        .gateway
        .bill_download_url(BillType::Trade, "2026-11-21")
        .await
        .unwrap();
    let csv = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(
        csv.lines().nth(1).unwrap().contains(",b,") && csv.contains("2.50"),
        "{csv}"
    );
    let err = rig
        .gateway
        .bill_download_url(BillType::Trade, "2026-11-01")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("isp.bill_not_exist"))
    );
}

#[tokio::test]
async fn the_control_api_lists_trades_refunds_and_deliveries() {
    let rig = Rig::start().await;
    paid_trade(&rig, "k", "3.00").await;
    rig.gateway
        .submit_refund(&refund("k", "z", "1.00"))
        .await
        .unwrap();
    rig.notifications(2).await;
    let trades: Value = rig
        .control(Method::GET, "/trades")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trades[0]["status"], "TRADE_SUCCESS");
    let refunds: Value = rig
        .control(Method::GET, "/refunds")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refunds[0]["out_request_no"], "z");
    let ledger: Value = rig
        .control(Method::GET, "/ledger")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["trades"][0]["refunded_fen"], 100);
    let deliveries: Value = rig
        .control(Method::GET, "/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["answer"], "success");
    assert_eq!(
        rig.control(Method::POST, "/trades/k/pay").await.status(),
        409
    );
    assert_eq!(rig.control(Method::GET, "/trades/none").await.status(), 404);
}

#[tokio::test]
async fn state_survives_a_restart_through_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::dev_config();
    config.state_file = Some(dir.path().join("sim.json"));
    let rig = Rig::start_with(config.clone()).await;
    paid_trade(&rig, "s", "1.00").await;
    let again = Rig::start_with(config).await;
    assert_eq!(again.sim.ledger().trades, rig.sim.ledger().trades);
}

#[tokio::test]
async fn runs_are_deterministic_for_a_seed() {
    let (a, b) = (Rig::start().await, Rig::start().await);
    for rig in [&a, &b] {
        paid_trade(rig, "same", "1.00").await;
    }
    let (na, nb) = (a.notifications(1).await, b.notifications(1).await);
    assert_eq!(na[0].field("notify_id"), nb[0].field("notify_id"));
    assert_eq!(
        a.sim.ledger().trades[0].trade_no,
        b.sim.ledger().trades[0].trade_no
    );
}
