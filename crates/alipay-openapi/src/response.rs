//! Synchronous gateway responses: find the signed span and check it (PROTOCOL.md A4).
//!
//! Contract of [`extract_response`], for a body shaped
//! `{"<method dots→underscores>_response":{…}[,"alipay_cert_sn":"…"],"sign":"…"}`:
//! - the node is the top-level `<method>_response` member, or else `error_response`;
//! - the signed content is the raw text of that node's object, from its `{` to the
//!   matching `}` found by a JSON-string-aware scan (the private `json_scan` module), never
//!   re-serialised;
//! - the body is refused if the node name appears anywhere outside that span other
//!   than as its own key (the EASY SDK's "repeated node" check, extended to text before
//!   the node), if both nodes are present, or if `sign` appears twice: whatever a later
//!   JSON parser would pick must be the span that was verified. Member names compare
//!   as a JSON parser reads them, escapes decoded (`"\u0073ign"` is `sign`);
//! - `sign` is the top-level member's string value (JSON escapes such as `\/` decoded).
//!
//! [`verify_response`] (also `VerifierExt::verify_response`) checks `sign` over the content with the configured sign
//! type; if that fails and the content contains `\/`, it retries once with `\/` replaced
//! by `/` (Java SDK `checkResponseSign`). A response without `sign` (or with `""`) is
//! [`ResponseCheck::Unsigned`]: Alipay does not sign some errors, so the caller may
//! believe from it only that the call failed, never a success (PROTOCOL.md A4).

use crate::json_scan::{top_level_members, unescape, Member};
use payport_alipay_crypto::Verifier;

const ERROR_NODE: &str = "error_response";

/// Which node carried the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseNode {
    /// `<method>_response`, e.g. `alipay_trade_refund_response`.
    Method,
    /// `error_response` (old-style gateway errors).
    Error,
}

/// A response body taken apart, before any signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedResponse<'a> {
    pub node: ResponseNode,
    /// Raw text of the node's object: what Alipay signed, and what to parse.
    pub content: &'a str,
    /// The decoded top-level `sign`; `None` if absent or empty.
    pub sign: Option<String>,
    /// The decoded top-level `alipay_cert_sn` (certificate mode), if present.
    pub alipay_cert_sn: Option<String>,
}

/// The outcome of [`verify_response`]. Only `Verified` content is Alipay's word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseCheck<'a> {
    Verified {
        node: ResponseNode,
        content: &'a str,
        /// True if it verified only after replacing `\/` with `/` (Java SDK fallback).
        slashes_unescaped: bool,
    },
    /// `sign` present but not valid for the content: believe nothing.
    BadSignature {
        node: ResponseNode,
        content: &'a str,
    },
    /// No `sign`: believe at most that the call failed.
    Unsigned {
        node: ResponseNode,
        content: &'a str,
    },
}

impl<'a> ResponseCheck<'a> {
    pub fn is_verified(&self) -> bool {
        matches!(self, ResponseCheck::Verified { .. })
    }

    pub fn node(&self) -> ResponseNode {
        match self {
            ResponseCheck::Verified { node, .. }
            | ResponseCheck::BadSignature { node, .. }
            | ResponseCheck::Unsigned { node, .. } => *node,
        }
    }

    /// The raw node text, whatever the verdict (for diagnostics, or parsing if verified).
    pub fn content(&self) -> &'a str {
        match self {
            ResponseCheck::Verified { content, .. }
            | ResponseCheck::BadSignature { content, .. }
            | ResponseCheck::Unsigned { content, .. } => content,
        }
    }
}

/// Why a body could not be taken apart. The body is not quoted in any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("method {0:?} is not an Alipay method name")]
    BadMethod(String),
    #[error("the response body is not one JSON object: {0}")]
    NotJson(&'static str),
    #[error("the response has neither \"{node}\" nor \"error_response\"")]
    NoNode { node: String },
    #[error("the response has both \"{node}\" and \"error_response\"")]
    BothNodes { node: String },
    #[error("the response repeats \"{node}\" outside its signed object; refused")]
    RepeatedNode { node: String },
    #[error("\"{node}\" is not a JSON object (encrypted responses are not supported)")]
    NodeNotObject { node: String },
    #[error("the response has more than one top-level \"sign\"")]
    RepeatedSign,
    #[error("the top-level \"sign\" is not a valid JSON string")]
    SignNotString,
}

/// Finds the signed node, its raw content and the `sign` in a response body.
///
/// # Errors
/// [`ResponseError`] if the body is not a single JSON object with exactly one usable
/// node (see the module contract).
pub fn extract_response<'a>(
    body: &'a str,
    method: &str,
) -> Result<SignedResponse<'a>, ResponseError> {
    if method.is_empty()
        || !method
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
    {
        return Err(ResponseError::BadMethod(method.chars().take(80).collect()));
    }
    let method_node = format!("{}_response", method.replace('.', "_"));
    let members = top_level_members(body).map_err(ResponseError::NotJson)?;
    // Names as a JSON parser reads them: `"\u0073ign"` is `sign`, so a name repeated
    // in escaped spelling is still a repeat.
    let names: Vec<String> = members
        .iter()
        .map(|m| unescape(&body[m.key.clone()]))
        .collect::<Option<_>>()
        .ok_or(ResponseError::NotJson(
            "a member name is not a valid JSON string",
        ))?;
    let named = |name: &str| -> Vec<&Member> {
        members
            .iter()
            .zip(&names)
            .filter(|(_, n)| *n == name)
            .map(|(m, _)| m)
            .collect()
    };

    let with_method = named(&method_node);
    let with_error = named(ERROR_NODE);
    let (node, name, member) = match (with_method.as_slice(), with_error.as_slice()) {
        ([m], []) => (ResponseNode::Method, method_node.as_str(), *m),
        ([], [m]) => (ResponseNode::Error, ERROR_NODE, *m),
        ([], []) => return Err(ResponseError::NoNode { node: method_node }),
        ([_], [_]) => return Err(ResponseError::BothNodes { node: method_node }),
        ([_, _, ..], _) => return Err(ResponseError::RepeatedNode { node: method_node }),
        (_, _) => {
            return Err(ResponseError::RepeatedNode {
                node: ERROR_NODE.to_owned(),
            })
        }
    };

    // The name may occur only as this member's key and inside its own span.
    let before = &body[..member.value.start];
    let after = &body[member.value.end..];
    if before.find(name) != Some(member.key.start) || after.contains(name) {
        return Err(ResponseError::RepeatedNode {
            node: name.to_owned(),
        });
    }
    if body.as_bytes().get(member.value.start) != Some(&b'{') {
        return Err(ResponseError::NodeNotObject {
            node: name.to_owned(),
        });
    }

    let sign = match named("sign").as_slice() {
        [] => None,
        [_, _, ..] => return Err(ResponseError::RepeatedSign),
        [m] => {
            let sign = string_value(body, m).ok_or(ResponseError::SignNotString)?;
            (!sign.is_empty()).then_some(sign)
        }
    };
    let alipay_cert_sn = named("alipay_cert_sn")
        .first()
        .and_then(|m| string_value(body, m));

    Ok(SignedResponse {
        node,
        content: &body[member.value.clone()],
        sign,
        alipay_cert_sn,
    })
}

/// The decoded value of a member whose value is a JSON string.
fn string_value(body: &str, m: &Member) -> Option<String> {
    let raw = &body[m.value.clone()];
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    unescape(inner)
}

/// Takes a gateway response apart ([`extract_response`]) and checks its signature
/// with `verifier` (Alipay's public key, configured sign type).
///
/// # Errors
/// [`ResponseError`] if the body cannot be taken apart; a bad or missing signature
/// is not an error but a [`ResponseCheck`].
pub fn verify_response<'a>(
    verifier: &Verifier,
    body: &'a str,
    method: &str,
) -> Result<ResponseCheck<'a>, ResponseError> {
    let SignedResponse {
        node,
        content,
        sign,
        ..
    } = extract_response(body, method)?;
    let Some(sign) = sign else {
        return Ok(ResponseCheck::Unsigned { node, content });
    };
    if verifier.verify(content.as_bytes(), &sign) {
        return Ok(ResponseCheck::Verified {
            node,
            content,
            slashes_unescaped: false,
        });
    }
    // Java SDK checkResponseSign: some gateway paths signed the text before JSON
    // escaping of '/', so retry once with "\/" read as "/".
    if content.contains("\\/") && verifier.verify(content.replace("\\/", "/").as_bytes(), &sign) {
        return Ok(ResponseCheck::Verified {
            node,
            content,
            slashes_unescaped: true,
        });
    }
    Ok(ResponseCheck::BadSignature { node, content })
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "alipay.trade.refund";

    #[test]
    fn method_node_content_sign_and_cert_sn() {
        let body = r#"{"alipay_trade_refund_response":{"code":"10000","s":"a}b\"{"},"alipay_cert_sn":"abc","sign":"x\/y=="}"#;
        let r = extract_response(body, M).unwrap();
        assert_eq!(r.node, ResponseNode::Method);
        assert_eq!(r.content, r#"{"code":"10000","s":"a}b\"{"}"#);
        assert_eq!(r.sign.as_deref(), Some("x/y=="));
        assert_eq!(r.alipay_cert_sn.as_deref(), Some("abc"));
    }

    #[test]
    fn error_node_and_unsigned() {
        let body = r#"{"error_response":{"code":"40002","sub_code":"isv.invalid-app-id"}}"#;
        let r = extract_response(body, M).unwrap();
        assert_eq!(r.node, ResponseNode::Error);
        assert_eq!(r.sign, None);
        let r = extract_response(r#"{"error_response":{"code":"40002"},"sign":""}"#, M).unwrap();
        assert_eq!(r.sign, None, "an empty sign is no signature");
    }

    #[test]
    fn repeated_node_after_the_span_is_refused() {
        // EASY SDK's case: a second node after the signed one (duplicate key).
        let body = r#"{"alipay_trade_refund_response":{"code":"10000"},"alipay_trade_refund_response":{"code":"10000","refund_fee":"999"},"sign":"eA=="}"#;
        assert_eq!(
            extract_response(body, M),
            Err(ResponseError::RepeatedNode {
                node: "alipay_trade_refund_response".into()
            })
        );
        // The name hidden in another top-level member after the node.
        let body = r#"{"alipay_trade_refund_response":{"code":"10000"},"x":{"alipay_trade_refund_response":{}},"sign":"eA=="}"#;
        assert!(matches!(
            extract_response(body, M),
            Err(ResponseError::RepeatedNode { .. })
        ));
        // ... or before it.
        let body = r#"{"x":{"alipay_trade_refund_response":{}},"alipay_trade_refund_response":{"code":"10000"},"sign":"eA=="}"#;
        assert!(matches!(
            extract_response(body, M),
            Err(ResponseError::RepeatedNode { .. })
        ));
    }

    #[test]
    fn names_written_with_escapes_are_the_same_names() {
        // A JSON parser reads `\u0061lipay_...` as the node's name, and keeps the last
        // of two equal names: here the second, unsigned object.
        let body = r#"{"alipay_trade_refund_response":{"code":"10000"},"\u0061lipay_trade_refund_response":{"code":"10000","refund_fee":"999"},"sign":"eA=="}"#;
        assert!(matches!(
            extract_response(body, M),
            Err(ResponseError::RepeatedNode { .. })
        ));
        let both = r#"{"alipay_trade_refund_response":{},"error_\u0072esponse":{},"sign":"eA=="}"#;
        assert!(matches!(
            extract_response(both, M),
            Err(ResponseError::BothNodes { .. })
        ));
        let two_signs = r#"{"alipay_trade_refund_response":{},"sign":"eA==","\u0073ign":"eQ=="}"#;
        assert_eq!(
            extract_response(two_signs, M),
            Err(ResponseError::RepeatedSign)
        );
        let bad_name = r#"{"alipay_trade_refund_response":{},"\x":1}"#;
        assert!(matches!(
            extract_response(bad_name, M),
            Err(ResponseError::NotJson(_))
        ));
    }

    #[test]
    fn name_inside_its_own_span_is_fine() {
        let body = r#"{"alipay_trade_refund_response":{"msg":"alipay_trade_refund_response"},"sign":"eA=="}"#;
        assert!(extract_response(body, M).is_ok());
    }

    #[test]
    fn other_refusals() {
        let both = r#"{"alipay_trade_refund_response":{},"error_response":{},"sign":"eA=="}"#;
        assert!(matches!(
            extract_response(both, M),
            Err(ResponseError::BothNodes { .. })
        ));
        let none = r#"{"alipay_trade_query_response":{},"sign":"eA=="}"#;
        assert!(matches!(
            extract_response(none, M),
            Err(ResponseError::NoNode { .. })
        ));
        let two_signs = r#"{"alipay_trade_refund_response":{},"sign":"eA==","sign":"eQ=="}"#;
        assert_eq!(
            extract_response(two_signs, M),
            Err(ResponseError::RepeatedSign)
        );
        let encrypted = r#"{"alipay_trade_refund_response":"BASE64CIPHERTEXT","sign":"eA=="}"#;
        assert!(matches!(
            extract_response(encrypted, M),
            Err(ResponseError::NodeNotObject { .. })
        ));
        let sign_number = r#"{"alipay_trade_refund_response":{},"sign":12}"#;
        assert_eq!(
            extract_response(sign_number, M),
            Err(ResponseError::SignNotString)
        );
        assert!(matches!(
            extract_response("<html>502</html>", M),
            Err(ResponseError::NotJson(_))
        ));
        assert!(matches!(
            extract_response("{}", "alipay.trade\"x"),
            Err(ResponseError::BadMethod(_))
        ));
    }
}
