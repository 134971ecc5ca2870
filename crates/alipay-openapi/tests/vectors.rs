//! The conformance vectors of `testdata/vectors/` (request_sign.json, notify_verify.json,
//! response_verify.json), every case, on every compiled-in backend, with keys loaded
//! from every file format. Fields tested: `string_to_sign`(`_drop_empty`), `sign`
//! (`sign_drop_empty`), `verify_content`, `expected_signed_content`, `expected`.

// Test code: an unwrap is the assertion (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use payport_alipay_openapi::{
    extract_response, notify_verify_content, parse_form_urlencoded, request_sign_content, Backend,
    NotifyVerdict, ResponseCheck, SignType, Signer, SignerExt, Verifier, VerifierExt,
};

#[test]
fn request_sign_string_to_sign() {
    let cases = cases("request_sign.json");
    assert_eq!(cases.len(), 12);
    for case in &cases {
        let id = str_field(case, "id");
        let params = string_pairs(&case["params"]);
        // payport drops empty values (sign_content.rs): for cases with empty_keys the
        // reference is string_to_sign_drop_empty, for the rest string_to_sign.
        let expected = if case.get("empty_keys").is_some() {
            assert_ne!(
                str_field(case, "string_to_sign"),
                str_field(case, "string_to_sign_drop_empty"),
                "{id}"
            );
            str_field(case, "string_to_sign_drop_empty")
        } else {
            str_field(case, "string_to_sign")
        };
        assert_eq!(request_sign_content(params_refs(&params)), expected, "{id}");
    }
}

#[test]
fn request_sign_signatures_every_backend_every_key_file() {
    let cases = cases("request_sign.json");
    let keys = private_keys("app");
    let app_public = public_key("app_public_spki.pem");
    for &backend in Backend::ALL {
        let verifier = Verifier::with_backend(&app_public, SignType::Rsa2, backend).unwrap();
        for (file, key) in &keys {
            let signer = Signer::with_backend(key, SignType::Rsa2, backend).unwrap();
            for case in &cases {
                let id = str_field(case, "id");
                let at = format!("{id} / {file} / {backend:?}");
                let params = string_pairs(&case["params"]);
                let expected = if case.get("empty_keys").is_some() {
                    str_field(case, "sign_drop_empty")
                } else {
                    str_field(case, "sign")
                };
                let sign = signer.sign_request(params_refs(&params)).unwrap();
                assert_eq!(sign, expected, "{at}");
                assert!(
                    verifier.verify(request_sign_content(params_refs(&params)).as_bytes(), &sign),
                    "{at}: does not verify with the app public key"
                );
                // The SDK's own string (empty values kept as `k=`) signs to its `sign`
                // too: the signer reproduces the SDK, only the content rule differs.
                let sdk_sign = signer.sign(str_field(case, "string_to_sign").as_bytes());
                assert_eq!(
                    sdk_sign.unwrap(),
                    str_field(case, "sign"),
                    "{at} (SDK string)"
                );
            }
        }
    }
}

#[test]
fn notify_verify_content_and_verdicts_every_backend() {
    let cases = cases("notify_verify.json");
    assert_eq!(cases.len(), 10);
    for case in &cases {
        let id = str_field(case, "id");
        let fields = string_pairs(&case["params"]);
        assert_eq!(
            notify_verify_content(&fields),
            str_field(case, "verify_content"),
            "{id}"
        );
        let expected = case["expected"].as_bool().unwrap();
        for &backend in Backend::ALL {
            for (file, key) in public_keys("alipay") {
                let at = format!("{id} / {file} / {backend:?}");
                let verifier = Verifier::with_backend(&key, SignType::Rsa2, backend).unwrap();
                let check = verifier.verify_notify(&fields);
                assert_eq!(check.is_valid(), expected, "{at}: {:?}", check.verdict);
                assert_eq!(check.content, str_field(case, "verify_content"), "{at}");

                // The same notification as a raw form body, decoded exactly once.
                let body = form_encode(&fields);
                assert_eq!(
                    parse_form_urlencoded(body.as_bytes()).unwrap(),
                    fields,
                    "{at}"
                );
                let from_body = verifier.verify_notify_body(body.as_bytes()).unwrap();
                assert_eq!(from_body, check, "{at}");
            }
        }
    }
}

#[test]
fn notify_refusals_are_for_the_right_reason() {
    let verifier = Verifier::new(&public_key("alipay_public_spki.pem"), SignType::Rsa2).unwrap();
    for case in cases("notify_verify.json") {
        let id = str_field(&case, "id");
        let verdict = verifier
            .verify_notify(&string_pairs(&case["params"]))
            .verdict;
        let want = match id {
            "ntf_sha1_downgrade" => NotifyVerdict::SignTypeMismatch {
                received: "RSA".into(),
            },
            "ntf_tampered_amount" | "ntf_sign_type_in_content" | "ntf_forged_signature" => {
                NotifyVerdict::BadSignature
            }
            _ => NotifyVerdict::Valid,
        };
        assert_eq!(verdict, want, "{id}");
    }
}

#[test]
fn response_signed_content_and_verdicts_every_backend() {
    let cases = cases("response_verify.json");
    assert_eq!(cases.len(), 8);
    for case in &cases {
        let id = str_field(case, "id");
        let body = str_field(case, "raw_body");
        let method = str_field(case, "method");
        let extracted = extract_response(body, method).unwrap();
        assert_eq!(
            extracted.content,
            str_field(case, "expected_signed_content"),
            "{id}"
        );
        assert_eq!(
            extracted.sign.as_deref(),
            Some(str_field(case, "sign")),
            "{id}"
        );
        let expected = case["expected"].as_bool().unwrap();
        for &backend in Backend::ALL {
            for (file, key) in public_keys("alipay") {
                let at = format!("{id} / {file} / {backend:?}");
                let verifier = Verifier::with_backend(&key, SignType::Rsa2, backend).unwrap();
                let check = verifier.verify_response(body, method).unwrap();
                assert_eq!(check.is_verified(), expected, "{at}: {check:?}");
                assert_eq!(check.content(), extracted.content, "{at}");
                if expected {
                    // All vectors are signed over the raw text, `\/` included.
                    assert!(
                        matches!(
                            check,
                            ResponseCheck::Verified {
                                slashes_unescaped: false,
                                ..
                            }
                        ),
                        "{at}"
                    );
                } else {
                    assert!(matches!(check, ResponseCheck::BadSignature { .. }), "{at}");
                }
            }
        }
    }
}

#[test]
fn response_node_choice_follows_response_key() {
    for case in cases("response_verify.json") {
        let id = str_field(&case, "id");
        let extracted =
            extract_response(str_field(&case, "raw_body"), str_field(&case, "method")).unwrap();
        let want = if str_field(&case, "response_key") == "error_response" {
            payport_alipay_openapi::ResponseNode::Error
        } else {
            payport_alipay_openapi::ResponseNode::Method
        };
        assert_eq!(extracted.node, want, "{id}");
    }
}

fn params_refs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
