//! `payport alipay cert-sn` through the real binary, against the SDK vectors in
//! `testdata/cert-sn/`, as someone chasing an SN mismatch would run it.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

fn file(name: &str) -> String {
    format!(
        "{}/../../testdata/cert-sn/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(file("vectors.json")).unwrap()).unwrap()
}

/// Runs `payport alipay cert-sn args...`; returns (exit code, stdout JSON or Null, stderr).
fn cert_sn(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_payport"))
        .args(["alipay", "cert-sn"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cert_prints_every_vectors_sn_with_the_issuer_string_it_hashed() {
    let v = vectors();
    for case in v["certs"].as_array().unwrap() {
        let name = case["file"].as_str().unwrap();
        let (code, out, err) = cert_sn(&["--cert", &file(name)]);
        assert_eq!(code, 0, "{name}: {err}");
        let java = &case["java"];
        assert_eq!(out["sn"], java["sn"], "{name}");
        assert_eq!(out["issuer"], java["issuer"], "{name}");
        assert_eq!(out["serial"], java["serial_decimal"], "{name}");
        let hashed = format!(
            "{}{}",
            java["issuer"].as_str().unwrap(),
            java["serial_decimal"].as_str().unwrap()
        );
        assert_eq!(out["hashed"], hashed.as_str(), "{name}");
    }
}

#[test]
fn root_cert_lists_each_certificate_included_or_skipped_then_the_root_sn() {
    let v = vectors();
    let case = v["roots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"] == "root_bundle.pem")
        .unwrap();
    let (code, out, err) = cert_sn(&["--root-cert", &file("root_bundle.pem")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["root_sn"], case["node_root_sn"]);
    assert_eq!(out["root_sn"], case["java_root_sn"]);
    let listed = out["certificates"].as_array().unwrap();
    let want = case["certificates"].as_array().unwrap();
    assert_eq!(listed.len(), want.len());
    for (got, want) in listed.iter().zip(want) {
        assert_eq!(got["included"], want["included"]);
        assert_eq!(got["sn"], want["sn"]);
    }
    let why: Vec<&str> = listed.iter().map(|c| c["why"].as_str().unwrap()).collect();
    assert!(
        why[0].starts_with("included: signed with sha1WithRSAEncryption"),
        "{why:?}"
    );
    assert!(
        why[1].starts_with("skipped: signed with ecdsa-with-SHA384"),
        "{why:?}"
    );
}

#[test]
fn a_bundle_without_rsa_roots_lists_its_certificates_and_exits_1() {
    let (code, out, _) = cert_sn(&["--root-cert", &file("ecdsa_sha384.pem")]);
    assert_eq!(code, 1);
    assert_eq!(out["root_sn"], Value::Null);
    assert_eq!(out["certificates"][0]["included"], false);
    assert!(out["error"].as_str().unwrap().contains("RSA"), "{out}");
}

#[test]
fn unusable_input_is_exit_2_with_one_sentence() {
    let (code, _, err) = cert_sn(&["--cert", &file("README.md")]);
    assert_eq!(code, 2);
    assert!(err.contains("no certificate found"), "{err}");
    let (code, _, err) = cert_sn(&["--cert", &file("missing.pem")]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    // One of --cert and --root-cert is required (clap's usage error is also exit 2).
    let (code, _, _) = cert_sn(&[]);
    assert_eq!(code, 2);
}

#[test]
fn a_der_certificate_gives_the_same_sn_as_its_pem() {
    let (code, der, err) = cert_sn(&["--cert", &file("alipay_like.cer")]);
    assert_eq!(code, 0, "{err}");
    let (_, pem, _) = cert_sn(&["--cert", &file("alipay_like.pem")]);
    assert_eq!(der, pem);
}
