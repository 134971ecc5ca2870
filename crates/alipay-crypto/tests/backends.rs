//! The backends against each other: identical signatures, cross-verification, SHA-1
//! signing only where it exists, and the conformance vectors' SDK signatures over
//! their strings to sign, on every compiled-in backend with every key file.

// Test code: an unwrap is the assertion (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use payport_alipay_crypto::{Backend, SignType, Signer, Verifier};

#[test]
fn sdk_signatures_of_the_request_vectors_every_backend_every_key_file() {
    let cases = cases("request_sign.json");
    let app_public = public_key("app_public_spki.pem");
    for &backend in Backend::ALL {
        let verifier = Verifier::with_backend(&app_public, SignType::Rsa2, backend).unwrap();
        for (file, key) in &private_keys("app") {
            let signer = Signer::with_backend(key, SignType::Rsa2, backend).unwrap();
            for case in &cases {
                let at = format!("{} / {file} / {backend:?}", str_field(case, "id"));
                let content = str_field(case, "string_to_sign").as_bytes();
                let sign = signer.sign(content).unwrap();
                assert_eq!(sign, str_field(case, "sign"), "{at}");
                assert!(verifier.verify(content, &sign), "{at}");
            }
        }
    }
}

#[test]
fn backends_agree_and_cross_verify() {
    let key = private_key("app_private_pkcs1.b64");
    let public = public_key("app_public_spki.b64");
    let content = "app_id=2021000000000001&biz_content={\"x\":\"测试 😀\"}&sign_type=RSA2";
    let signs: Vec<String> = Backend::ALL
        .iter()
        .map(|&b| {
            Signer::with_backend(&key, SignType::Rsa2, b)
                .unwrap()
                .sign(content.as_bytes())
                .unwrap()
        })
        .collect();
    for &backend in Backend::ALL {
        let verifier = Verifier::with_backend(&public, SignType::Rsa2, backend).unwrap();
        for sign in &signs {
            assert_eq!(sign, &signs[0]);
            assert!(verifier.verify(content.as_bytes(), sign));
            assert!(!verifier.verify(b"app_id=2021000000000002", sign));
        }
    }
}

#[test]
fn sha1_signing_exists_on_the_rsa_backend_only() {
    let key = private_key("app_private_pkcs8.pem");
    let public = public_key("app_public_spki.pem");
    let sign = Signer::with_backend(&key, SignType::Rsa, Backend::RustCrypto)
        .unwrap()
        .sign(b"a=1")
        .unwrap();
    for &backend in Backend::ALL {
        let rsa = Verifier::with_backend(&public, SignType::Rsa, backend).unwrap();
        let rsa2 = Verifier::with_backend(&public, SignType::Rsa2, backend).unwrap();
        assert!(rsa.verify(b"a=1", &sign), "{backend:?}");
        assert!(!rsa2.verify(b"a=1", &sign), "{backend:?}");
    }
    #[cfg(feature = "aws-lc")]
    {
        let err = Signer::with_backend(&key, SignType::Rsa, Backend::AwsLc).unwrap_err();
        assert_eq!(
            err,
            payport_alipay_crypto::KeyError::UnsupportedSignType {
                backend: "aws-lc",
                sign_type: SignType::Rsa
            }
        );
        assert_eq!(
            err.to_string(),
            "the aws-lc backend cannot sign with RSA; configure RSA2"
        );
    }
}

#[test]
fn signer_and_verifier_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Signer>();
    assert_send_sync::<Verifier>();
    assert_send_sync::<payport_alipay_crypto::PrivateKey>();
}
