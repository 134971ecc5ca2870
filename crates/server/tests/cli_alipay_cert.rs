//! `payport alipay sign | verify-notify | verify-response` with certificates (PROTOCOL.md
//! A9), through the real binary and the DEV certificates of `keys/`, as someone whose
//! app runs in certificate mode would chase a signature mismatch.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use payport_alipay_openapi::{public_key_of_pem, PrivateKey, SignType, Signer, Verifier};
use serde_json::{json, Value};

fn file(name: &str) -> String {
    format!("{}/../../keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `payport alipay args...` with `stdin`; returns (exit code, stdout JSON or Null, stderr).
fn alipay(args: &[&str], stdin: &[u8]) -> (i32, Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_payport"))
        .arg("alipay")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A usage error exits before reading standard input.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sn_of(cert: &str) -> String {
    let (code, out, err) = alipay(&["cert-sn", "--cert", &file(cert)], b"");
    assert_eq!(code, 0, "{err}");
    out["sn"].as_str().unwrap().to_owned()
}

fn root_sn() -> String {
    let root = file("dev_alipay_root_bundle.pem");
    let (code, out, err) = alipay(&["cert-sn", "--root-cert", &root], b"");
    assert_eq!(code, 0, "{err}");
    out["root_sn"].as_str().unwrap().to_owned()
}

/// Signs `content` as Alipay does, with one of the DEV Alipay keys.
fn alipay_sign(private_key: &str, content: &str) -> String {
    let key = PrivateKey::parse(&std::fs::read_to_string(file(private_key)).unwrap()).unwrap();
    Signer::new(&key, SignType::Rsa2)
        .unwrap()
        .sign(content.as_bytes())
        .unwrap()
}

const PARAMS: &str = r#"{"app_id":"2021000000000001","method":"alipay.trade.query","charset":"utf-8","sign_type":"RSA2","timestamp":"2026-11-26 12:00:00","version":"1.0","biz_content":"{\"out_trade_no\":\"o1\"}"}"#;

fn sign_with_certs(params: &str) -> (i32, Value, String) {
    let args = [
        "sign",
        "--private-key",
        &file("dev_app_private_pkcs8.pem"),
        "--app-cert",
        &file("dev_app_cert.pem"),
        "--alipay-root-cert",
        &file("dev_alipay_root_bundle.pem"),
    ];
    alipay(&args, params.as_bytes())
}

#[test]
fn sign_with_certificates_signs_their_sns_as_a_request_carries_them() {
    let (code, out, err) = sign_with_certs(PARAMS);
    assert_eq!(code, 0, "{err}");
    let (app_sn, root_sn) = (sn_of("dev_app_cert.pem"), root_sn());
    assert_eq!(out["app_cert_sn"], app_sn.as_str());
    assert_eq!(out["alipay_root_cert_sn"], root_sn.as_str());
    let signed = out["string_to_sign"].as_str().unwrap();
    assert!(
        signed.starts_with(&format!(
            "alipay_root_cert_sn={root_sn}&app_cert_sn={app_sn}&app_id=2021000000000001&"
        )),
        "{signed}"
    );

    // The same as signing the parameters with the SNs written in by hand...
    let mut by_hand: Value = serde_json::from_str(PARAMS).unwrap();
    by_hand["app_cert_sn"] = json!(app_sn);
    by_hand["alipay_root_cert_sn"] = json!(root_sn);
    let key = file("dev_app_private_pkcs8.pem");
    let by_hand = serde_json::to_vec(&by_hand).unwrap();
    let (code, plain, err) = alipay(&["sign", "--private-key", &key], &by_hand);
    assert_eq!(code, 0, "{err}");
    assert_eq!(plain["string_to_sign"], out["string_to_sign"]);
    assert_eq!(plain["sign"], out["sign"]);
    // ...which is also accepted when the SNs agree with the certificates.
    let (code, again, err) = sign_with_certs(std::str::from_utf8(&by_hand).unwrap());
    assert_eq!(code, 0, "{err}");
    assert_eq!(again["sign"], out["sign"]);

    // What Alipay checks it with: the key in the app's certificate.
    let cert = std::fs::read_to_string(file("dev_app_cert.pem")).unwrap();
    let verifier = Verifier::new(&public_key_of_pem(&cert).unwrap(), SignType::Rsa2).unwrap();
    assert!(verifier.verify(signed.as_bytes(), out["sign"].as_str().unwrap()));
}

#[test]
fn sign_refuses_an_sn_that_disagrees_with_the_certificate() {
    let mut params: Value = serde_json::from_str(PARAMS).unwrap();
    params["app_cert_sn"] = json!("0123456789abcdef0123456789abcdef");
    let (code, out, err) = sign_with_certs(&params.to_string());
    assert_eq!((code, out), (2, Value::Null));
    assert!(
        err.contains("app_cert_sn") && err.contains(&sn_of("dev_app_cert.pem")),
        "{err}"
    );
}

#[test]
fn sign_wants_both_certificates_or_neither() {
    let key = file("dev_app_private_pkcs8.pem");
    let app = file("dev_app_cert.pem");
    let (code, out, err) = alipay(
        &["sign", "--private-key", &key, "--app-cert", &app],
        PARAMS.as_bytes(),
    );
    assert_eq!((code, out), (2, Value::Null));
    assert!(err.contains("--alipay-root-cert"), "{err}");
}

/// A notification body signed with `private_key` (sign and sign_type left out of the
/// signed text, as Alipay does).
fn notify_body(private_key: &str, total: &str) -> String {
    let fields = [
        ("app_id", "2021000000000001"),
        ("notify_id", "n1"),
        ("out_trade_no", "o1"),
        ("total_amount", total),
        ("trade_status", "TRADE_SUCCESS"),
    ];
    let content: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sign = alipay_sign(private_key, &content.join("&"));
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.extend_pairs(fields);
    body.append_pair("sign_type", "RSA2");
    body.append_pair("sign", &sign);
    body.finish()
}

#[test]
fn verify_notify_takes_alipays_key_from_its_certificate() {
    let cert = file("dev_alipay_cert.pem");
    let args = ["verify-notify", "--alipay-cert", &cert];
    let body = notify_body("dev_alipay_private_pkcs8.pem", "9.99");
    let (code, out, err) = alipay(&args, body.as_bytes());
    assert_eq!((code, &out["valid"]), (0, &json!(true)), "{err}");

    // Changed on the way, or signed under the rotated certificate: not valid.
    let forged = body.replace("9.99", "99.9");
    let (code, out, _) = alipay(&args, forged.as_bytes());
    assert_eq!((code, &out["valid"]), (1, &json!(false)));
    let rotated = notify_body("dev_alipay_rotated_private_pkcs8.pem", "9.99");
    let (code, _, _) = alipay(&args, rotated.as_bytes());
    assert_eq!(code, 1);
    let rotated_cert = file("dev_alipay_rotated_cert.pem");
    let (code, _, err) = alipay(
        &["verify-notify", "--alipay-cert", &rotated_cert],
        rotated.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
}

/// A query answer signed with `private_key`, naming the certificate `cert_sn`.
fn response_body(private_key: &str, cert_sn: &str) -> String {
    let node = r#"{"code":"10000","msg":"Success","out_trade_no":"o1","trade_status":"TRADE_SUCCESS","total_amount":"9.99"}"#;
    let sign = alipay_sign(private_key, node);
    format!(
        r#"{{"alipay_trade_query_response":{node},"alipay_cert_sn":"{cert_sn}","sign":"{sign}"}}"#
    )
}

#[test]
fn verify_response_with_a_certificate_names_the_answers_sn_and_its_own() {
    let cert = file("dev_alipay_cert.pem");
    let (sn, rotated_sn) = (
        sn_of("dev_alipay_cert.pem"),
        sn_of("dev_alipay_rotated_cert.pem"),
    );
    let args = ["verify-response", "--alipay-cert", &cert];
    let body = response_body("dev_alipay_private_pkcs8.pem", &sn);
    let (code, out, err) = alipay(&args, body.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["valid"], true);
    assert_eq!(out["alipay_cert_sn"], sn.as_str());
    assert_eq!(out["cert_sn"], sn.as_str());

    // Alipay rotated its certificate: the answer names another one, and this one's key
    // does not verify it; the two SNs say why.
    let body = response_body("dev_alipay_rotated_private_pkcs8.pem", &rotated_sn);
    let (code, out, _) = alipay(&args, body.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(out["verdict"], "bad_signature");
    assert_eq!(out["alipay_cert_sn"], rotated_sn.as_str());
    assert_eq!(out["cert_sn"], sn.as_str());

    // The public key tool says nothing of certificates.
    let public = file("dev_alipay_public_spki.pem");
    let body = response_body("dev_alipay_private_pkcs8.pem", &sn);
    let (code, out, err) = alipay(
        &["verify-response", "--alipay-public-key", &public],
        body.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.get("cert_sn").is_none(), "{out}");
}

#[test]
fn a_public_key_and_a_certificate_together_or_neither_is_a_usage_error() {
    let public = file("dev_alipay_public_spki.pem");
    let cert = file("dev_alipay_cert.pem");
    for tool in ["verify-notify", "verify-response"] {
        let both = [tool, "--alipay-public-key", &public, "--alipay-cert", &cert];
        let (code, out, err) = alipay(&both, b"x");
        assert_eq!((code, out), (2, Value::Null), "{tool}");
        assert!(err.contains("cannot be used with"), "{tool}: {err}");
        let (code, out, err) = alipay(&[tool], b"x");
        assert_eq!((code, out), (2, Value::Null), "{tool}");
        assert!(
            err.contains("--alipay-public-key") && err.contains("--alipay-cert"),
            "{tool}: {err}"
        );
    }
}

#[test]
fn a_certificate_that_is_not_one_is_unusable_input() {
    let key = file("dev_alipay_public_spki.pem");
    let (code, out, err) = alipay(&["verify-notify", "--alipay-cert", &key], b"a=b&sign=x");
    assert_eq!((code, out), (2, Value::Null));
    assert!(err.contains("dev_alipay_public_spki.pem"), "{err}");
}

#[test]
fn a_der_certificate_is_asked_for_as_pem() {
    let der = format!(
        "{}/../../testdata/cert-sn/alipay_like.cer",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, out, err) = alipay(&["verify-notify", "--alipay-cert", &der], b"a=b&sign=x");
    assert_eq!((code, out), (2, Value::Null));
    assert!(
        err.contains("alipay_like.cer") && err.contains("PEM"),
        "{err}"
    );
}
