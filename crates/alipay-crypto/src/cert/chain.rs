//! Whether a certificate Alipay hands out is to be trusted (PROTOCOL.md A9): the chain
//! from it, through the CAs that follow it in its file, up to a root of the configured
//! root file, as the Java SDK's `AntCertificationUtil.isTrusted` builds it.

use base64::Engine;
use x509_cert::der::Encode;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::Certificate;

use super::{parse_pem, pem_blocks, CertError};

/// Links above the leaf at most: Alipay's chain has one intermediate; a loop or a
/// file of many CAs ends here.
const MAX_DEPTH: usize = 4;

/// Checks that the first certificate of `pem` is trusted at `now_unix` (seconds): it
/// and every CA after it on the way up are valid now, each is signed (sha256WithRSA) by the next, each CA on the way is a CA (basicConstraints CA,
/// and keyCertSign when it states a key usage), and the last is signed by a certificate
/// of `bundle` whose subject is its issuer. The CAs are taken from the certificates of
/// `pem` after the first, in any order, as Alipay's certificate file carries them.
/// SHA-1 signatures are refused on these links; the roots of `bundle` are trusted as
/// configured, whatever signs them (Alipay's iTrusChina root is SHA-1 self-signed).
///
/// # Errors
/// [`CertError::NotTrusted`] saying why; or a certificate that cannot be read.
pub fn check_issued_by(pem: &str, bundle: &str, now_unix: u64) -> Result<(), CertError> {
    let mut file = pem_blocks(pem)
        .enumerate()
        .map(|(index, block)| parse_pem(block, index));
    let leaf = file.next().ok_or(CertError::NoCertificate)??;
    let cas = file.collect::<Result<Vec<_>, _>>()?;
    let roots = pem_blocks(bundle)
        .enumerate()
        .map(|(index, block)| parse_pem(block, index))
        .collect::<Result<Vec<_>, _>>()?;
    let mut current = &leaf;
    // Who signed a link is checked before its dates: a stranger is named as such.
    for depth in 0..=MAX_DEPTH {
        if roots.iter().any(|root| signed_by(current, root)) {
            return valid_at(current, depth, now_unix);
        }
        let Some(issuer) = cas.iter().find(|ca| signed_by(current, ca) && is_ca(ca)) else {
            return Err(CertError::NotTrusted(format!(
                "{} is signed by no certificate of the root file, nor by a CA that follows it in its file",
                link(depth)
            )));
        };
        valid_at(current, depth, now_unix)?;
        current = issuer;
    }
    Err(CertError::NotTrusted(format!(
        "no root of the root file within {MAX_DEPTH} CAs"
    )))
}

/// Whether `issuer` is `cert`'s issuer by name and its key verifies `cert`'s signature.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if issuer.tbs_certificate.subject != cert.tbs_certificate.issuer {
        return false;
    }
    // sha256WithRSAEncryption only: what Alipay's leaves and intermediates use.
    if cert.signature_algorithm.oid.to_string() != "1.2.840.113549.1.1.11" {
        return false;
    }
    let (Ok(signed), Ok(key)) = (
        cert.tbs_certificate.to_der(),
        issuer.tbs_certificate.subject_public_key_info.to_der(),
    ) else {
        return false;
    };
    let signature = base64::engine::general_purpose::STANDARD.encode(cert.signature.raw_bytes());
    crate::PublicKey::from_der(&key)
        .and_then(|key| crate::Verifier::new(&key, crate::SignType::Rsa2))
        .is_ok_and(|v| v.verify(&signed, &signature))
}

/// basicConstraints CA:TRUE, and keyCertSign among its key usages if it states them.
fn is_ca(cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    let ca = matches!(tbs.get::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca);
    let signs = match tbs.get::<KeyUsage>() {
        Ok(None) => true,
        Ok(Some((_, usage))) => usage.key_cert_sign(),
        Err(_) => false,
    };
    ca && signs
}

fn valid_at(cert: &Certificate, depth: usize, now_unix: u64) -> Result<(), CertError> {
    let validity = &cert.tbs_certificate.validity;
    let (from, until) = (
        validity.not_before.to_unix_duration().as_secs(),
        validity.not_after.to_unix_duration().as_secs(),
    );
    if now_unix < from || now_unix > until {
        return Err(CertError::NotTrusted(format!(
            "{} is valid from {from} to {until} (Unix seconds), not now ({now_unix})",
            link(depth)
        )));
    }
    Ok(())
}

fn link(depth: usize) -> String {
    if depth == 0 {
        "it".to_owned()
    } else {
        format!("the CA {depth} above it")
    }
}
