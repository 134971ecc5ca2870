//! What transport trouble and untrustworthy answers (forged, unsigned) come to, and
//! the exchange log.

use super::*;

#[tokio::test]
async fn transport_trouble_is_unknown() {
    let wire = start().await;
    for (reply, what) in [
        (Reply::Status(500), "HTTP 500"),
        (Reply::Status(502), "HTTP 502"),
        (Reply::Delay(Duration::from_secs(3)), "timeout"),
        (Reply::Raw("<html>proxy error</html>".into()), "unparsable"),
        (Reply::Raw(String::new()), "unparsable"),
    ] {
        wire.state.reply("alipay.trade.refund", reply);
        let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
        assert!(
            matches!(err, GatewayError::Unknown(ref m) if m.contains(what)),
            "{what}: {err}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_is_unknown() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut config = payport_alipay_openapi::OpenApiConfig::new(
        format!("http://127.0.0.1:{port}/gateway.do"),
        payport_domain::AppId::parse(stub::APP_ID).unwrap(),
    );
    config.timeout = Duration::from_millis(500);
    let gateway = gateway_with(config);
    let err = gateway.submit_refund(&refund()).await.unwrap_err();
    assert!(matches!(err, GatewayError::Unknown(_)), "{err}");
}

#[tokio::test]
async fn answers_that_do_not_verify_are_not_believed() {
    let wire = start().await;
    let success = format!(r#"{SUCCESS}","fund_change":"Y","refund_fee":"10.50"}}"#);
    wire.state
        .reply("alipay.trade.refund", Reply::Forged(success.clone()));
    let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::BadSignature(_)),
        "forged: {err}"
    );
    wire.state
        .reply("alipay.trade.refund", Reply::Unsigned(success));
    let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::BadSignature(_)),
        "unsigned success: {err}"
    );
    // An unsigned business failure could be anyone's; it proves nothing either way.
    wire.state.reply(
        "alipay.trade.refund",
        Reply::Unsigned(
            r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_HAS_FINISHED"}"#
                .into(),
        ),
    );
    let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::BadSignature(_)),
        "unsigned 40004: {err}"
    );
}

#[tokio::test]
async fn unsigned_gateway_errors_are_believed_only_as_failures() {
    let wire = start().await;
    wire.state.reply(
        "alipay.trade.refund",
        Reply::Unsigned(r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}"#.into()),
    );
    let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("isv.invalid-signature")),
        "{err}"
    );
    wire.state.reply(
        "alipay.trade.query",
        Reply::ErrorNodeUnsigned(r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}"#.into()),
    );
    let err = wire.gateway.query_trade(&otn()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("isv.invalid-app-id")),
        "{err}"
    );
}

#[tokio::test]
async fn every_exchange_is_logged_raw() {
    let wire = start().await;
    wire.state.reply("alipay.trade.refund", Reply::Status(503));
    let _ = wire.gateway.submit_refund(&refund()).await;
    let log = wire.log.0.lock().unwrap();
    assert_eq!(log.len(), 1);
    let exchange = &log[0];
    assert_eq!(exchange.operation, "alipay.trade.refund");
    assert_eq!(exchange.out_request_no.as_deref(), Some("rq_1"));
    assert_eq!(exchange.outcome, "http 503");
    assert_eq!(exchange.response.as_deref(), Some("busy"));
    assert!(exchange.request.contains("biz_content="));
    assert!(
        !exchange.request.contains("PRIVATE"),
        "no key material in the log"
    );
}
