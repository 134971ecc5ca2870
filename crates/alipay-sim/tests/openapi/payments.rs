//! Trades: precreate, page pay through the cashier, reuse, close, expiry.

use super::*;

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
