//! Every API over real loopback HTTP against a stub gateway.do: what goes on the wire,
//! and what each kind of answer (signed, forged, unsigned, slow, broken) comes to.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod stub;

use std::time::Duration;

use chrono::TimeZone;
use payport_alipay_openapi::sign_content::request_sign_content;
use payport_alipay_openapi::{parse_form_urlencoded, BillType, PublicKey, SignType, Verifier};
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::ports::*;
use payport_domain::refund::RefundSuccess;
use payport_domain::{Amount, GatewayError, OutRequestNo, OutTradeNo, RefundId, TradeNo};
use stub::{start, Reply};

fn otn() -> OutTradeNo {
    OutTradeNo::parse("shop_20261122_0001").unwrap()
}

fn payment(method: PaymentMethod) -> PaymentRequest {
    PaymentRequest {
        method,
        out_trade_no: otn(),
        subject: "Green tea & <honey>".into(),
        body: Some("2 boxes".into()),
        total_amount: Amount::parse("88.88").unwrap(),
        expires_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 21, 17, 0, 0)
            .unwrap(),
        return_url: Some("https://shop.example/paid?o=1".into()),
        quit_url: Some("https://shop.example/cart".into()),
    }
}

fn refund() -> RefundSubmission {
    RefundSubmission {
        refund_id: RefundId::parse("rf_1").unwrap(),
        out_trade_no: otn(),
        trade_no: Some(TradeNo::parse("2026112222001400000000000001").unwrap()),
        out_request_no: OutRequestNo::parse("rq_1").unwrap(),
        amount: Amount::parse("10.50").unwrap(),
        reason: Some("破损".into()),
        batch_no: None,
    }
}

fn app_verifier() -> Verifier {
    let key = PublicKey::parse(&stub::key("app_public_spki.pem")).unwrap();
    Verifier::new(&key, SignType::Rsa2).unwrap()
}

/// Checks that a parameter set (from a URL, form or order string) is signed correctly.
fn assert_signed(params: &[(String, String)]) {
    let sign = params
        .iter()
        .find(|(k, _)| k == "sign")
        .map(|(_, v)| v.as_str())
        .unwrap();
    let content = request_sign_content(
        params
            .iter()
            .filter(|(k, _)| k != "sign")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    assert!(app_verifier().verify(content.as_bytes(), sign), "{content}");
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

const SUCCESS: &str = r#"{"code":"10000","msg":"Success"#;

#[tokio::test]
async fn precreate_sends_a_signed_request_and_returns_the_qr_code() {
    let wire = start().await;
    wire.state.reply(
        "alipay.trade.precreate",
        Reply::Signed(format!(
            r#"{SUCCESS}","out_trade_no":"shop_20261122_0001","qr_code":"https:\/\/qr.alipay.com\/bax0001"}}"#
        )),
    );
    let got = wire
        .gateway
        .create_payment(&payment(PaymentMethod::Qr))
        .await
        .unwrap();
    assert_eq!(
        got,
        PaymentInstruction::QrCode("https://qr.alipay.com/bax0001".into())
    );
    let sent = wire.state.last();
    assert_eq!(sent.method, "alipay.trade.precreate");
    assert!(sent.signature_ok, "the stub verified our RSA2 signature");
    assert_eq!(
        sent.content_type,
        "application/x-www-form-urlencoded;charset=utf-8"
    );
    // System parameters in the query, biz_content alone in the body (PROTOCOL A3).
    assert_eq!(sent.body.len(), 1);
    assert_eq!(sent.body[0].0, "biz_content");
    for (key, value) in [
        ("app_id", "2021000000000001"),
        ("method", "alipay.trade.precreate"),
        ("format", "JSON"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("version", "1.0"),
        ("timestamp", "2026-11-22 00:30:05"),
        ("notify_url", "https://shop.example/callbacks/alipay/notify"),
    ] {
        assert_eq!(param(&sent.query, key), Some(value), "{key}");
    }
    let biz = sent.biz();
    assert_eq!(biz["out_trade_no"], "shop_20261122_0001");
    assert_eq!(biz["total_amount"], "88.88");
    assert_eq!(biz["subject"], "Green tea & <honey>");
    assert_eq!(biz["time_expire"], "2026-11-22 01:00:00");
}

#[tokio::test]
async fn page_pay_gives_a_signed_url_and_an_equivalent_auto_submit_form() {
    let wire = start().await;
    let got = wire
        .gateway
        .create_payment(&payment(PaymentMethod::Page))
        .await
        .unwrap();
    let PaymentInstruction::Redirect { pay_url, form_html } = got else {
        panic!("redirect expected");
    };
    assert_eq!(
        wire.state.count(),
        0,
        "building a page payment calls nobody"
    );
    let (base, query) = pay_url.split_once('?').unwrap();
    assert_eq!(base, format!("http://{}/gateway.do", wire.addr));
    let params = parse_form_urlencoded(query.as_bytes()).unwrap();
    assert_signed(&params);
    assert_eq!(param(&params, "method"), Some("alipay.trade.page.pay"));
    assert_eq!(
        param(&params, "return_url"),
        Some("https://shop.example/paid?o=1")
    );
    let biz: serde_json::Value =
        serde_json::from_str(param(&params, "biz_content").unwrap()).unwrap();
    assert_eq!(biz["product_code"], "FAST_INSTANT_TRADE_PAY");
    // The form carries the same signed set: system params in its action, biz_content hidden.
    assert!(form_html.starts_with("<form name=\"punchout_form\" method=\"post\" action=\""));
    assert!(form_html.contains("<script>document.forms[0].submit();</script>"));
    let action = form_html
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let action = action.replace("&amp;", "&");
    let mut form_params =
        parse_form_urlencoded(action.split_once('?').unwrap().1.as_bytes()).unwrap();
    let hidden = form_html
        .split("name=\"biz_content\" value=\"")
        .nth(1)
        .unwrap();
    let hidden = hidden.split('"').next().unwrap();
    let unescaped = hidden
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    assert!(
        !hidden.contains('<'),
        "the subject's markup is escaped in the form"
    );
    form_params.push(("biz_content".into(), unescaped));
    assert_signed(&form_params);
}

#[tokio::test]
async fn a_configured_return_callback_replaces_the_requests_return_url() {
    let wire = start().await;
    let mut config = payport_alipay_openapi::OpenApiConfig::new(
        format!("http://{}/gateway.do", wire.addr),
        payport_domain::AppId::parse(stub::APP_ID).unwrap(),
    );
    config.return_url = Some("https://payport.example/callbacks/alipay/return".into());
    let gateway = gateway_with(config);
    let PaymentInstruction::Redirect { pay_url, .. } = gateway
        .create_payment(&payment(PaymentMethod::Page))
        .await
        .unwrap()
    else {
        panic!("redirect expected");
    };
    let params = parse_form_urlencoded(pay_url.split_once('?').unwrap().1.as_bytes()).unwrap();
    assert_eq!(
        param(&params, "return_url"),
        Some("https://payport.example/callbacks/alipay/return")
    );
    assert_signed(&params);
}

#[tokio::test]
async fn wap_pay_uses_quick_wap_way_and_quit_url() {
    let wire = start().await;
    let PaymentInstruction::Redirect { pay_url, .. } = wire
        .gateway
        .create_payment(&payment(PaymentMethod::Wap))
        .await
        .unwrap()
    else {
        panic!("redirect expected");
    };
    let params = parse_form_urlencoded(pay_url.split_once('?').unwrap().1.as_bytes()).unwrap();
    assert_signed(&params);
    assert_eq!(param(&params, "method"), Some("alipay.trade.wap.pay"));
    let biz: serde_json::Value =
        serde_json::from_str(param(&params, "biz_content").unwrap()).unwrap();
    assert_eq!(biz["product_code"], "QUICK_WAP_WAY");
    assert_eq!(biz["quit_url"], "https://shop.example/cart");
}

#[tokio::test]
async fn app_pay_gives_a_sorted_signed_order_string() {
    let wire = start().await;
    let PaymentInstruction::AppOrderString(order) = wire
        .gateway
        .create_payment(&payment(PaymentMethod::App))
        .await
        .unwrap()
    else {
        panic!("order string expected");
    };
    assert!(!order.contains("gateway.do"), "no gateway prefix");
    let params = parse_form_urlencoded(order.as_bytes()).unwrap();
    let keys: Vec<_> = params.iter().map(|(k, _)| k.clone()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_signed(&params);
    let biz: serde_json::Value =
        serde_json::from_str(param(&params, "biz_content").unwrap()).unwrap();
    assert_eq!(biz["product_code"], "QUICK_MSECURITY_PAY");
    assert_eq!(
        param(&params, "return_url"),
        None,
        "app pay has no return_url"
    );
}

#[tokio::test]
async fn query_maps_a_paid_trade() {
    let wire = start().await;
    wire.state.reply(
        "alipay.trade.query",
        Reply::Signed(format!(
            r#"{SUCCESS}","trade_no":"2026112222001400000000000001","out_trade_no":"shop_20261122_0001","buyer_logon_id":"159****5620","trade_status":"TRADE_SUCCESS","total_amount":"88.88","buyer_user_id":"2088102000000009","send_pay_date":"2026-11-22 00:35:00"}}"#
        )),
    );
    let got = wire.gateway.query_trade(&otn()).await.unwrap();
    assert_eq!(
        got,
        TradeLookup::Found(TradeSnapshot {
            status: AlipayTradeStatus::TradeSuccess,
            trade_no: TradeNo::parse("2026112222001400000000000001").unwrap(),
            total_amount: Amount::parse("88.88").unwrap(),
            buyer_id: Some("2088102000000009".into()),
            buyer_logon_id: Some("159****5620".into()),
            paid_at: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 11, 21, 16, 35, 0)
                    .unwrap()
            ),
        })
    );
    assert_eq!(
        wire.state.last().biz()["out_trade_no"],
        "shop_20261122_0001"
    );
}

#[tokio::test]
async fn query_and_close_of_a_trade_alipay_never_saw() {
    let wire = start().await;
    let not_exist = r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}"#;
    wire.state
        .reply("alipay.trade.query", Reply::Signed(not_exist.into()));
    wire.state
        .reply("alipay.trade.close", Reply::Signed(not_exist.into()));
    assert_eq!(
        wire.gateway.query_trade(&otn()).await.unwrap(),
        TradeLookup::NotFound
    );
    assert_eq!(
        wire.gateway.close_trade(&otn()).await.unwrap(),
        CloseOutcome::NeverOpened
    );
}

#[tokio::test]
async fn query_refuses_an_unknown_trade_status() {
    let wire = start().await;
    wire.state.reply(
        "alipay.trade.query",
        Reply::Signed(format!(
            r#"{SUCCESS}","trade_no":"1","trade_status":"TRADE_PENDING","total_amount":"1.00"}}"#
        )),
    );
    let err = wire.gateway.query_trade(&otn()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Unknown(ref m) if m.contains("trade_status")),
        "{err}"
    );
}

#[tokio::test]
async fn close_closes_or_passes_alipays_refusal_on() {
    let wire = start().await;
    wire.state.reply(
        "alipay.trade.close",
        Reply::Signed(format!(
            r#"{SUCCESS}","out_trade_no":"shop_20261122_0001"}}"#
        )),
    );
    assert_eq!(
        wire.gateway.close_trade(&otn()).await.unwrap(),
        CloseOutcome::Closed
    );
    wire.state.reply(
        "alipay.trade.close",
        Reply::Signed(r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_STATUS_ERROR","sub_msg":"交易状态不合法"}"#.into()),
    );
    let err = wire.gateway.close_trade(&otn()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("ACQ.TRADE_STATUS_ERROR"))
    );
}

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
        ("40005", "isv.call-limit-exceeded", true),
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

fn gateway_with(
    config: payport_alipay_openapi::OpenApiConfig,
) -> payport_alipay_openapi::AlipayOpenApiGateway {
    use payport_alipay_openapi::{Client, PrivateKey, Signer};
    let app_key = PrivateKey::parse(&stub::key("app_private_pkcs8.b64")).unwrap();
    let alipay_public = PublicKey::parse(&stub::key("alipay_public_spki.b64")).unwrap();
    payport_alipay_openapi::AlipayOpenApiGateway::new(
        Client::new(
            config,
            Signer::new(&app_key, SignType::Rsa2).unwrap(),
            Verifier::new(&alipay_public, SignType::Rsa2).unwrap(),
            std::sync::Arc::new(stub::FixedClock(stub::now())),
        )
        .unwrap(),
    )
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

#[tokio::test]
async fn bill_download_url() {
    let wire = start().await;
    wire.state.reply(
        "alipay.data.dataservice.bill.downloadurl.query",
        Reply::Signed(format!(
            r#"{SUCCESS}","bill_download_url":"http:\/\/dwbillcenter.alipay.com\/downloadBillFile.resource?bizType=trade"}}"#
        )),
    );
    let url = wire
        .gateway
        .bill_download_url(BillType::Trade, "2026-11-20")
        .await
        .unwrap();
    assert_eq!(
        url,
        "http://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade"
    );
    let biz = wire.state.last().biz();
    assert_eq!(biz["bill_type"], "trade");
    assert_eq!(biz["bill_date"], "2026-11-20");
    wire.state.reply(
        "alipay.data.dataservice.bill.downloadurl.query",
        Reply::Signed(r#"{"code":"40004","msg":"Business Failed","sub_code":"isp.bill_not_exist","sub_msg":"账单不存在"}"#.into()),
    );
    let err = wire
        .gateway
        .bill_download_url(BillType::SignCustomer, "2026-11")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("isp.bill_not_exist"))
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

/// A notification signed by Alipay's key, form-encoded as Alipay POSTs it.
fn notification(
    signer: &payport_alipay_openapi::Signer,
    sign_type: &str,
    total: &str,
) -> IncomingNotification {
    let mut fields: Vec<(String, String)> = [
        ("notify_time", "2026-11-22 00:35:01"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", "ac05099524730693a8b330c5ecf72da9786"),
        ("app_id", stub::APP_ID),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("trade_no", "2026112222001400000000000001"),
        ("out_trade_no", "shop_20261122_0001"),
        ("seller_id", "2088102000000001"),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", total),
        ("buyer_id", "2088102000000009"),
        ("subject", "Green tea"),
        ("body", ""),
        ("gmt_payment", "2026-11-22 00:35:00"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let content = payport_alipay_openapi::notify_verify_content(&fields);
    let sign = signer.sign(content.as_bytes()).unwrap();
    fields.push(("sign_type".into(), sign_type.into()));
    fields.push(("sign".into(), sign));
    IncomingNotification {
        raw_body: String::new(),
        fields,
    }
}

#[tokio::test]
async fn notifications_are_verified_then_parsed() {
    let wire = start().await;
    let good = notification(&stub::alipay_signer(), "RSA2", "88.88");
    let n = wire.gateway.verify_notification(&good).await.unwrap();
    assert_eq!(n.notify_id, "ac05099524730693a8b330c5ecf72da9786");
    assert_eq!(n.trade_status, AlipayTradeStatus::TradeSuccess);
    assert_eq!(n.total_amount, Amount::parse("88.88").unwrap());
    assert_eq!(n.seller_id.unwrap().as_str(), "2088102000000001");
    assert_eq!(
        n.gmt_payment,
        Some(
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 21, 16, 35, 0)
                .unwrap()
        )
    );

    let forged = notification(&stub::forger_signer(), "RSA2", "88.88");
    assert!(matches!(
        wire.gateway.verify_notification(&forged).await,
        Err(GatewayError::BadSignature(_))
    ));

    let mut tampered = notification(&stub::alipay_signer(), "RSA2", "88.88");
    for (k, v) in tampered.fields.iter_mut() {
        if k == "total_amount" {
            *v = "0.01".into();
        }
    }
    assert!(matches!(
        wire.gateway.verify_notification(&tampered).await,
        Err(GatewayError::BadSignature(_))
    ));

    let downgraded = notification(&stub::alipay_signer(), "RSA", "88.88");
    assert!(matches!(
        wire.gateway.verify_notification(&downgraded).await,
        Err(GatewayError::BadSignature(_))
    ));

    let mut unsigned = notification(&stub::alipay_signer(), "RSA2", "88.88");
    unsigned.fields.retain(|(k, _)| k != "sign");
    assert!(matches!(
        wire.gateway.verify_notification(&unsigned).await,
        Err(GatewayError::BadSignature(_))
    ));
}

#[tokio::test]
async fn returns_are_verified_then_parsed() {
    let wire = start().await;
    let mut fields: Vec<(String, String)> = [
        ("charset", "utf-8"),
        ("out_trade_no", "shop_20261122_0001"),
        ("method", "alipay.trade.page.pay.return"),
        ("total_amount", "88.88"),
        ("trade_no", "2026112222001400000000000001"),
        ("auth_app_id", stub::APP_ID),
        ("version", "1.0"),
        ("app_id", stub::APP_ID),
        ("seller_id", "2088102000000001"),
        ("timestamp", "2026-11-22 00:35:02"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let content = payport_alipay_openapi::notify_verify_content(&fields);
    fields.push((
        "sign".into(),
        stub::alipay_signer().sign(content.as_bytes()).unwrap(),
    ));
    fields.push(("sign_type".into(), "RSA2".into()));
    let back = wire.gateway.verify_return(&fields).await.unwrap();
    assert_eq!(back.out_trade_no.as_str(), "shop_20261122_0001");
    assert_eq!(back.total_amount, Amount::parse("88.88").unwrap());
    fields.retain(|(k, _)| k != "trade_no");
    assert!(wire.gateway.verify_return(&fields).await.is_err());
}
