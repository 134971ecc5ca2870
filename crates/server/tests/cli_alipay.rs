//! `payport alipay sign | verify-notify | verify-response` against every conformance
//! vector, driven through the real binary as an integrator would use it.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn vectors(file: &str) -> Value {
    let path = format!(
        "{}/../../testdata/vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn key(name: &str) -> String {
    format!(
        "{}/../../testdata/vectors/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs `payport args...` with `stdin`; returns (exit code, stdout JSON or Null, stderr).
fn payport(args: &[&str], stdin: &[u8]) -> (i32, Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_payport"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sign_reproduces_every_request_vector_with_pem_and_base64_keys() {
    let v = vectors("request_sign.json");
    for key_file in ["app_private_pkcs8.pem", "app_private_pkcs1.b64"] {
        for case in v["cases"].as_array().unwrap() {
            let params = serde_json::to_vec(&case["params"]).unwrap();
            let (code, out, err) = payport(
                &["alipay", "sign", "--private-key", &key(key_file)],
                &params,
            );
            assert_eq!(code, 0, "{}: {err}", case["id"]);
            // payport never signs empty values: compare with the drop-empty variant.
            let expect = |field: &str| {
                case.get(format!("{field}_drop_empty"))
                    .unwrap_or(&case[field])
                    .clone()
            };
            assert_eq!(
                out["string_to_sign"],
                expect("string_to_sign"),
                "{}",
                case["id"]
            );
            assert_eq!(out["sign"], expect("sign"), "{}", case["id"]);
        }
    }
}

#[test]
fn verify_notify_gives_every_notify_vectors_verdict() {
    let v = vectors("notify_verify.json");
    for case in v["cases"].as_array().unwrap() {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, value) in case["params"].as_object().unwrap() {
            body.append_pair(k, value.as_str().unwrap());
        }
        let body = body.finish();
        let args = [
            "alipay",
            "verify-notify",
            "--alipay-public-key",
            &key("alipay_public_spki.pem"),
        ];
        let (code, out, err) = payport(&args, body.as_bytes());
        let expected = case["expected"].as_bool().unwrap();
        assert_eq!(out["valid"], expected, "{}: {err}", case["id"]);
        assert_eq!(code, if expected { 0 } else { 1 }, "{}", case["id"]);
        assert_eq!(
            out["string_to_verify"], case["verify_content"],
            "{}",
            case["id"]
        );
    }
}

#[test]
fn verify_response_gives_every_response_vectors_verdict() {
    let v = vectors("response_verify.json");
    for case in v["cases"].as_array().unwrap() {
        let method = case["method"].as_str().unwrap();
        let body = case["raw_body"].as_str().unwrap().as_bytes();
        let public = key("alipay_public_spki.b64");
        for args in [
            vec![
                "alipay",
                "verify-response",
                "--alipay-public-key",
                &public,
                "--method",
                method,
            ],
            vec!["alipay", "verify-response", "--alipay-public-key", &public],
        ] {
            let (code, out, err) = payport(&args, body);
            let expected = case["expected"].as_bool().unwrap();
            assert_eq!(out["valid"], expected, "{}: {err}", case["id"]);
            assert_eq!(code, if expected { 0 } else { 1 }, "{}", case["id"]);
            assert_eq!(
                out["signed_content"], case["expected_signed_content"],
                "{}",
                case["id"]
            );
        }
    }
}

#[test]
fn unusable_input_exits_2_with_one_sentence() {
    let params = br#"{"method":"alipay.trade.query","app_id":"2021000000000001"}"#;
    let cases: Vec<(Vec<String>, &[u8], &str)> = vec![
        (
            vec![
                "alipay".into(),
                "sign".into(),
                "--private-key".into(),
                key("app_public_spki.pem"),
            ],
            params,
            "this is a public key; signing needs the app private key",
        ),
        (
            vec![
                "alipay".into(),
                "verify-notify".into(),
                "--alipay-public-key".into(),
                key("alipay_private_pkcs8.pem"),
            ],
            b"a=1",
            "this is a private key; verifying needs Alipay's public key",
        ),
        (
            vec![
                "alipay".into(),
                "sign".into(),
                "--private-key".into(),
                key("app_private_pkcs8.pem"),
            ],
            b"not json",
            "not a JSON object",
        ),
        (
            vec![
                "alipay".into(),
                "sign".into(),
                "--private-key".into(),
                key("app_private_pkcs8.pem"),
            ],
            br#"{"amount": 1}"#,
            "is not a string",
        ),
        (
            vec![
                "alipay".into(),
                "sign".into(),
                "--private-key".into(),
                "/nonexistent/key.pem".into(),
            ],
            params,
            "cannot read /nonexistent/key.pem",
        ),
        (
            vec![
                "alipay".into(),
                "sign".into(),
                "--private-key".into(),
                key("app_private_pkcs8.pem"),
                "--sign-type".into(),
                "MD5".into(),
            ],
            params,
            "neither RSA2 nor RSA",
        ),
        (
            vec![
                "alipay".into(),
                "verify-notify".into(),
                "--alipay-public-key".into(),
                key("alipay_public_spki.pem"),
            ],
            b"a=%zz",
            "not a form body",
        ),
        (
            vec![
                "alipay".into(),
                "verify-response".into(),
                "--alipay-public-key".into(),
                key("alipay_public_spki.pem"),
            ],
            b"<html>502</html>",
            "not a gateway response",
        ),
    ];
    for (args, stdin, message) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = payport(&args, stdin);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, Value::Null, "nothing on stdout");
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    }
}

#[test]
fn rsa_sha1_signing_works_for_old_apps() {
    let params =
        br#"{"method":"alipay.trade.query","sign_type":"RSA","app_id":"2021000000000001"}"#;
    let (code, out, err) = payport(
        &[
            "alipay",
            "sign",
            "--private-key",
            &key("app_private_pkcs8.pem"),
            "--sign-type",
            "RSA",
        ],
        params,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out["string_to_sign"],
        "app_id=2021000000000001&method=alipay.trade.query&sign_type=RSA"
    );
}
