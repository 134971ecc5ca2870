//! The string to sign for an OpenAPI request (PROTOCOL.md A2).
//!
//! Contract of [`request_sign_content`]: every param except `sign` (`sign_type` stays
//! in); pairs with an empty key or an empty value are dropped; pairs sorted by key in
//! byte order (then by value, only to make duplicate keys deterministic); `k=v` joined
//! with `&`; values raw, never URL-encoded (`biz_content` is the exact JSON text sent).
//!
//! Empty values: payport follows Alipay's documented rule and the Java SDK
//! (`AlipaySignature.getSignContent`, "剔除值为空的参数"), i.e. it drops them. The
//! official Node and Python SDKs keep `k=` instead, so the conformance vectors carry both
//! (`string_to_sign_drop_empty` is ours). The request builder never sends an empty
//! value, which makes the two rules agree on the wire.

/// The exact text that is signed for a request with these params.
pub fn request_sign_content<I, K, V>(params: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut pairs: Vec<(K, V)> = params
        .into_iter()
        .filter(|(k, v)| {
            let (k, v) = (k.as_ref(), v.as_ref());
            k != "sign" && !k.is_empty() && !v.is_empty()
        })
        .collect();
    // str's Ord is byte order, which is what Alipay means by ASCII order.
    pairs.sort_by(|(ka, va), (kb, vb)| (ka.as_ref(), va.as_ref()).cmp(&(kb.as_ref(), vb.as_ref())));
    join_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
}

/// `k=v` pairs joined by `&`, in the given order. Shared with notification content.
pub(crate) fn join_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_sign_and_empties_keeps_sign_type_sorts_by_byte() {
        let params = [
            ("timestamp", "2024-05-13 17:49:20"),
            ("sign", "SHOULD-NOT-APPEAR"),
            ("sign_type", "RSA2"),
            ("app_auth_token", ""),
            ("", "orphan"),
            ("ext_1", "c"),
            ("ext1", "b"),
            ("ext", "a"),
            ("biz_content", "{\"a\":\"x&y=z %20+\"}"),
        ];
        assert_eq!(
            request_sign_content(params),
            "biz_content={\"a\":\"x&y=z %20+\"}&ext=a&ext1=b&ext_1=c&sign_type=RSA2&timestamp=2024-05-13 17:49:20"
        );
    }

    #[test]
    fn empty_input_gives_empty_string() {
        assert_eq!(request_sign_content(Vec::<(String, String)>::new()), "");
    }
}
