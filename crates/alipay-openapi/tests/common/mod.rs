//! Shared by the integration tests: the conformance vectors and their DEV-only keys
//! under `testdata/vectors/` (made with Alipay's official SDK; see its README).

#![allow(dead_code)] // each test binary uses a different part

pub use payport_test_support::vectors::*;
use serde_json::Value;

/// A JSON object of strings as `(name, value)` pairs, in file order.
pub fn string_pairs(object: &Value) -> Vec<(String, String)> {
    object
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// Form-encodes pairs the way a sender would: every byte outside the unreserved set
/// as `%XX`, and spaces as `+`.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}
