//! Fault injection: timeouts, 5xx, 20000, system errors, bad signatures.

use super::*;

#[tokio::test]
async fn faults_timeouts_5xx_20000_system_errors_and_bad_signatures() {
    let rig = Rig::start().await;
    paid_trade(&rig, "f", "10.00").await;
    let slow = adapter(
        &rig.sim_url,
        &rig.notify_url,
        "keys/dev_app_private_pkcs8.pem",
        300,
    );
    rig.set_faults(serde_json::json!({"methods": {"alipay.trade.refund": {"kind": "delay", "ms": 1000, "times": 1}}})).await;
    let err = slow
        .submit_refund(&refund("f", "t1", "1.00"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Unknown(ref m) if m.contains("timeout")),
        "{err}"
    );
    for (fault, expect) in [
        (serde_json::json!({"kind": "http500"}), "HTTP 500"),
        (
            serde_json::json!({"kind": "unavailable"}),
            "isp.unknow-error",
        ),
        (
            serde_json::json!({"kind": "system_error", "performed": false}),
            "ACQ.SYSTEM_ERROR",
        ),
    ] {
        let mut rule = fault.clone();
        rule["times"] = 1.into();
        rig.set_faults(serde_json::json!({"methods": {"alipay.trade.refund": rule}}))
            .await;
        let err = rig
            .gateway
            .submit_refund(&refund("f", "t2", "1.00"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, GatewayError::Unknown(ref m) if m.contains(expect)),
            "{fault}: {err}"
        );
    }
    // None of those refunded anything...
    let refunded: Vec<_> = rig
        .sim
        .ledger()
        .refunds
        .iter()
        .map(|r| r.out_request_no.clone())
        .collect();
    assert_eq!(
        refunded,
        vec!["t1".to_owned()],
        "the delayed one was performed before answering"
    );
    // ...but a SYSTEM_ERROR can hide a refund that happened.
    rig.set_faults(serde_json::json!({"methods": {"alipay.trade.refund": {"kind": "system_error", "performed": true, "times": 1}}})).await;
    let err = rig
        .gateway
        .submit_refund(&refund("f", "t3", "1.00"))
        .await
        .unwrap_err();
    assert!(matches!(err, GatewayError::Unknown(_)), "{err}");
    assert!(rig
        .sim
        .ledger()
        .refunds
        .iter()
        .any(|r| r.out_request_no == "t3"));
    for kind in ["bad_signature", "missing_signature"] {
        rig.set_faults(
            serde_json::json!({"methods": {"alipay.trade.query": {"kind": kind, "times": 1}}}),
        )
        .await;
        let err = rig.gateway.query_trade(&otn("f")).await.unwrap_err();
        assert!(
            matches!(err, GatewayError::BadSignature(_)),
            "{kind}: {err}"
        );
    }
    assert!(
        rig.gateway.query_trade(&otn("f")).await.is_ok(),
        "faults wear off after `times`"
    );
}

#[tokio::test]
async fn faults_can_be_configured_from_the_start() {
    let mut config = support::dev_config();
    config.faults = serde_json::from_value(serde_json::json!({
        "methods": {"alipay.trade.query": {"kind": "unavailable", "times": 1}}
    }))
    .unwrap();
    let rig = Rig::start_with(config).await;
    let err = rig.gateway.query_trade(&otn("any")).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Unknown(ref m) if m.contains("isp.unknow-error")),
        "{err}"
    );
    assert_eq!(
        rig.gateway.query_trade(&otn("any")).await.unwrap(),
        TradeLookup::NotFound
    );
}
