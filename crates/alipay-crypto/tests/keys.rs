//! Key loading: every accepted format, and the one-sentence errors for the mix-ups
//! people actually make. Private key material must show up in neither `Debug` nor errors.

// Test code: an unwrap is the assertion (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use payport_alipay_crypto::{
    Backend, KeyError, PrivateKey, PrivateKeyFormat, PublicKey, PublicKeyFormat, SignType, Signer,
    Verifier,
};

#[test]
fn every_vector_key_file_loads_with_its_format() {
    for who in ["app", "alipay", "forger"] {
        for (file, key) in private_keys(who) {
            let want = if file.contains("pkcs1") {
                PrivateKeyFormat::Pkcs1
            } else {
                PrivateKeyFormat::Pkcs8
            };
            assert_eq!(key.format(), want, "{file}");
            assert_eq!(key.bits(), 2048, "{file}");
        }
        for (file, key) in public_keys(who) {
            assert_eq!(key.format(), PublicKeyFormat::Spki, "{file}");
            assert_eq!(key.bits(), 2048, "{file}");
        }
    }
}

#[test]
fn a_key_pair_shares_one_modulus_in_every_encoding_and_others_differ() {
    let app = private_keys("app")[0].1.modulus();
    assert_eq!(app.len(), 256);
    for (file, key) in private_keys("app") {
        assert_eq!(key.modulus(), app, "{file}");
    }
    for (file, key) in public_keys("app") {
        assert_eq!(key.modulus(), app, "{file}");
    }
    assert_ne!(private_keys("forger")[0].1.modulus(), app);
    assert_ne!(public_keys("alipay")[0].1.modulus(), app);
}

#[test]
fn pem_and_bare_base64_give_the_same_key() {
    let pem = public_key("alipay_public_spki.pem");
    let b64 = public_key("alipay_public_spki.b64");
    assert_eq!(pem, b64);
}

#[test]
fn pkcs1_rsa_public_key_pem_is_accepted_and_verifies() {
    // Re-wrap the SPKI key's inner RSAPublicKey as `BEGIN RSA PUBLIC KEY`.
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    let spki = public_key("alipay_public_spki.pem");
    let pkcs1_der = rsa::RsaPublicKey::from_public_key_der(spki.der())
        .unwrap()
        .to_pkcs1_der()
        .unwrap();
    let pem = pem("RSA PUBLIC KEY", pkcs1_der.as_bytes());
    let key = PublicKey::parse(&pem).unwrap();
    assert_eq!(key.format(), PublicKeyFormat::Pkcs1);
    let bare = PublicKey::parse(&STANDARD.encode(pkcs1_der.as_bytes())).unwrap();
    assert_eq!(bare, key);
    assert_eq!(key.modulus(), spki.modulus());

    // And it verifies Alipay's signatures on every backend: the vector's signed
    // content is what the adapter extracts from `raw_body` (its vectors test says so).
    let case = &cases("response_verify.json")[0];
    assert_eq!(case["expected"], true);
    for &backend in Backend::ALL {
        let verifier = Verifier::with_backend(&key, SignType::Rsa2, backend).unwrap();
        let content = str_field(case, "expected_signed_content");
        assert!(
            verifier.verify(content.as_bytes(), str_field(case, "sign")),
            "{backend:?}"
        );
    }
}

#[test]
fn key_mix_ups_have_one_sentence_errors() {
    let public_pem = key_text("app_public_spki.pem");
    let public_b64 = key_text("app_public_spki.b64");
    let private_pem = key_text("alipay_private_pkcs8.pem");
    let private_b64 = key_text("alipay_private_pkcs1.b64");

    for text in [&public_pem, &public_b64] {
        let err = PrivateKey::parse(text).unwrap_err();
        assert_eq!(err, KeyError::PublicKeyForSigning);
        assert_eq!(
            err.to_string(),
            "this is a public key; signing needs the app private key"
        );
    }
    for text in [&private_pem, &private_b64] {
        let err = PublicKey::parse(text).unwrap_err();
        assert_eq!(err, KeyError::PrivateKeyForVerifying);
        assert_eq!(
            err.to_string(),
            "this is a private key; verifying needs Alipay's public key"
        );
    }
    for text in ["", "   \n", "hello world", "AAAA", "not base64 at all!"] {
        for err in [
            PrivateKey::parse(text).unwrap_err(),
            PublicKey::parse(text).unwrap_err(),
        ] {
            assert_eq!(err, KeyError::NotAKey, "{text:?}");
            assert_eq!(err.to_string(), "not a PEM or base64 RSA key");
        }
    }
}

#[test]
fn other_refusals() {
    let cert = pem("CERTIFICATE", &[0x30, 0x03, 0x02, 0x01, 0x00]);
    assert_eq!(PublicKey::parse(&cert).unwrap_err(), KeyError::Certificate);
    assert_eq!(PrivateKey::parse(&cert).unwrap_err(), KeyError::Certificate);

    let encrypted = pem("ENCRYPTED PRIVATE KEY", &[0x30, 0x00]);
    assert_eq!(
        PrivateKey::parse(&encrypted).unwrap_err(),
        KeyError::Encrypted
    );
    assert_eq!(
        KeyError::Encrypted.to_string(),
        "this private key is encrypted; export it without a passphrase"
    );

    // Ed25519 PKCS#8 and SPKI (all-zero key bytes: only the structure matters here).
    let mut ed_private = hex("302e020100300506032b657004220420");
    ed_private.extend([0u8; 32]);
    let mut ed_public = hex("302a300506032b6570032100");
    ed_public.extend([0u8; 32]);
    for text in [
        pem("PRIVATE KEY", &ed_private),
        STANDARD.encode(&ed_private),
    ] {
        assert_eq!(PrivateKey::parse(&text).unwrap_err(), KeyError::NotRsa);
    }
    for text in [pem("PUBLIC KEY", &ed_public), STANDARD.encode(&ed_public)] {
        assert_eq!(PublicKey::parse(&text).unwrap_err(), KeyError::NotRsa);
    }
    assert_eq!(
        PrivateKey::parse(&pem("EC PRIVATE KEY", &[0x30, 0x00])).unwrap_err(),
        KeyError::NotRsa
    );
    assert_eq!(
        KeyError::NotRsa.to_string(),
        "this is not an RSA key; Alipay keys are RSA"
    );

    // PEM cut off, or with a body that is not an RSA key.
    let private_pem = key_text("app_private_pkcs8.pem");
    let cut = &private_pem[..private_pem.len() / 2];
    assert!(matches!(
        PrivateKey::parse(cut).unwrap_err(),
        KeyError::DamagedPem(_)
    ));
    assert!(matches!(
        PrivateKey::parse(&pem("PRIVATE KEY", b"\x30\x03\x02\x01\x00")).unwrap_err(),
        KeyError::DamagedPem(_)
    ));
    assert!(matches!(
        PublicKey::parse(&pem("OPENSSH PRIVATE KEY", b"x")).unwrap_err(),
        KeyError::UnsupportedPemLabel(_)
    ));
}

#[test]
fn private_key_material_is_not_in_debug_or_errors() {
    let text = key_text("app_private_pkcs8.b64");
    let key = PrivateKey::parse(&text).unwrap();
    let signer = Signer::new(&key, SignType::Rsa2).unwrap();
    let der = STANDARD.decode(text.trim()).unwrap();
    let outputs = [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{signer:?}"),
        format!("{signer:#?}"),
        PublicKey::parse(&text).unwrap_err().to_string(),
        format!("{:?}", PublicKey::parse(&text).unwrap_err()),
    ];
    for out in &outputs {
        // No 12-character window of the base64 body, and no hex of the DER.
        for window in text.trim().as_bytes().windows(12).step_by(6) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(!out.contains(window), "{out:?} leaks key text");
        }
        let hex: String = der[40..60].iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !out.to_lowercase().contains(&hex),
            "{out:?} leaks key bytes"
        );
    }
    assert!(outputs[0].contains("redacted"), "{}", outputs[0]);
    assert!(outputs[2].contains("redacted"), "{}", outputs[2]);
}

#[test]
fn keys_are_usable_from_crlf_and_indented_config_text() {
    let pem_text = key_text("app_private_pkcs1.pem").replace('\n', "\r\n    ");
    let key = PrivateKey::parse(&pem_text).unwrap();
    assert_eq!(key.format(), PrivateKeyFormat::Pkcs1);
    let wrapped: String = key_text("app_private_pkcs8.b64")
        .trim()
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        PrivateKey::parse(&wrapped).unwrap().format(),
        PrivateKeyFormat::Pkcs8
    );
}

#[test]
fn backends_compiled_in() {
    assert!(Backend::ALL.contains(&Backend::RustCrypto));
    assert_eq!(Backend::ALL[0], Backend::default());
    #[cfg(feature = "aws-lc")]
    {
        assert!(Backend::ALL.contains(&Backend::AwsLc));
        assert_eq!(Backend::default(), Backend::AwsLc);
    }
    #[cfg(not(feature = "aws-lc"))]
    assert_eq!(Backend::ALL, &[Backend::RustCrypto]);
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
