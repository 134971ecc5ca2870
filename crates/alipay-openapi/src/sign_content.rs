//! The string to sign for an OpenAPI request, and signing it (PROTOCOL.md A2).
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

use payport_alipay_crypto::{SignError, SignType, Signer};

/// Why request params could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestSignError {
    #[error("the request has no sign_type param; it is signed, so it must be sent")]
    MissingSignType,
    #[error("the request's sign_type is {found:?} but this signer signs {expected}")]
    SignTypeMismatch { found: String, expected: SignType },
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Signs request params: [`request_sign_content`], then `Signer::sign`. Returns the
/// value of the `sign` param. The params' own `sign_type` must equal the signer's,
/// since that value is signed and Alipay checks the signature with the algorithm it
/// names.
///
/// # Errors
/// [`RequestSignError::MissingSignType`] / [`RequestSignError::SignTypeMismatch`] if
/// the params' `sign_type` is not the signer's, [`RequestSignError::Sign`] if the
/// backend fails.
pub fn sign_request<I, K, V>(signer: &Signer, params: I) -> Result<String, RequestSignError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let params: Vec<(K, V)> = params.into_iter().collect();
    let mut sign_type_seen = false;
    for (k, v) in &params {
        if k.as_ref() == "sign_type" {
            sign_type_seen = true;
            if v.as_ref() != signer.sign_type().as_str() {
                return Err(RequestSignError::SignTypeMismatch {
                    found: v.as_ref().to_owned(),
                    expected: signer.sign_type(),
                });
            }
        }
    }
    if !sign_type_seen {
        return Err(RequestSignError::MissingSignType);
    }
    Ok(signer.sign(request_sign_content(params).as_bytes())?)
}

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
