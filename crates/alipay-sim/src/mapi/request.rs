//! A mapi request's parameters and their authentication (PROTOCOL.md B1, B2).
//!
//! Parameters come from the URL query and the form body, each decoded once. A key
//! sent in both places (or twice) with different values is refused as ILLEGAL_SIGN:
//! the gateway reads one of them, so the merchant's signature covers other bytes than
//! the ones checked (A3, B1). `_input_charset` must be in the URL: without it the real
//! gateway decodes a POST body in its default charset and the signature breaks (B1).

use crate::signing::{decode, md5_sign};
use crate::sim::Simulator;

pub(crate) const PWD: &str = "refund_fastpay_by_platform_pwd";
pub(crate) const NOPWD: &str = "refund_fastpay_by_platform_nopwd";
pub(crate) const NOTIFY_VERIFY: &str = "notify_verify";

/// The merged parameters of one request.
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
    /// Keys present in the URL query.
    query_keys: Vec<String>,
    /// A key that was sent with two different values.
    conflict: Option<String>,
}

impl Params {
    pub fn collect(query: &str, body: &[u8]) -> Params {
        let from_query = decode(query.as_bytes());
        let query_keys = from_query.iter().map(|(k, _)| k.clone()).collect();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut conflict = None;
        for (key, value) in from_query.into_iter().chain(decode(body)) {
            match pairs.iter().find(|(k, _)| *k == key) {
                // The same value twice (the official demo repeats `_input_charset` in
                // the URL and the form) is one parameter.
                Some((_, seen)) if *seen == value => {}
                Some(_) => conflict = conflict.or(Some(key)),
                None => pairs.push((key, value)),
            }
        }
        Params {
            pairs,
            query_keys,
            conflict,
        }
    }

    /// The value of `key`; an empty value counts as absent (B2 drops empty values).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn has_conflict(&self) -> bool {
        self.conflict.is_some()
    }
}

/// Checks what the gateway checks before a service runs, in its order: partner,
/// charset, sign type, signature. `Err` is the mapi error code.
pub(crate) fn authenticate(sim: &Simulator, params: &Params) -> Result<(), &'static str> {
    let mapi = &sim.config().mapi;
    if params.get("partner") != Some(mapi.partner.as_str()) {
        return Err("ILLEGAL_PARTNER");
    }
    match params.get("_input_charset") {
        // The simulator speaks UTF-8 only, as payport does (B1: one identical string
        // everywhere). Alipay itself would also take GBK.
        Some(charset) if !charset.eq_ignore_ascii_case("utf-8") => return Err("ILLEGAL_CHARSET"),
        Some(_) if params.query_keys.iter().any(|k| k == "_input_charset") => {}
        // Missing from the URL: the body would be decoded in the default charset (B1).
        _ => return Err("ILLEGAL_SIGN"),
    }
    if params.has_conflict() {
        return Err("ILLEGAL_SIGN");
    }
    // B2 step 5: `MD5` in uppercase; RSA/DSA (B5) are not simulated.
    if params.get("sign_type") != Some("MD5") {
        return Err("ILLEGAL_SIGN_TYPE");
    }
    let (_, expected) = md5_sign(&params.pairs, &mapi.md5_key);
    // Exact comparison: uppercase hex is ILLEGAL_SIGN at Alipay (B2 step 4).
    if params.get("sign") != Some(expected.as_str()) {
        return Err("ILLEGAL_SIGN");
    }
    Ok(())
}
