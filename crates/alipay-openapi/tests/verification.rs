//! Verification policies beyond the vectors, on every backend: no SHA-1 downgrade,
//! missing or repeated `sign`, the `\/` retry, unsigned responses, signer checks.
//! Alipay-side signatures are made here with the vectors' DEV-only Alipay private key.

// Test code: an unwrap is the assertion (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use payport_alipay_openapi::{
    Backend, NotifyVerdict, RequestSignError, ResponseCheck, ResponseNode, SignType, Signer,
    SignerExt, Verifier, VerifierExt,
};

fn alipay_verifier(backend: Backend, sign_type: SignType) -> Verifier {
    Verifier::with_backend(&public_key("alipay_public_spki.pem"), sign_type, backend).unwrap()
}

/// Alipay's side. SHA-1 signing exists only on the `rsa` backend (see
/// payport-alipay-crypto's backend/aws_lc.rs).
fn alipay_signer(sign_type: SignType) -> Signer {
    Signer::with_backend(
        &private_key("alipay_private_pkcs8.pem"),
        sign_type,
        Backend::RustCrypto,
    )
    .unwrap()
}

fn notify_case(id: &str) -> Vec<(String, String)> {
    let case = cases("notify_verify.json")
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap();
    string_pairs(&case["params"])
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    fields.iter_mut().find(|(k, _)| k == name).unwrap().1 = value.to_owned();
}

#[test]
fn sha1_downgrade_is_refused() {
    let mut fields = notify_case("ntf_sha1_downgrade");
    for &backend in Backend::ALL {
        // As received (sign_type=RSA on an RSA2 app): refused without verifying.
        let check = alipay_verifier(backend, SignType::Rsa2).verify_notify(&fields);
        assert_eq!(
            check.verdict,
            NotifyVerdict::SignTypeMismatch {
                received: "RSA".into()
            },
            "{backend:?}"
        );
        // The signature really is Alipay's SHA-1 one: an RSA-configured app accepts it...
        let legacy = alipay_verifier(backend, SignType::Rsa).verify_notify(&fields);
        assert_eq!(legacy.verdict, NotifyVerdict::Valid, "{backend:?}");
        // ...and claiming RSA2 does not make a SHA-1 signature pass a SHA-256 check.
        set(&mut fields, "sign_type", "RSA2");
        let check = alipay_verifier(backend, SignType::Rsa2).verify_notify(&fields);
        assert_eq!(check.verdict, NotifyVerdict::BadSignature, "{backend:?}");
        set(&mut fields, "sign_type", "RSA");
    }
}

#[test]
fn rsa2_notification_on_an_rsa_app_is_refused_too() {
    let fields = notify_case("ntf_trade_success");
    for &backend in Backend::ALL {
        let check = alipay_verifier(backend, SignType::Rsa).verify_notify(&fields);
        assert_eq!(
            check.verdict,
            NotifyVerdict::SignTypeMismatch {
                received: "RSA2".into()
            }
        );
    }
}

#[test]
fn a_huge_sign_type_is_clipped_before_it_is_kept() {
    let mut fields = notify_case("ntf_sha1_downgrade");
    set(&mut fields, "sign_type", &"R".repeat(2_000_000));
    let check = alipay_verifier(Backend::RustCrypto, SignType::Rsa2).verify_notify(&fields);
    let NotifyVerdict::SignTypeMismatch { received } = &check.verdict else {
        panic!("{:?}", check.verdict);
    };
    assert!(received.len() < 100, "{} bytes kept", received.len());
    assert!(format!("{:?}", check.verdict).len() < 200);
}

#[test]
fn missing_empty_or_repeated_sign_is_invalid() {
    let valid = notify_case("ntf_trade_success");
    for &backend in Backend::ALL {
        let verifier = alipay_verifier(backend, SignType::Rsa2);
        assert!(verifier.verify_notify(&valid).is_valid());

        let without: Vec<_> = valid.iter().filter(|(k, _)| k != "sign").cloned().collect();
        let check = verifier.verify_notify(&without);
        assert_eq!(check.verdict, NotifyVerdict::MissingSign);
        assert!(!check.is_valid());
        assert_eq!(check.content, verifier.verify_notify(&valid).content);

        let mut empty = valid.clone();
        set(&mut empty, "sign", "");
        assert_eq!(
            verifier.verify_notify(&empty).verdict,
            NotifyVerdict::MissingSign
        );

        let mut twice = valid.clone();
        let sign = twice.iter().find(|(k, _)| k == "sign").unwrap().clone();
        twice.push(sign);
        assert_eq!(
            verifier.verify_notify(&twice).verdict,
            NotifyVerdict::RepeatedSign
        );

        let mut garbage = valid.clone();
        set(&mut garbage, "sign", "not base64!");
        assert_eq!(
            verifier.verify_notify(&garbage).verdict,
            NotifyVerdict::BadSignature
        );
    }
}

#[test]
fn missing_sign_type_field_is_verified_with_the_configured_type() {
    let fields: Vec<_> = notify_case("ntf_trade_success")
        .into_iter()
        .filter(|(k, _)| k != "sign_type")
        .collect();
    for &backend in Backend::ALL {
        let check = alipay_verifier(backend, SignType::Rsa2).verify_notify(&fields);
        assert_eq!(check.verdict, NotifyVerdict::Valid);
    }
}

#[test]
fn notify_duplicates_are_kept_in_arrival_order() {
    // Signed by "Alipay" over content that holds both values, in arrival order.
    let signer = alipay_signer(SignType::Rsa2);
    let content = "a=1&dup=second&dup=first&z=9";
    let fields: Vec<(String, String)> = [
        ("z", "9"),
        ("dup", "second"),
        ("sign_type", "RSA2"),
        ("dup", "first"),
        ("a", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([("sign".to_string(), signer.sign(content.as_bytes()).unwrap())])
    .collect();
    for &backend in Backend::ALL {
        let check = alipay_verifier(backend, SignType::Rsa2).verify_notify(&fields);
        assert_eq!(check.content, content);
        assert!(check.is_valid(), "{backend:?}");
    }
}

#[test]
fn response_retries_once_with_unescaped_slashes() {
    // Alipay signed the text with plain '/', the body carries it JSON-escaped as "\/".
    let signed = r#"{"code":"10000","msg":"Success","qr_code":"https://qr.alipay.com/bax1"}"#;
    let sent = r#"{"code":"10000","msg":"Success","qr_code":"https:\/\/qr.alipay.com\/bax1"}"#;
    let sign = alipay_signer(SignType::Rsa2)
        .sign(signed.as_bytes())
        .unwrap();
    let body = format!(r#"{{"alipay_trade_precreate_response":{sent},"sign":"{sign}"}}"#);
    // A forger's signature over the unescaped text does not pass either way.
    let forger = Signer::with_backend(
        &private_key("forger_private_pkcs8.pem"),
        SignType::Rsa2,
        Backend::RustCrypto,
    )
    .unwrap();
    let forged_sign = forger.sign(signed.as_bytes()).unwrap();
    let forged = format!(r#"{{"alipay_trade_precreate_response":{sent},"sign":"{forged_sign}"}}"#);
    for &backend in Backend::ALL {
        let verifier = alipay_verifier(backend, SignType::Rsa2);
        assert_eq!(
            verifier
                .verify_response(&body, "alipay.trade.precreate")
                .unwrap(),
            ResponseCheck::Verified {
                node: ResponseNode::Method,
                content: sent,
                slashes_unescaped: true
            },
            "{backend:?}"
        );
        assert_eq!(
            verifier
                .verify_response(&forged, "alipay.trade.precreate")
                .unwrap(),
            ResponseCheck::BadSignature {
                node: ResponseNode::Method,
                content: sent
            }
        );
    }
}

#[test]
fn sign_with_escaped_slashes_in_the_json_string_is_decoded() {
    // Some JSON writers escape '/' in the base64 sign itself.
    let content = r#"{"code":"10000","msg":"Success"}"#;
    let sign = alipay_signer(SignType::Rsa2)
        .sign(content.as_bytes())
        .unwrap();
    assert!(
        sign.contains('/'),
        "this content's signature must hold a '/' to test"
    );
    let escaped = sign.replace('/', "\\/");
    let body = format!(r#"{{"alipay_trade_close_response":{content},"sign":"{escaped}"}}"#);
    for &backend in Backend::ALL {
        let check = alipay_verifier(backend, SignType::Rsa2)
            .verify_response(&body, "alipay.trade.close")
            .unwrap();
        assert!(check.is_verified(), "{backend:?}");
    }
}

#[test]
fn unsigned_responses_are_a_distinct_outcome() {
    let content = r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}"#;
    for body in [
        format!(r#"{{"error_response":{content}}}"#),
        format!(r#"{{"error_response":{content},"sign":""}}"#),
    ] {
        for &backend in Backend::ALL {
            let check = alipay_verifier(backend, SignType::Rsa2)
                .verify_response(&body, "alipay.trade.refund")
                .unwrap();
            assert_eq!(
                check,
                ResponseCheck::Unsigned {
                    node: ResponseNode::Error,
                    content
                }
            );
            assert!(!check.is_verified());
        }
    }
}

#[test]
fn repeated_response_node_is_refused_even_when_the_first_is_validly_signed() {
    let case = &cases("response_verify.json")[0];
    let body = str_field(case, "raw_body");
    let node = str_field(case, "expected_signed_content");
    // Append a second, unsigned node after the signed one (EASY SDK's check).
    let tampered = body.replacen(
        ",\"sign\":",
        &format!(",\"alipay_trade_refund_response\":{node},\"sign\":"),
        1,
    );
    for &backend in Backend::ALL {
        let verifier = alipay_verifier(backend, SignType::Rsa2);
        assert!(verifier
            .verify_response(body, "alipay.trade.refund")
            .unwrap()
            .is_verified());
        let err = verifier
            .verify_response(&tampered, "alipay.trade.refund")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the response repeats \"alipay_trade_refund_response\" outside its signed object; refused"
        );
    }
}

#[test]
fn signer_checks_the_params_sign_type() {
    let signer = Signer::new(&private_key("app_private_pkcs8.pem"), SignType::Rsa2).unwrap();
    let params = [
        ("app_id", "2021000000000001"),
        ("method", "alipay.trade.query"),
    ];
    assert_eq!(
        signer.sign_request(params),
        Err(RequestSignError::MissingSignType)
    );
    let params = [("app_id", "2021000000000001"), ("sign_type", "RSA")];
    assert_eq!(
        signer.sign_request(params),
        Err(RequestSignError::SignTypeMismatch {
            found: "RSA".into(),
            expected: SignType::Rsa2
        })
    );
}
