//! The trade bill (PROTOCOL.md A10) read back by payport's parser, and the control
//! routes that make money move outside payport: a pay without notification and a
//! refund from the merchant console.

use chrono::{NaiveDate, TimeZone, Utc};
use payport_alipay_openapi::parse_trade_bill_zip;

use super::*;

fn bill_day() -> NaiveDate {
    // t0 is 16:00 in Beijing on this day.
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

async fn console_refund(rig: &Rig, id: &str, body: Value) -> reqwest::Response {
    rig.http
        .post(format!("{}/control/trades/{id}/refund", rig.sim_url))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Sends the held notifications; how many there were.
async fn release(rig: &Rig) -> u64 {
    let released: Value = rig
        .control(Method::POST, "/notifications/release")
        .await
        .json()
        .await
        .unwrap();
    released["released"].as_u64().unwrap()
}

/// A time of the bill day, given in Beijing time.
fn beijing(h: u32, m: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, h - 8, m, 0).unwrap()
}

#[tokio::test]
async fn the_bill_of_a_day_lists_every_payment_and_refund() {
    let rig = Rig::start().await;
    paid_trade(&rig, "bill_a", "12.34").await;
    paid_trade(&rig, "bill_b", "5.00").await;
    rig.clock.advance(Duration::minutes(10));
    rig.gateway
        .submit_refund(&refund("bill_a", "ra1", "2.34"))
        .await
        .unwrap();
    let console = console_refund(&rig, "bill_b", serde_json::json!({"amount": "5.00"})).await;
    assert_eq!(console.status(), 200);
    // An unpaid trade moves no money: not in the bill.
    rig.gateway
        .create_payment(&pay_request("bill_unpaid", PaymentMethod::Qr, "1.00"))
        .await
        .unwrap();

    // The day is not over in Beijing: no bill yet.
    assert_eq!(
        rig.gateway.trade_bill(bill_day()).await.unwrap(),
        TradeBill::NotReady
    );
    rig.clock.advance(Duration::hours(9));
    let TradeBill::Ready(lines) = rig.gateway.trade_bill(bill_day()).await.unwrap() else {
        panic!("the bill of a past day is ready");
    };
    let trade_no = |id: &str| rig.sim.ledger().trade(id).unwrap().trade_no.clone();
    let line = |kind, id: &str, request: Option<&str>, amount: &str, at| BillLine {
        kind,
        out_trade_no: id.to_owned(),
        trade_no: trade_no(id),
        out_request_no: request.map(str::to_owned),
        amount: Amount::parse(amount).unwrap(),
        finished_at: at,
    };
    assert_eq!(
        lines,
        vec![
            line(
                BillLineKind::Payment,
                "bill_a",
                None,
                "12.34",
                beijing(16, 0)
            ),
            line(
                BillLineKind::Payment,
                "bill_b",
                None,
                "5.00",
                beijing(16, 0)
            ),
            line(
                BillLineKind::Refund,
                "bill_a",
                Some("ra1"),
                "2.34",
                beijing(16, 10)
            ),
            line(
                BillLineKind::Refund,
                "bill_b",
                Some("console2"),
                "5.00",
                beijing(16, 10)
            ),
        ]
    );
}

#[tokio::test]
async fn a_past_day_without_trades_has_an_empty_bill_and_the_zip_is_alipays() {
    let rig = Rig::start().await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    assert_eq!(
        rig.gateway.trade_bill(day).await.unwrap(),
        TradeBill::Ready(Vec::new())
    );
    let url = rig
        .gateway
        .bill_download_url(BillType::Trade, "2026-11-01")
        .await
        .unwrap();
    let partner = rig.sim.config().mapi.partner.clone();
    assert!(
        url.ends_with(&format!("/{partner}_20261101.csv.zip")),
        "{url}"
    );
    let zip = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(parse_trade_bill_zip(&zip).unwrap(), Vec::new());
    // Tomorrow's bill does not exist yet.
    let err = rig
        .gateway
        .bill_download_url(BillType::Trade, "2026-11-22")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("isp.bill_not_exist"))
    );
}

#[tokio::test]
async fn a_console_refund_shows_in_the_queries_and_is_refused_as_alipay_would() {
    let rig = Rig::start().await;
    paid_trade(&rig, "con", "10.00").await;
    let done = console_refund(
        &rig,
        "con",
        serde_json::json!({"amount": "4.00", "out_request_no": "desk1"}),
    )
    .await;
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["trade"]["refunded_fen"], 400);
    assert!(matches!(
        rig.gateway
            .query_refund(&refund("con", "desk1", "4.00"))
            .await
            .unwrap(),
        RefundLookup::Succeeded(_)
    ));
    // More than the 6.00 left.
    let over = console_refund(&rig, "con", serde_json::json!({"amount": "6.01"})).await;
    assert_eq!(over.status(), 409);
    let over: Value = over.json().await.unwrap();
    assert_eq!(over["sub_code"], "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    // An unpaid trade cannot be refunded.
    rig.gateway
        .create_payment(&pay_request("con_unpaid", PaymentMethod::Qr, "1.00"))
        .await
        .unwrap();
    let unpaid = console_refund(&rig, "con_unpaid", serde_json::json!({"amount": "1.00"})).await;
    assert_eq!(unpaid.status(), 409);
    let missing = console_refund(&rig, "nobody", serde_json::json!({"amount": "1.00"})).await;
    assert_eq!(missing.status(), 404);
    let bad = console_refund(&rig, "con", serde_json::json!({"amount": "1.001"})).await;
    assert_eq!(bad.status(), 400);
    let trade: Value = rig
        .control(Method::GET, "/trades/con")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trade["refunded_fen"], 400, "refused refunds move nothing");
}

#[tokio::test]
async fn pay_with_notify_false_pays_without_a_notification() {
    let rig = Rig::start().await;
    rig.set_faults(serde_json::json!({"notify": {"hold": true}}))
        .await;
    for id in ["quiet", "loud"] {
        rig.gateway
            .create_payment(&pay_request(id, PaymentMethod::Qr, "1.00"))
            .await
            .unwrap();
    }
    let quiet = rig
        .http
        .post(format!("{}/control/trades/quiet/pay", rig.sim_url))
        .json(&serde_json::json!({"notify": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(quiet.status(), 200);
    let quiet: Value = quiet.json().await.unwrap();
    assert_eq!(quiet["status"], "TRADE_SUCCESS");
    let loud = rig.control(Method::POST, "/trades/loud/pay").await;
    assert_eq!(loud.status(), 200);
    // Only the default pay queued a notification.
    assert_eq!(release(&rig).await, 1);
    let got = rig.notifications(1).await;
    assert_eq!(got[0].field("out_trade_no"), Some("loud"));
    let bad = rig
        .http
        .post(format!("{}/control/trades/loud/pay", rig.sim_url))
        .body("{notify")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn a_bill_file_name_that_is_not_a_past_day_is_not_found() {
    let rig = Rig::start().await;
    let partner = rig.sim.config().mapi.partner.clone();
    for file in [
        format!("{partner}_20261121.csv.zip"),
        format!("{partner}_中文12.csv.zip"),
        format!("{partner}_2026113.csv.zip"),
        "2088999999999999_20261101.csv.zip".to_owned(),
    ] {
        let url = format!("{}/bills/trade/{file}", rig.sim_url);
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 404, "{file}");
    }
    let month = format!("{}/bills/trade/{partner}_202610.csv.zip", rig.sim_url);
    let zip = reqwest::get(&month).await.unwrap().bytes().await.unwrap();
    assert_eq!(parse_trade_bill_zip(&zip).unwrap(), Vec::new());
}

#[tokio::test]
async fn a_console_refund_with_notify_false_sends_no_notification() {
    let rig = Rig::start().await;
    paid_trade(&rig, "quiet", "5.00").await;
    paid_trade(&rig, "loud", "5.00").await;
    rig.notifications(2).await;
    rig.set_faults(serde_json::json!({"notify": {"hold": true}}))
        .await;
    let quiet = console_refund(
        &rig,
        "quiet",
        serde_json::json!({"amount": "1.00", "notify": false}),
    )
    .await;
    assert_eq!(quiet.status(), 200);
    let loud = console_refund(&rig, "loud", serde_json::json!({"amount": "2.00"})).await;
    assert_eq!(loud.status(), 200);
    // Only the default refund queued its trade notification.
    assert_eq!(release(&rig).await, 1);
    let got = rig.notifications(3).await;
    assert_eq!(got[2].field("out_trade_no"), Some("loud"));
    assert_eq!(got[2].field("refund_fee"), Some("2.00"));
    assert!(got[2].field("out_biz_no").is_some());
    let trade: Value = rig
        .control(Method::GET, "/trades/quiet")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trade["refunded_fen"], 100, "refunded all the same");
}
