//! Signatures: the simulator's strings to sign match the SDK vectors, and requests
//! that do not verify are refused.

use super::*;

#[test]
fn the_simulators_sign_content_matches_the_official_sdk_vectors() {
    let requests: Value =
        serde_json::from_str(&support::repo_file("testdata/vectors/request_sign.json")).unwrap();
    for case in requests["cases"].as_array().unwrap() {
        let params: Vec<(String, String)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        // The gateway drops empty values before verifying (the doc rule).
        let expected = case
            .get("string_to_sign_drop_empty")
            .unwrap_or(&case["string_to_sign"]);
        assert_eq!(
            request_content(&params),
            expected.as_str().unwrap(),
            "{}",
            case["id"]
        );
    }
    let notifies: Value =
        serde_json::from_str(&support::repo_file("testdata/vectors/notify_verify.json")).unwrap();
    for case in notifies["cases"].as_array().unwrap() {
        let fields: Vec<(String, String)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            notify_content(&fields),
            case["verify_content"].as_str().unwrap(),
            "{}",
            case["id"]
        );
    }
}

#[tokio::test]
async fn requests_that_do_not_verify_get_unsigned_40002() {
    let rig = Rig::start().await;
    // Signed with a key the simulator does not know as the merchant's.
    let forger = adapter(
        &rig.sim_url,
        &rig.notify_url,
        "testdata/vectors/keys/forger_private_pkcs8.pem",
        2_000,
    );
    let err = forger.query_trade(&otn("x")).await.unwrap_err();
    let GatewayError::Rejected(failure) = err else {
        panic!("{err}")
    };
    assert_eq!(failure.code, "40002");
    assert_eq!(failure.sub_code.as_deref(), Some("isv.invalid-signature"));
    assert!(
        failure.message.contains("app_id=2021000000000001"),
        "sub_msg echoes the verified string"
    );
    // A raw request: unknown app id, unsigned answer.
    let body = reqwest::get(format!(
        "{}/gateway.do?method=alipay.trade.query&app_id=9999&sign=x&sign_type=RSA2&timestamp=2026-11-21+16:00:00&version=1.0",
        rig.sim_url
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        body.contains("isv.invalid-app-id") && !body.contains("\"sign\""),
        "{body}"
    );
    let body = reqwest::get(format!(
        "{}/gateway.do?app_id=2021000000000001",
        rig.sim_url
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        body.contains("40001") && body.contains("isv.missing-method"),
        "{body}"
    );
}
