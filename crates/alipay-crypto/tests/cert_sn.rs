//! Certificate SNs against every vector in `testdata/cert-sn/` (official Node SDK's
//! `getSN` and the Java SDK's rule): payport's SN, issuer string and serial match the
//! Java SDK byte for byte, and the Node SDK wherever the two SDKs agree.

// Test code: an unwrap is the assertion (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used)]

use payport_alipay_crypto::{CertError, CertSn, RootCertSn};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/cert-sn");

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/vectors.json")).unwrap()).unwrap()
}

fn pem(file: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/{file}")).unwrap()
}

#[test]
fn every_certificate_gives_the_java_sdks_sn_issuer_and_serial() {
    let v = vectors();
    let certs = v["certs"].as_array().unwrap();
    assert!(certs.len() >= 15, "the vectors cover every issuer case");
    for case in certs {
        let file = case["file"].as_str().unwrap();
        let sn = CertSn::of_pem(&pem(file)).unwrap();
        let java = &case["java"];
        assert_eq!(sn.issuer(), java["issuer"], "{file}");
        assert_eq!(sn.serial_decimal(), java["serial_decimal"], "{file}");
        assert_eq!(sn.sn(), java["sn"], "{file}");
        if case["sdks_agree"] == true {
            assert_eq!(sn.sn(), case["node"]["sn"], "{file}");
            assert_eq!(sn.issuer(), case["node"]["issuer"], "{file}");
        } else {
            // Recorded differences: the Node SDK hashes another issuer string.
            assert_ne!(sn.issuer(), case["node"]["issuer"], "{file}");
        }
    }
}

#[test]
fn der_input_gives_the_same_sn_as_pem() {
    let der = std::fs::read(format!("{DIR}/alipay_like.cer")).unwrap();
    assert_eq!(
        CertSn::of_der(&der).unwrap(),
        CertSn::of_pem(&pem("alipay_like.pem")).unwrap()
    );
}

#[test]
fn every_root_bundle_gives_both_sdks_root_sn_with_each_certificates_part() {
    let v = vectors();
    for case in v["roots"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let root = RootCertSn::of_bundle(&pem(file)).unwrap();
        let members = case["certificates"].as_array().unwrap();
        assert_eq!(root.certificates().len(), members.len(), "{file}");
        for (cert, want) in root.certificates().iter().zip(members) {
            assert_eq!(cert.sn(), want["sn"], "{file}");
            assert_eq!(cert.signature_oid(), want["signature_oid"], "{file}");
            assert_eq!(cert.counts_for_root(), want["included"], "{file}");
        }
        match case["java_root_sn"].as_str() {
            Some(java) => {
                assert_eq!(root.sn().unwrap(), java, "{file}");
                assert_eq!(root.sn().unwrap(), case["node_root_sn"], "{file}");
            }
            // Java refuses a bundle without RSA roots; Node would send "".
            None => {
                assert_eq!(root.sn(), Err(CertError::NoRsaCertificate), "{file}");
                assert_eq!(case["node_root_sn"], "", "{file}");
            }
        }
    }
}

#[test]
fn the_mixed_bundle_counts_sha1_sha256_sha512_and_pss_but_not_ecdsa() {
    let root = RootCertSn::of_bundle(&pem("root_bundle.pem")).unwrap();
    let parts: Vec<(Option<&str>, bool)> = root
        .certificates()
        .iter()
        .map(|c| (c.signature_name(), c.counts_for_root()))
        .collect();
    assert_eq!(
        parts,
        [
            (Some("sha1WithRSAEncryption"), true),
            (Some("ecdsa-with-SHA384"), false),
            (Some("sha256WithRSAEncryption"), true),
            (Some("RSASSA-PSS"), true),
            (Some("sha512WithRSAEncryption"), true),
        ]
    );
    assert_eq!(root.sn().unwrap().split('_').count(), 4);
}

#[test]
fn a_file_with_a_chain_gives_the_sn_of_its_first_certificate() {
    let first = CertSn::of_pem(&pem("root_bundle.pem")).unwrap();
    assert_eq!(first, CertSn::of_pem(&pem("sha1_rsa.pem")).unwrap());
}

#[test]
fn non_certificates_get_one_sentence_errors() {
    let key = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n";
    assert_eq!(CertSn::of_pem(key), Err(CertError::NoCertificate));
    assert_eq!(RootCertSn::of_bundle(""), Err(CertError::NoCertificate));
    let damaged = pem("sha256_rsa.pem").replacen("MII", "MIX", 1);
    let bundle = format!("{}\n{damaged}", pem("sha1_rsa.pem"));
    let err = RootCertSn::of_bundle(&bundle).unwrap_err();
    assert!(
        matches!(err, CertError::Unreadable { index: 1, .. }),
        "{err}"
    );
    // People count certificates from 1.
    assert!(
        err.to_string().starts_with("certificate 2 of the file"),
        "{err}"
    );
    assert!(CertSn::of_der(b"not der").is_err());
}

/// Alipay's own certificate files, as the official Node SDK's tests hold them
/// (`testdata/cert-sn/official/`), with the SNs those tests expect. Alipay wraps their
/// base64 at 76 columns, not the 64 of RFC 7468.
#[test]
fn alipay_s_own_certificate_files_give_the_official_sdk_s_sns() {
    let official = |file: &str| pem(&format!("official/{file}"));
    let app = CertSn::of_pem(&official("appCertPublicKey_2021001161683774.crt")).unwrap();
    assert_eq!(app.sn(), "866efef280dec9137a87d047ac446315");
    let alipay = CertSn::of_pem(&official("alipayCertPublicKey_RSA2.crt")).unwrap();
    assert_eq!(alipay.sn(), "7513daaaa48aa3ba2e4018d84402479c");
    let root = RootCertSn::of_bundle(&official("alipayRootCert.crt")).unwrap();
    assert_eq!(
        root.sn().unwrap(),
        "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
    );
}

/// The same certificate, its base64 laid out as people and tools do: 76 or 64 columns,
/// one line, trailing spaces, CRLF line ends.
#[test]
fn a_certificate_s_base64_is_read_whatever_its_line_layout() {
    let file = pem("official/appCertPublicKey_2021001161683774.crt");
    let begin = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    let body: String = file[file.find(begin).unwrap() + begin.len()..file.find(end).unwrap()]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let wrapped = |width: usize, line_end: &str| {
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "{begin}{line_end}{}{line_end}{end}{line_end}",
            lines.join(line_end)
        )
    };
    let layouts = [
        wrapped(64, "\n"),
        wrapped(76, "\r\n"),
        wrapped(body.len(), "\n"),
        wrapped(64, "  \n"),
        format!("{begin}{body}{end}"),
    ];
    for layout in layouts {
        let sn = CertSn::of_pem(&layout).unwrap_or_else(|e| panic!("{e}: {layout}"));
        assert_eq!(sn.sn(), "866efef280dec9137a87d047ac446315");
    }
    let cut = format!("{begin}\n{body}\n");
    let err = CertSn::of_pem(&cut).unwrap_err();
    assert!(err.to_string().contains("END CERTIFICATE"), "{err}");
}

/// keys/: the DEV certificates of the simulator's certificate mode (scripts/dev-certs.sh).
fn dev_file(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/../../keys/{name}")).unwrap()
}

#[test]
fn the_dev_certificates_carry_the_dev_public_keys() {
    use payport_alipay_crypto::{public_key_of_pem, PublicKey};
    for (cert, key) in [
        ("dev_alipay_cert.pem", "dev_alipay_public_spki.pem"),
        ("dev_app_cert.pem", "dev_app_public_spki.pem"),
    ] {
        let from_cert = public_key_of_pem(&dev_file(cert)).unwrap();
        let key = PublicKey::parse(&dev_file(key)).unwrap();
        assert_eq!(from_cert.modulus(), key.modulus(), "{cert}");
    }
}

#[test]
fn the_dev_root_bundle_counts_its_rsa_root_only() {
    let bundle = RootCertSn::of_bundle(&dev_file("dev_alipay_root_bundle.pem")).unwrap();
    let included: Vec<bool> = bundle
        .certificates()
        .iter()
        .map(CertSn::counts_for_root)
        .collect();
    assert_eq!(
        included,
        [false, true],
        "an EC root first, then the RSA root"
    );
    let root = CertSn::of_pem(&dev_file("dev_root_ca.pem")).unwrap();
    assert_eq!(bundle.sn().unwrap(), root.sn());
}

#[test]
fn a_key_that_is_not_rsa_is_refused_with_the_reason() {
    let ec = std::fs::read_to_string(format!("{DIR}/ecdsa_sha384.pem")).unwrap();
    let e = payport_alipay_crypto::public_key_of_pem(&ec).unwrap_err();
    assert!(matches!(e, CertError::Key(_)), "{e}");
}

#[test]
fn only_a_current_certificate_signed_by_a_root_of_the_bundle_is_trusted() {
    use payport_alipay_crypto::check_issued_by;
    let bundle = dev_file("dev_alipay_root_bundle.pem");
    let now = 1_830_000_000; // December 2027, after the DEV certificates were made
    for cert in [
        "dev_alipay_cert.pem",
        "dev_alipay_rotated_cert.pem",
        "dev_app_cert.pem",
    ] {
        check_issued_by(&dev_file(cert), &bundle, now).unwrap();
    }
    let refused = |pem: &str, at: u64| match check_issued_by(pem, &bundle, at) {
        Err(CertError::NotTrusted(why)) => why,
        other => panic!("{other:?}"),
    };
    // Self-signed, by no root of the bundle.
    let stranger = std::fs::read_to_string(format!("{DIR}/alipay_like.pem")).unwrap();
    assert!(refused(&stranger, now).contains("no certificate of the root file"));
    // Before it was issued, and long after it expired.
    let alipay = dev_file("dev_alipay_cert.pem");
    assert!(refused(&alipay, 1_000_000_000).contains("valid from"));
    assert!(refused(&alipay, 4_000_000_000).contains("valid from"));
    // The root bundle of the vectors does not hold the DEV root.
    let other_roots = std::fs::read_to_string(format!("{DIR}/root_bundle.pem")).unwrap();
    assert!(check_issued_by(&alipay, &other_roots, now).is_err());
}
