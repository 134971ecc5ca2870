//! Payments on the wire: precreate, page/wap/app pay, query and close.

use super::*;

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
    // System parameters in the query, biz_content alone in the body (PROTOCOL.md A3).
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
