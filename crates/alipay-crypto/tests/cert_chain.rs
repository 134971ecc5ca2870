//! Trusting a certificate Alipay hands out at a rotation: the chain from it, through
//! the CAs after it in its file, to a root of the root file, each link's signature
//! checked with its issuer's key (keys/ and testdata/cert-mode/, scripts/dev-certs.sh).

// Test code: an unwrap is the assertion (clippy.toml allows it only inside #[test] fns).
#![allow(clippy::unwrap_used)]

use payport_alipay_crypto::{check_issued_by, CertError};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const NOW: u64 = 1_830_000_000; // December 2027, after the DEV certificates were made

fn file(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap()
}

fn refused(pem: &str) -> String {
    match check_issued_by(pem, &file("keys/dev_alipay_root_bundle.pem"), NOW) {
        Err(CertError::NotTrusted(why)) => why,
        other => panic!("{other:?}"),
    }
}

#[test]
fn alipays_certificate_is_trusted_through_the_intermediate_that_follows_it() {
    let bundle = file("keys/dev_alipay_root_bundle.pem");
    for cert in ["dev_alipay_cert.pem", "dev_alipay_rotated_cert.pem"] {
        let pem = file(&format!("keys/{cert}"));
        assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "{cert}");
        check_issued_by(&pem, &bundle, NOW).unwrap();
        // Without the intermediate, the leaf does not reach a root.
        let leaf = &pem[..pem.find("-----END CERTIFICATE-----").unwrap() + 25];
        assert!(refused(leaf).contains("signed by no certificate of the root file"));
    }
}

#[test]
fn a_certificate_whose_issuer_name_is_right_but_not_its_signature_is_refused() {
    // Issuer named as the DEV root, signed by another key.
    refused(&file("testdata/cert-mode/forged_root_name.pem"));
    // Issuer named as the DEV intermediate (which follows it), signed by another key.
    refused(&file("testdata/cert-mode/forged_intermediate_name.pem"));
}

#[test]
fn a_chain_through_a_certificate_that_is_not_a_ca_is_refused() {
    // Signed by a leaf of the real intermediate: every signature verifies, but a leaf
    // may not issue certificates.
    refused(&file("testdata/cert-mode/issued_by_a_leaf.pem"));
}

#[test]
fn an_expired_intermediate_or_leaf_is_refused() {
    let pem = file("keys/dev_alipay_cert.pem");
    let bundle = file("keys/dev_alipay_root_bundle.pem");
    for at in [1_000_000_000, 4_000_000_000] {
        match check_issued_by(&pem, &bundle, at) {
            Err(CertError::NotTrusted(why)) => assert!(why.contains("valid from"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
