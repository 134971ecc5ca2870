//! Refunds on the wire: the fund_change rule, the error code table, refund query.

use super::*;

#[tokio::test]
async fn refund_with_fund_change_y_succeeded() {
    let wire = start().await;
    wire.state.reply(
        "alipay.trade.refund",
        Reply::Signed(format!(
            r#"{SUCCESS}","trade_no":"2026112222001400000000000001","out_trade_no":"shop_20261122_0001","buyer_logon_id":"159****5620","fund_change":"Y","refund_fee":"30.50","gmt_refund_pay":"2026-11-22 00:40:00"}}"#
        )),
    );
    let got = wire.gateway.submit_refund(&refund()).await.unwrap();
    assert_eq!(
        got,
        RefundSubmitted::Succeeded(RefundSuccess {
            refund_fee: Some(Amount::parse("30.50").unwrap()),
            refunded_at: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 11, 21, 16, 40, 0)
                    .unwrap()
            ),
        })
    );
    let sent = wire.state.last();
    assert!(sent.signature_ok);
    let biz = sent.biz();
    assert_eq!(
        biz["out_request_no"], "rq_1",
        "out_request_no is always sent"
    );
    assert_eq!(biz["refund_amount"], "10.50");
    assert_eq!(biz["trade_no"], "2026112222001400000000000001");
    assert_eq!(biz["refund_reason"], "破损");
}

#[tokio::test]
async fn refund_with_fund_change_n_or_absent_is_unknown() {
    for fund_change in [r#","fund_change":"N""#, ""] {
        let wire = start().await;
        wire.state.reply(
            "alipay.trade.refund",
            Reply::Signed(format!(r#"{SUCCESS}","refund_fee":"10.50"{fund_change}}}"#)),
        );
        let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
        assert!(
            matches!(err, GatewayError::Unknown(ref m) if m.contains("fund_change")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn refund_error_codes_map_row_by_row() {
    // (code, sub_code, Rejected (final) rather than Unknown)
    let rows = [
        ("40004", "ACQ.INVALID_PARAMETER", true),
        ("40004", "ACQ.SELLER_BALANCE_NOT_ENOUGH", true),
        ("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", true),
        ("40004", "ACQ.REASON_TRADE_BEEN_FREEZEN", true),
        ("40004", "ACQ.TRADE_NOT_EXIST", true),
        ("40004", "ACQ.TRADE_HAS_FINISHED", true),
        ("40004", "ACQ.TRADE_STATUS_ERROR", true),
        ("40004", "ACQ.REASON_TRADE_REFUND_FEE_ERR", true),
        ("40004", "ACQ.TRADE_NOT_ALLOW_REFUND", true),
        ("40004", "ACQ.REFUND_FEE_ERROR", true),
        ("40004", "ACQ.SYSTEM_ERROR", false),
        ("40004", "ACQ.DISCORDANT_REPEAT_REQUEST", false),
        ("20000", "isp.unknow-error", false),
        ("20000", "aop.unknow-error", false),
        ("99999", "never.documented", false),
        ("40001", "isv.missing-signature", true),
        ("40002", "isv.invalid-app-id", true),
        ("20001", "aop.invalid-auth-token", true),
        ("40003", "isv.condition-error", true),
        ("40005", "isv.call-limit-exceeded", false),
        ("40006", "isv.insufficient-isv-permissions", true),
    ];
    let wire = start().await;
    for (code, sub, final_rejection) in rows {
        wire.state.reply(
            "alipay.trade.refund",
            Reply::Signed(format!(
                r#"{{"code":"{code}","msg":"x","sub_code":"{sub}","sub_msg":"x"}}"#
            )),
        );
        let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
        if final_rejection {
            assert!(
                matches!(err, GatewayError::Rejected(ref f) if f.code == code && f.sub_code.as_deref() == Some(sub)),
                "{code} {sub}: {err}"
            );
        } else {
            assert!(
                matches!(err, GatewayError::Unknown(_)),
                "{code} {sub}: {err}"
            );
        }
    }
}

/// Throttling says "not now", not "no": the refund may still be made by a later call
/// under the same out_request_no, so it must never be marked failed (PROTOCOL.md C).
#[tokio::test]
async fn a_throttled_refund_is_an_unknown_outcome_never_a_rejection() {
    let wire = start().await;
    for (code, sub) in [
        ("40005", Some("isv.call-limit-exceeded")),
        ("40005", None),
        ("40004", Some("aop.ACQ.SYSTEM_ERROR")),
    ] {
        let sub_code = sub.map_or(String::new(), |s| format!(r#","sub_code":"{s}""#));
        let node = format!(r#"{{"code":"{code}","msg":"Call Limited"{sub_code}}}"#);
        wire.state
            .reply("alipay.trade.refund", Reply::Signed(node.clone()));
        let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
        assert!(matches!(err, GatewayError::Unknown(_)), "{node}: {err}");
        wire.state.reply(
            "alipay.trade.fastpay.refund.query",
            Reply::Signed(node.clone()),
        );
        let err = wire.gateway.query_refund(&refund()).await.unwrap_err();
        assert!(
            matches!(err, GatewayError::Unknown(_)),
            "query {node}: {err}"
        );
    }
}

#[tokio::test]
async fn refund_query_maps_success_and_absence() {
    let wire = start().await;
    wire.state.reply(
        "alipay.trade.fastpay.refund.query",
        Reply::Signed(format!(
            r#"{SUCCESS}","out_request_no":"rq_1","refund_amount":"10.50","total_amount":"88.88","refund_status":"REFUND_SUCCESS","gmt_refund_pay":"2026-11-22 00:41:00"}}"#
        )),
    );
    let got = wire.gateway.query_refund(&refund()).await.unwrap();
    assert_eq!(
        got,
        RefundLookup::Succeeded(RefundSuccess {
            refund_fee: None,
            refunded_at: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 11, 21, 16, 41, 0)
                    .unwrap()
            ),
        })
    );
    let biz = wire.state.last().biz();
    assert_eq!(biz["out_request_no"], "rq_1");
    assert_eq!(biz["query_options"], serde_json::json!(["gmt_refund_pay"]));
    wire.state.reply(
        "alipay.trade.fastpay.refund.query",
        Reply::Signed(format!(r#"{SUCCESS}","out_request_no":"rq_1"}}"#)),
    );
    assert_eq!(
        wire.gateway.query_refund(&refund()).await.unwrap(),
        RefundLookup::NotRefunded
    );
    wire.state.reply(
        "alipay.trade.fastpay.refund.query",
        Reply::Signed(format!(
            r#"{SUCCESS}","refund_amount":"99.00","refund_status":"REFUND_SUCCESS"}}"#
        )),
    );
    let err = wire.gateway.query_refund(&refund()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Unknown(_)),
        "amount mismatch: {err}"
    );
}

/// A refund made outside payport is looked up by its number alone: the answer gives
/// its own amount (never the trade's cumulative refund_fee).
#[tokio::test]
async fn find_refund_reports_the_amount_alipay_refunded_under_a_number() {
    let wire = start().await;
    let number = OutRequestNo::parse("console1").unwrap();
    wire.state.reply(
        "alipay.trade.fastpay.refund.query",
        Reply::Signed(format!(
            r#"{SUCCESS}","out_request_no":"console1","refund_amount":"3.00","total_amount":"88.88","refund_status":"REFUND_SUCCESS","gmt_refund_pay":"2026-11-22 00:41:00"}}"#
        )),
    );
    let found = wire.gateway.find_refund(&otn(), &number).await.unwrap();
    assert_eq!(
        found,
        Some(FoundRefund {
            amount: Amount::parse("3.00").unwrap(),
            refunded_at: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 11, 21, 16, 41, 0)
                    .unwrap()
            ),
        })
    );
    let biz = wire.state.last().biz();
    assert_eq!(biz["out_trade_no"], "shop_20261122_0001");
    assert_eq!(biz["out_request_no"], "console1");

    wire.state.reply(
        "alipay.trade.fastpay.refund.query",
        Reply::Signed(format!(r#"{SUCCESS}","out_request_no":"console1"}}"#)),
    );
    assert_eq!(
        wire.gateway.find_refund(&otn(), &number).await.unwrap(),
        None
    );

    // A success without its amount cannot be recorded: unknown, never guessed.
    wire.state.reply(
        "alipay.trade.fastpay.refund.query",
        Reply::Signed(format!(r#"{SUCCESS}","refund_status":"REFUND_SUCCESS"}}"#)),
    );
    let err = wire.gateway.find_refund(&otn(), &number).await.unwrap_err();
    assert!(matches!(err, GatewayError::Unknown(_)), "{err}");
}
