//! Asynchronous notifications (notify_url) and return_url parameters (PROTOCOL.md A5, A6).
//!
//! Contract of [`notify_verify_content`]: the fields after exactly one form-decoding,
//! minus `sign` and `sign_type`; sorted by name in byte order (a stable sort, so
//! repeated names keep their arrival order); `k=v` joined by `&`; values verbatim.
//!
//! Empty values are KEPT as `k=`. The SDKs disagree here (PROTOCOL.md A5); the
//! conformance vectors (testdata/vectors/README.md, case `ntf_empty_value_field`) show
//! that Alipay signs `body=` and that the Node SDK and python-alipay-sdk keep it, so
//! dropping it would break verification. The vectors win.
//! Likewise every other field stays in, `alipay_cert_sn` included (smartwalle drops it;
//! the vectors' rule is "all received fields except sign and sign_type").
//!
//! [`verify_notify`] (also `VerifierExt::verify_notify`) checks with the configured sign type only: a
//! notification whose own `sign_type` names another type is refused unverified (no
//! SHA-1 downgrade of an `RSA2` app), and one without a `sign` is invalid. A missing
//! `sign_type` field is tolerated, since the configured type is used either way.

use crate::form::{parse_form_urlencoded, FormError};
use crate::sign_content::join_pairs;
use payport_alipay_crypto::Verifier;

/// The verdict on a notification's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyVerdict {
    /// Signed by Alipay's key with the configured sign type.
    Valid,
    /// `sign` present but not a valid signature of the content.
    BadSignature,
    /// No `sign` field, or an empty one.
    MissingSign,
    /// More than one `sign` field: ambiguous, refused.
    RepeatedSign,
    /// The notification's `sign_type` is not the configured one; not verified.
    /// `received` is clipped (`payport_domain::clip`): it may be any size.
    SignTypeMismatch { received: String },
}

/// The verdict plus the exact string that was (or would have been) verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyCheck {
    pub verdict: NotifyVerdict,
    /// The content per [`notify_verify_content`], for diagnostics.
    pub content: String,
}

impl NotifyCheck {
    /// True only for [`NotifyVerdict::Valid`]: nothing else in a notification is believed.
    pub fn is_valid(&self) -> bool {
        self.verdict == NotifyVerdict::Valid
    }
}

/// The string Alipay signed for a notification with these (once-decoded) fields.
pub fn notify_verify_content(fields: &[(String, String)]) -> String {
    let mut kept: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| *k != "sign" && *k != "sign_type")
        .collect();
    kept.sort_by(|a, b| a.0.cmp(b.0));
    join_pairs(kept.into_iter())
}

/// Verifies a notification (or return_url query) from its once-decoded fields, with
/// `verifier` (Alipay's public key, configured sign type).
pub fn verify_notify(verifier: &Verifier, fields: &[(String, String)]) -> NotifyCheck {
    let content = notify_verify_content(fields);
    let verdict = notify_verdict(verifier, fields, &content);
    NotifyCheck { verdict, content }
}

/// Decodes a raw form body once ([`parse_form_urlencoded`]) and verifies it.
///
/// # Errors
/// [`FormError`] if the body cannot be decoded exactly.
pub fn verify_notify_body(verifier: &Verifier, body: &[u8]) -> Result<NotifyCheck, FormError> {
    Ok(verify_notify(verifier, &parse_form_urlencoded(body)?))
}

fn notify_verdict(
    verifier: &Verifier,
    fields: &[(String, String)],
    content: &str,
) -> NotifyVerdict {
    let mut signs = fields.iter().filter(|(k, _)| k == "sign");
    let sign = match (signs.next(), signs.next()) {
        (None, _) => return NotifyVerdict::MissingSign,
        (Some(_), Some(_)) => return NotifyVerdict::RepeatedSign,
        (Some((_, sign)), None) if sign.is_empty() => return NotifyVerdict::MissingSign,
        (Some((_, sign)), None) => sign,
    };
    let expected = verifier.sign_type().as_str();
    if let Some((_, other)) = fields
        .iter()
        .find(|(k, v)| k == "sign_type" && v != expected)
    {
        return NotifyVerdict::SignTypeMismatch {
            received: payport_domain::clip::clip(other),
        };
    }
    if verifier.verify(content.as_bytes(), sign) {
        NotifyVerdict::Valid
    } else {
        NotifyVerdict::BadSignature
    }
}
