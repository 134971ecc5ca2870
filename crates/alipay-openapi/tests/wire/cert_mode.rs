//! Certificate mode on the wire: every request carries the two SNs, signed with the
//! other parameters; an answer under another Alipay certificate is not believed.

use payport_alipay_openapi::CertMode;

use super::*;

pub(crate) fn certs() -> CertMode {
    CertMode {
        app_cert_sn: "866efef280dec9137a87d047ac446315".into(),
        alipay_root_cert_sn: "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
            .into(),
        alipay_cert_sn: "a1b2c3d4e5f60718293a4b5c6d7e8f90".into(),
        root_bundle_pem: String::new(),
    }
}

/// `{"<m>_response":NODE,"alipay_cert_sn":SN,"sign":...}` signed by Alipay's key.
pub(crate) fn answered_under(method: &str, node: &str, sn: &str) -> Reply {
    let signed = stub::body_for(method, node, Some(&stub::alipay_signer()));
    let (head, sign) = signed.rsplit_once(r#","sign":"#).unwrap();
    Reply::Raw(format!(r#"{head},"alipay_cert_sn":"{sn}","sign":{sign}"#))
}

#[tokio::test]
async fn requests_carry_both_sns_signed_and_answers_under_the_configured_sn_are_believed() {
    let wire = stub::start_with_certs(Some(certs())).await;
    let method = "alipay.trade.precreate";
    wire.state.reply(
        method,
        answered_under(
            method,
            &format!(r#"{SUCCESS}","out_trade_no":"shop_20261122_0001","qr_code":"https://qr.alipay.com/bax0001"}}"#),
            &certs().alipay_cert_sn,
        ),
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
    assert!(sent.signature_ok, "the SNs are part of the signed content");
    assert_eq!(
        sent.param("app_cert_sn"),
        Some(certs().app_cert_sn.as_str())
    );
    assert_eq!(
        sent.param("alipay_root_cert_sn"),
        Some(certs().alipay_root_cert_sn.as_str())
    );
    assert!(
        sent.query.iter().any(|(k, _)| k == "alipay_root_cert_sn"),
        "system parameters travel in the query"
    );
}

#[tokio::test]
async fn a_page_payment_url_carries_both_sns_signed() {
    let wire = stub::start_with_certs(Some(certs())).await;
    let PaymentInstruction::Redirect { pay_url, .. } = wire
        .gateway
        .create_payment(&payment(PaymentMethod::Page))
        .await
        .unwrap()
    else {
        panic!("redirect expected");
    };
    let params = parse_form_urlencoded(pay_url.split_once('?').unwrap().1.as_bytes()).unwrap();
    assert_eq!(
        param(&params, "app_cert_sn"),
        Some(certs().app_cert_sn.as_str())
    );
    assert_eq!(
        param(&params, "alipay_root_cert_sn"),
        Some(certs().alipay_root_cert_sn.as_str())
    );
    assert_signed(&params);
}

#[tokio::test]
async fn an_answer_under_another_alipay_certificate_is_an_unknown_outcome_naming_both_sns() {
    let wire = stub::start_with_certs(Some(certs())).await;
    let method = "alipay.trade.refund";
    let rotated = "ffffffffffffffffffffffffffffffff";
    // Signed by the key payport has, and still not believed: the SN says Alipay
    // signed under a certificate payport does not know.
    wire.state.reply(
        method,
        answered_under(
            method,
            &format!(r#"{SUCCESS}","fund_change":"Y","refund_fee":"10.50"}}"#),
            rotated,
        ),
    );
    // The stub has no answer for the download: the new certificate cannot be had.
    let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
    let GatewayError::Unknown(message) = err else {
        panic!("unknown outcome expected: {err}");
    };
    assert!(
        message.contains(&format!(
            "certificate SN {rotated}, payport has {}",
            certs().alipay_cert_sn
        )),
        "{message}"
    );
    assert!(message.contains("rotated"), "{message}");
}

#[tokio::test]
async fn public_key_mode_sends_no_sns() {
    let wire = start().await;
    wire.state.reply(
        "alipay.trade.close",
        Reply::Signed(format!(r#"{SUCCESS}"}}"#)),
    );
    let _ = wire.gateway.close_trade(&otn()).await;
    let sent = wire.state.last();
    assert_eq!(sent.param("app_cert_sn"), None);
    assert_eq!(sent.param("alipay_root_cert_sn"), None);
}

#[tokio::test]
async fn a_rotated_certificate_that_no_configured_root_signed_is_not_adopted() {
    use base64::Engine;
    let wire = stub::start_with_certs(Some(certs())).await;
    let rotated = "ffffffffffffffffffffffffffffffff";
    let method = "alipay.trade.refund";
    wire.state.reply(
        method,
        answered_under(
            method,
            &format!(r#"{SUCCESS}","fund_change":"Y","refund_fee":"10.50"}}"#),
            rotated,
        ),
    );
    // A self-signed certificate, offered (and signed for) as the new one; no root is
    // configured in these tests, so nothing can chain.
    let stranger = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/cert-sn/alipay_like.pem"
    ))
    .unwrap();
    let content = base64::engine::general_purpose::STANDARD.encode(stranger);
    let download = "alipay.open.app.alipaycert.download";
    wire.state.reply(
        download,
        answered_under(
            download,
            &format!(r#"{SUCCESS}","alipay_cert_content":"{content}"}}"#),
            rotated,
        ),
    );
    let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
    let GatewayError::Unknown(message) = err else {
        panic!("unknown outcome expected: {err}");
    };
    assert!(
        message.contains("signed by no certificate of the root file"),
        "{message}"
    );
    let sent = wire.state.last();
    assert_eq!(sent.method, download);
    assert!(sent.signature_ok);
    assert_eq!(sent.biz()["alipay_cert_sn"], rotated);
    // Still the configured certificate: an answer under it is believed.
    wire.state.reply(
        method,
        answered_under(
            method,
            &format!(r#"{SUCCESS}","fund_change":"Y","refund_fee":"10.50"}}"#),
            &certs().alipay_cert_sn,
        ),
    );
    wire.gateway.submit_refund(&refund()).await.unwrap();
}
