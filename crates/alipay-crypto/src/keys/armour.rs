//! Key text armour: a PEM block, or the bare one-line base64 body Alipay's key tool writes.
//!
//! Contract: [`decode`] turns key text into DER bytes plus the PEM label (if any) and
//! nothing more; it does not judge what the DER holds (that is [`super::der`]'s job).
//! Whitespace anywhere in the base64 is ignored, because keys arrive pasted into config
//! files with CRLF, indentation or wrapped lines. Every buffer that may hold private
//! key material is a [`Zeroizing`] one, and no error carries any of the input text.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use zeroize::Zeroizing;

/// Standard alphabet; padding optional, since pasted one-line keys sometimes lose it.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decoded key text.
pub(crate) struct Armoured {
    /// `Some("PRIVATE KEY")` for a PEM block, `None` for a bare base64 body.
    pub label: Option<String>,
    pub der: Zeroizing<Vec<u8>>,
}

/// Why key text could not be decoded to DER. Carries no input text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArmourError {
    /// Neither a PEM block nor base64.
    NotKeyText,
    /// A PEM block whose header says it is encrypted (`Proc-Type: 4,ENCRYPTED`).
    Encrypted,
    /// A PEM block that is cut off or whose body is not base64.
    DamagedPem(&'static str),
}

const BEGIN: &str = "-----BEGIN ";
const DASHES: &str = "-----";

/// Decodes the first PEM block in `text`, or the whole text as bare base64.
pub(crate) fn decode(text: &str) -> Result<Armoured, ArmourError> {
    match text.find(BEGIN) {
        Some(start) => decode_pem(&text[start + BEGIN.len()..]),
        None => decode_bare(text),
    }
}

/// `rest` starts right after `-----BEGIN `.
fn decode_pem(rest: &str) -> Result<Armoured, ArmourError> {
    let label_end = rest.find(DASHES).ok_or(ArmourError::DamagedPem(
        "its BEGIN line is not closed by -----",
    ))?;
    let label = &rest[..label_end];
    if label.contains('\n') {
        return Err(ArmourError::DamagedPem(
            "its BEGIN line is not closed by -----",
        ));
    }
    let body_and_end = &rest[label_end + DASHES.len()..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body_and_end
        .find(&end_marker)
        .ok_or(ArmourError::DamagedPem("it has no matching END line"))?;
    let body = &body_and_end[..body_end];

    // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ...") come before the
    // base64; only OpenSSL's legacy encrypted keys use them.
    let mut base64_lines = Vec::new();
    for line in body.lines() {
        if line.contains(':') {
            if line.contains("ENCRYPTED") {
                return Err(ArmourError::Encrypted);
            }
            return Err(ArmourError::DamagedPem(
                "it has headers this crate does not read",
            ));
        }
        base64_lines.push(line);
    }
    let der = decode_base64(&base64_lines.concat())
        .ok_or(ArmourError::DamagedPem("its body is not base64"))?;
    Ok(Armoured {
        label: Some(label.to_owned()),
        der,
    })
}

fn decode_bare(text: &str) -> Result<Armoured, ArmourError> {
    let der = decode_base64(text).ok_or(ArmourError::NotKeyText)?;
    Ok(Armoured { label: None, der })
}

/// Base64 with all ASCII whitespace ignored; `None` if empty or not base64.
fn decode_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    if compact.is_empty() {
        return None;
    }
    KEY_BASE64
        .decode(compact.as_bytes())
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_label_and_body() {
        let text =
            "junk before\n-----BEGIN PUBLIC KEY-----\r\nAAEC\r\nAw==\r\n-----END PUBLIC KEY-----\n";
        let a = decode(text).unwrap();
        assert_eq!(a.label.as_deref(), Some("PUBLIC KEY"));
        assert_eq!(a.der.as_slice(), &[0, 1, 2, 3]);
    }

    #[test]
    fn bare_base64_with_wrapping_and_missing_padding() {
        let a = decode("  AAEC\n Aw ").unwrap();
        assert_eq!(a.label, None);
        assert_eq!(a.der.as_slice(), &[0, 1, 2, 3]);
    }

    #[test]
    fn errors() {
        assert_eq!(decode("").err(), Some(ArmourError::NotKeyText));
        assert_eq!(decode("not a key!").err(), Some(ArmourError::NotKeyText));
        assert!(matches!(
            decode("-----BEGIN PRIVATE KEY-----\nAAEC\n").err(),
            Some(ArmourError::DamagedPem(_))
        ));
        assert!(matches!(
            decode("-----BEGIN PRIVATE KEY-----\nA*EC\n-----END PRIVATE KEY-----").err(),
            Some(ArmourError::DamagedPem(_))
        ));
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAEC\n-----END RSA PRIVATE KEY-----";
        assert_eq!(decode(legacy).err(), Some(ArmourError::Encrypted));
    }
}
