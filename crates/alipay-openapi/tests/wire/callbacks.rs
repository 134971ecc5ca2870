//! Notifications and returns: verified first, then parsed.

use super::*;

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

#[tokio::test]
async fn a_two_megabyte_sign_type_is_clipped_in_the_error() {
    let wire = start().await;
    let huge = "R".repeat(2_000_000);
    let n = notification(&stub::alipay_signer(), &huge, "88.88");
    let err = wire.gateway.verify_notification(&n).await.unwrap_err();
    let text = err.to_string();
    assert!(text.len() < 300, "{} bytes: {}", text.len(), &text[..300]);
    assert!(
        text.contains("RRRR") && text.contains("2000000 bytes"),
        "{text}"
    );
}
