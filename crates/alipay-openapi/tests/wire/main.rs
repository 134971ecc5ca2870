//! Every API over real loopback HTTP against a stub gateway.do: what goes on the wire,
//! and what each kind of answer (signed, forged, unsigned, slow, broken) comes to.
//! Shared builders here; one module per topic.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod bill;
mod callbacks;
mod cert_mode;
mod payments;
mod refunds;
mod rotation;
mod stub;
mod transport;

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
        submitted_at: None,
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
