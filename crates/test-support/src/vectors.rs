//! The conformance vectors and their DEV-only keys under `testdata/vectors/` (made with
//! Alipay's official SDK; see its README), for the crypto and OpenAPI tests.

// A vector that does not load is a failed test; its panic says which file.
#![allow(clippy::unwrap_used)]

use payport_alipay_crypto::{PrivateKey, PublicKey};
use serde_json::Value;

pub const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/vectors");

pub fn vectors(file: &str) -> Value {
    let path = format!("{VECTORS}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

pub fn cases(file: &str) -> Vec<Value> {
    let cases = vectors(file)["cases"].as_array().unwrap().clone();
    assert!(!cases.is_empty(), "{file} has no cases");
    cases
}

pub fn key_text(file: &str) -> String {
    let path = format!("{VECTORS}/keys/{file}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `who`'s private key loaded from every file: PKCS#1 and PKCS#8, PEM and bare base64.
pub fn private_keys(who: &str) -> Vec<(String, PrivateKey)> {
    ["pkcs1.pem", "pkcs8.pem", "pkcs1.b64", "pkcs8.b64"]
        .iter()
        .map(|suffix| {
            let file = format!("{who}_private_{suffix}");
            let key = PrivateKey::parse(&key_text(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            (file, key)
        })
        .collect()
}

/// `who`'s public key loaded from every file: SPKI PEM and bare base64.
pub fn public_keys(who: &str) -> Vec<(String, PublicKey)> {
    ["spki.pem", "spki.b64"]
        .iter()
        .map(|suffix| {
            let file = format!("{who}_public_{suffix}");
            let key = PublicKey::parse(&key_text(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            (file, key)
        })
        .collect()
}

pub fn private_key(file: &str) -> PrivateKey {
    PrivateKey::parse(&key_text(file)).unwrap()
}

pub fn public_key(file: &str) -> PublicKey {
    PublicKey::parse(&key_text(file)).unwrap()
}

pub fn str_field<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("case {} has no string {field}", case["id"]))
}
