//! Certificate mode: every request must name the app's certificate and the root bundle
//! by their SNs, and signed answers name the simulator's certificate.

use payport_alipay_openapi::CertMode;
use payport_alipay_sim::SimCerts;

use super::*;

async fn cert_rig() -> Rig {
    let mut config = support::dev_config();
    config.certs = Some(SimCerts::dev());
    Rig::start_with(config).await
}

/// The SNs of the DEV certificates, as payport's configuration computes them.
fn dev_sns() -> CertMode {
    let dev = SimCerts::dev();
    CertMode {
        app_cert_sn: dev.app_cert_sn,
        alipay_root_cert_sn: dev.alipay_root_cert_sn,
        alipay_cert_sn: dev.alipay_cert_sn,
        root_bundle_pem: payport_alipay_sim::config::dev_keys::ROOT_BUNDLE_PEM.to_owned(),
    }
}

async fn rejection(gateway: &payport_alipay_openapi::AlipayOpenApiGateway) -> (String, String) {
    let err = gateway.query_trade(&otn("c1")).await.unwrap_err();
    let GatewayError::Rejected(failure) = err else {
        panic!("a rejection expected: {err}")
    };
    (failure.code, failure.sub_code.unwrap_or_default())
}

#[tokio::test]
async fn requests_with_the_right_sns_run_and_answers_carry_the_alipay_cert_sn() {
    let rig = cert_rig().await;
    let gateway = support::cert_adapter(&rig.sim_url, dev_sns());
    gateway
        .create_payment(&pay_request("c1", PaymentMethod::Qr, "8.00"))
        .await
        .unwrap();
    // Expecting another Alipay certificate, and with no root to check the simulator's
    // against: the answer names the simulator's SN, and is not believed.
    let expecting_other = CertMode {
        alipay_cert_sn: "0".repeat(32),
        root_bundle_pem: String::new(),
        ..dev_sns()
    };
    let err = support::cert_adapter(&rig.sim_url, expecting_other.clone())
        .query_trade(&otn("c1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GatewayError::Unknown(m) if m.contains(&format!("certificate SN {}", dev_sns().alipay_cert_sn))),
        "{err}"
    );
    // With the DEV root, the simulator's certificate (alipay.open.app.alipaycert.download)
    // chains, so it is adopted and the answer believed.
    let with_root = CertMode {
        root_bundle_pem: dev_sns().root_bundle_pem,
        ..expecting_other
    };
    support::cert_adapter(&rig.sim_url, with_root)
        .query_trade(&otn("c1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn missing_or_wrong_sns_get_alipays_sub_codes_unsigned() {
    let rig = cert_rig().await;
    // rig.gateway is in public key mode: no SNs at all.
    assert_eq!(
        rejection(&rig.gateway).await,
        ("40002".into(), "isv.missing-app-cert-sn".into())
    );
    let wrong_app = CertMode {
        app_cert_sn: "866efef280dec9137a87d047ac446315".into(),
        ..dev_sns()
    };
    assert_eq!(
        rejection(&support::cert_adapter(&rig.sim_url, wrong_app)).await,
        ("40002".into(), "isv.app-cert-not-exist".into())
    );
    let wrong_root = CertMode {
        alipay_root_cert_sn: "687b59193f3f462dd5336e5abf83c5d8".into(),
        ..dev_sns()
    };
    assert_eq!(
        rejection(&support::cert_adapter(&rig.sim_url, wrong_root)).await,
        ("40002".into(), "isv.invalid-alipay-root-cert-sn".into())
    );
}

#[tokio::test]
async fn public_key_mode_ignores_sns() {
    let rig = Rig::start().await;
    let gateway = support::cert_adapter(&rig.sim_url, dev_sns());
    gateway
        .create_payment(&pay_request("c2", PaymentMethod::Qr, "8.00"))
        .await
        .unwrap();
}
