//! MD5 signing and verification (PROTOCOL.md B2), byte for byte as in
//! `testdata/vectors/mapi_md5.json`.
//!
//! 1. drop `sign`, `sign_type` and empty values;
//! 2. sort by key (bytes) and join the raw values as `k=v&…`;
//! 3. append the key with no separator and take the MD5 of the UTF-8 bytes;
//! 4. write it in lowercase hex (uppercase is ILLEGAL_SIGN);
//! 5. send it as `sign`, with `sign_type=MD5` (uppercase) beside it, unsigned.
//!
//! Requests and notifications use the same string, so one function builds both.

// `::` because this module shares the md-5 crate's name.
use ::md5::{Digest, Md5};

use crate::key::Md5Key;

/// The only sign type payport speaks on mapi (B5's RSA/DSA are not supported).
pub const SIGN_TYPE: &str = "MD5";

/// The most fields a received message may have. A real `batch_refund_notify` has 8
/// (B4); anything far beyond is not from Alipay and is refused before any work on it.
pub const MAX_FIELDS: usize = 64;

/// B2 steps 1–2: the string that is signed (without the key).
pub fn string_to_sign<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut kept: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, v)| *k != "sign" && *k != "sign_type" && !v.is_empty())
        .collect();
    // Stable, so that equal keys (refused by callers that receive them) keep their order.
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in kept.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// B2 steps 3–4: lowercase hex `md5(string_to_sign + key)`.
pub fn sign(string_to_sign: &str, key: &Md5Key) -> String {
    let mut hasher = Md5::new();
    hasher.update(string_to_sign.as_bytes());
    hasher.update(key.expose().as_bytes());
    hex::encode(hasher.finalize())
}

/// A parameter set with its `sign` and `sign_type` added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Every non-empty parameter in the given order, then `sign_type` and `sign`.
    pub params: Vec<(String, String)>,
    /// What was hashed before the key was appended (safe to log: no key in it).
    pub string_to_sign: String,
}

/// Signs parameters for a request. Empty values, and any `sign`/`sign_type` already in
/// `params`, are left out: B2 does not sign them, so they are not sent either.
pub fn sign_params(params: &[(String, String)], key: &Md5Key) -> Signed {
    let string_to_sign = string_to_sign(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let sign = sign(&string_to_sign, key);
    let mut out: Vec<(String, String)> = params
        .iter()
        .filter(|(k, v)| k != "sign" && k != "sign_type" && !v.is_empty())
        .cloned()
        .collect();
    out.push(("sign_type".to_owned(), SIGN_TYPE.to_owned()));
    out.push(("sign".to_owned(), sign));
    Signed {
        params: out,
        string_to_sign,
    }
}

/// Why received fields did or did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// The `sign` is not the MD5 of these fields with this key.
    BadSign,
    MissingSign,
    /// `sign_type` is absent or not exactly `MD5`.
    WrongSignType,
    /// A field appears twice: which value Alipay signed cannot be known.
    DuplicateField,
    /// More than [`MAX_FIELDS`] fields: not a message Alipay sends; not looked at.
    TooManyFields,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::BadSign => "bad_sign",
            Verdict::MissingSign => "missing_sign",
            Verdict::WrongSignType => "wrong_sign_type",
            Verdict::DuplicateField => "duplicate_field",
            Verdict::TooManyFields => "too_many_fields",
        }
    }
}

/// The result of checking received fields, with the string that was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub verdict: Verdict,
    pub string_to_verify: String,
}

impl Check {
    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }
}

/// Checks the `sign` of received fields (a notification, or a request in tests), as
/// decoded once from the form. Only the local MD5 half of B4's verification: the
/// `notify_verify` call is the gateway's.
pub fn verify(fields: &[(String, String)], key: &Md5Key) -> Check {
    if fields.len() > MAX_FIELDS {
        return Check {
            verdict: Verdict::TooManyFields,
            string_to_verify: String::new(),
        };
    }
    let string_to_verify = string_to_sign(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let verdict = verdict(fields, &string_to_verify, key);
    Check {
        verdict,
        string_to_verify,
    }
}

fn verdict(fields: &[(String, String)], string_to_verify: &str, key: &Md5Key) -> Verdict {
    // One pass with a set: comparing each field with every earlier one was quadratic
    // in what an anonymous caller sends.
    let mut seen = std::collections::HashSet::with_capacity(fields.len());
    if !fields.iter().all(|(k, _)| seen.insert(k.as_str())) {
        return Verdict::DuplicateField;
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("sign_type") != Some(SIGN_TYPE) {
        return Verdict::WrongSignType;
    }
    let Some(received) = get("sign").filter(|s| !s.is_empty()) else {
        return Verdict::MissingSign;
    };
    // Exact match: Alipay sends lowercase, and anything else was not made by B2.
    if constant_time_eq(received.as_bytes(), sign(string_to_verify, key).as_bytes()) {
        Verdict::Valid
    } else {
        Verdict::BadSign
    }
}

/// Compares without an early exit, so response time says nothing about the expected sign.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Md5Key {
        Md5Key::new("k3v9x0m2q8w4e7r1t6y5u0i9o3p2a8s4").unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn drops_sign_sign_type_and_empty_values_and_sorts_by_byte() {
        let p = pairs(&[
            ("b", "2"),
            ("sign", "x"),
            ("a", "1"),
            ("sign_type", "MD5"),
            ("empty", ""),
            ("B", "upper sorts first"),
            ("_input_charset", "utf-8"),
        ]);
        assert_eq!(
            string_to_sign(p.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            "B=upper sorts first&_input_charset=utf-8&a=1&b=2"
        );
    }

    #[test]
    fn sign_params_adds_sign_type_and_lowercase_sign_and_drops_empty() {
        let signed = sign_params(&pairs(&[("a", "1"), ("empty", "")]), &key());
        assert_eq!(signed.string_to_sign, "a=1");
        assert_eq!(signed.params[0], ("a".into(), "1".into()));
        assert_eq!(signed.params[1], ("sign_type".into(), "MD5".into()));
        let sign = &signed.params[2].1;
        assert_eq!(sign.len(), 32);
        assert!(sign
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
        assert_eq!(signed.params.len(), 3);
    }

    #[test]
    fn verdicts() {
        let signed = sign_params(&pairs(&[("a", "1"), ("b", "测试")]), &key());
        assert_eq!(verify(&signed.params, &key()).verdict, Verdict::Valid);
        let mut upper = signed.params.clone();
        upper[3].1 = upper[3].1.to_uppercase();
        assert_eq!(verify(&upper, &key()).verdict, Verdict::BadSign);
        let mut rsa = signed.params.clone();
        rsa[2].1 = "RSA".into();
        assert_eq!(verify(&rsa, &key()).verdict, Verdict::WrongSignType);
        let mut lower = signed.params.clone();
        lower[2].1 = "md5".into();
        assert_eq!(verify(&lower, &key()).verdict, Verdict::WrongSignType);
        let no_sign: Vec<_> = signed.params[..3].to_vec();
        assert_eq!(verify(&no_sign, &key()).verdict, Verdict::MissingSign);
        let mut twice = signed.params.clone();
        twice.push(("a".into(), "2".into()));
        assert_eq!(verify(&twice, &key()).verdict, Verdict::DuplicateField);
        let other = Md5Key::new("another-key").unwrap();
        assert_eq!(verify(&signed.params, &other).verdict, Verdict::BadSign);
    }

    #[test]
    fn sixty_thousand_empty_fields_are_refused_by_the_field_cap() {
        let flood = vec![(String::new(), String::new()); 60_000];
        let check = verify(&flood, &key());
        assert_eq!(check.verdict.as_str(), "too_many_fields");
        assert!(check.string_to_verify.is_empty());
        // Up to the cap every field is still read, and a repeat is still found.
        let mut fields: Vec<(String, String)> =
            (0..63).map(|i| (format!("f{i}"), "v".to_owned())).collect();
        fields.push(("f0".into(), "w".into()));
        assert_eq!(fields.len(), MAX_FIELDS);
        assert_eq!(verify(&fields, &key()).verdict.as_str(), "duplicate_field");
        fields.pop();
        fields.push(("f63".into(), "w".into()));
        assert_eq!(verify(&fields, &key()).verdict.as_str(), "wrong_sign_type");
    }
}
