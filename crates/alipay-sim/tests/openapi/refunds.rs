//! Refunds by Alipay rules: partial, repeated, over-refund, unknown trades, query, window.

use super::*;

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
