//! Alipay's side of the signature rules, written from PROTOCOL.md (A2, A5), not from
//! payport's adapter: requests are verified over every parameter but `sign` (with
//! `sign_type`), empty values dropped; what Alipay signs for notifications and returns
//! leaves out `sign` and `sign_type` and keeps empty values.

/// Sorted by key bytes, `k=v` joined by `&`, raw values.
fn join(mut pairs: Vec<(&str, &str)>) -> String {
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The string a merchant's request signature covers (A2).
pub fn request_content(params: &[(String, String)]) -> String {
    join(
        params
            .iter()
            .filter(|(k, v)| k != "sign" && !k.is_empty() && !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    )
}

/// The string Alipay signs for a notification or a return (A5).
pub fn notify_content(fields: &[(String, String)]) -> String {
    join(
        fields
            .iter()
            .filter(|(k, _)| k != "sign" && k != "sign_type")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    )
}

/// Form-encodes pairs (`+` for spaces).
pub fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

/// Decodes a query string or form body once.
pub fn decode(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text).into_owned().collect()
}

/// Legacy mapi MD5 (B2): drop `sign`, `sign_type` and empty values, sort, join, append
/// the key with no separator, lowercase hex.
pub fn md5_sign(params: &[(String, String)], key: &str) -> (String, String) {
    use md5::{Digest, Md5};
    let content = join(
        params
            .iter()
            .filter(|(k, v)| k != "sign" && k != "sign_type" && !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    );
    let digest = Md5::digest(format!("{content}{key}").as_bytes());
    (content, hex::encode(digest))
}
