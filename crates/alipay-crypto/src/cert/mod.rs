//! Certificate SNs for Alipay's public-key certificate mode (PROTOCOL.md A9).
//!
//! Requests in certificate mode carry `app_cert_sn` and `alipay_root_cert_sn`, answers
//! carry `alipay_cert_sn`. Alipay compares them with its own computation, so they must
//! be byte-exact with the official SDKs:
//! - a certificate's SN is the lowercase hex MD5 of its issuer, written as Java's
//!   `X500Principal.getName()` writes it (RFC 2253: `rfc2253.rs`), followed by its serial
//!   number in signed decimal (`serial.rs`);
//! - the root SN joins with `_`, in file order, the SNs of the bundle's certificates
//!   whose signature algorithm OID starts with `1.2.840.113549.1.1` (the RSA family).
//!
//! [`CertSn`] and [`RootCertSn`] also keep the issuer strings and the per-certificate
//! decisions, so that a mismatch can be explained (`payport alipay cert-sn`).
//! `testdata/cert-sn/` holds the vectors these reproduce.

mod chain;
mod java_utf8;
mod rfc2253;
mod serial;

use md5::{Digest, Md5};

use crate::keys::armour;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

pub use chain::check_issued_by;

/// The prefix both official SDKs match signature algorithm OIDs against, as a string.
pub const RSA_SIGNATURE_OID_PREFIX: &str = "1.2.840.113549.1.1";

/// Why certificates could not be read or give no SN. One sentence each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("no certificate found: expected a PEM \"BEGIN CERTIFICATE\" block or DER bytes")]
    NoCertificate,
    /// `index` counts from 0; the message counts from 1, as people do.
    #[error("certificate {} of the file cannot be read: {why}", .index + 1)]
    Unreadable { index: usize, why: String },
    #[error("the certificate's public key is not usable: {0}")]
    Key(String),
    #[error("the certificate is not trusted: {0}")]
    NotTrusted(String),
    #[error("no certificate of the bundle is signed with RSA (OID 1.2.840.113549.1.1.*), so it gives no root SN; is this Alipay's root certificate file?")]
    NoRsaCertificate,
}

/// One certificate's SN, with what it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSn {
    sn: String,
    issuer: String,
    serial_decimal: String,
    signature_oid: String,
}

impl CertSn {
    /// The SN of the first certificate in `pem`, as the SDKs take it (Alipay's public
    /// certificate file also carries the chain after it).
    ///
    /// # Errors
    /// No certificate, or one that does not parse.
    pub fn of_pem(pem: &str) -> Result<Self, CertError> {
        let first = pem_blocks(pem).next().ok_or(CertError::NoCertificate)?;
        Self::of_certificate(&parse_pem(first, 0)?)
    }

    /// The SN of a DER-encoded certificate.
    ///
    /// # Errors
    /// The bytes are not one X.509 certificate.
    pub fn of_der(der: &[u8]) -> Result<Self, CertError> {
        let cert = Certificate::from_der(der).map_err(|e| unreadable(0, &e))?;
        Self::of_certificate(&cert)
    }

    fn of_certificate(cert: &Certificate) -> Result<Self, CertError> {
        let tbs = &cert.tbs_certificate;
        let issuer = rfc2253::issuer_string(&tbs.issuer).map_err(|e| unreadable(0, &e))?;
        let serial_decimal = serial::signed_decimal(tbs.serial_number.as_bytes());
        let digest = Md5::digest(format!("{issuer}{serial_decimal}").as_bytes());
        Ok(Self {
            sn: hex(&digest),
            issuer,
            serial_decimal,
            signature_oid: cert.signature_algorithm.oid.to_string(),
        })
    }

    /// The SN: 32 lowercase hex digits.
    pub fn sn(&self) -> &str {
        &self.sn
    }

    /// The issuer string that was hashed (before the serial).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The serial number in decimal, as hashed after the issuer.
    pub fn serial_decimal(&self) -> &str {
        &self.serial_decimal
    }

    /// The certificate's signature algorithm OID, dotted.
    pub fn signature_oid(&self) -> &str {
        &self.signature_oid
    }

    /// Whether a root bundle's SN includes this certificate: its signature OID starts
    /// with [`RSA_SIGNATURE_OID_PREFIX`] (a string prefix, as both SDKs test it).
    pub fn counts_for_root(&self) -> bool {
        self.signature_oid.starts_with(RSA_SIGNATURE_OID_PREFIX)
    }

    /// A readable name for the signature algorithm, when it is a common one.
    pub fn signature_name(&self) -> Option<&'static str> {
        signature_name(&self.signature_oid)
    }
}

/// The public key of the first certificate in `pem`: in certificate mode, Alipay's
/// answers and notifications are verified with the key of Alipay's certificate, and
/// the merchant's requests with the key of the app's.
///
/// # Errors
/// No certificate, one that does not parse, or a key that is not RSA.
pub fn public_key_of_pem(pem: &str) -> Result<crate::PublicKey, CertError> {
    let first = pem_blocks(pem).next().ok_or(CertError::NoCertificate)?;
    let cert = parse_pem(first, 0)?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| unreadable(0, &e))?;
    crate::PublicKey::from_der(&spki).map_err(|e| CertError::Key(e.to_string()))
}

/// The public key (SubjectPublicKeyInfo, DER) of every certificate in `pem`, in file
/// order: to recognise a certificate by its key whatever else was re-issued.
///
/// # Errors
/// No certificate, or one that does not parse.
pub fn certificate_keys(pem: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let keys = pem_blocks(pem)
        .enumerate()
        .map(|(index, block)| {
            parse_pem(block, index)?
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| unreadable(index, &e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(CertError::NoCertificate);
    }
    Ok(keys)
}

/// A root bundle's SN, and each certificate's part in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCertSn {
    certificates: Vec<CertSn>,
}

impl RootCertSn {
    /// Reads every certificate of a bundle such as Alipay's `alipayRootCert.crt`.
    ///
    /// # Errors
    /// No certificate, or one that does not parse (naming it by its position).
    /// A bundle without RSA certificates parses; [`RootCertSn::sn`] refuses it.
    pub fn of_bundle(pem: &str) -> Result<Self, CertError> {
        let certificates = pem_blocks(pem)
            .enumerate()
            .map(|(index, block)| {
                CertSn::of_certificate(&parse_pem(block, index)?).map_err(|e| match e {
                    CertError::Unreadable { why, .. } => CertError::Unreadable { index, why },
                    other => other,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if certificates.is_empty() {
            return Err(CertError::NoCertificate);
        }
        Ok(Self { certificates })
    }

    /// A bundle of one DER-encoded certificate.
    ///
    /// # Errors
    /// The bytes are not one X.509 certificate.
    pub fn of_der(der: &[u8]) -> Result<Self, CertError> {
        Ok(Self {
            certificates: vec![CertSn::of_der(der)?],
        })
    }

    /// The bundle's certificates in file order; [`CertSn::counts_for_root`] says which
    /// are part of the SN.
    pub fn certificates(&self) -> &[CertSn] {
        &self.certificates
    }

    /// `alipay_root_cert_sn`: the included certificates' SNs joined with `_`.
    ///
    /// # Errors
    /// [`CertError::NoRsaCertificate`]: no certificate is included. The Java SDK refuses
    /// such a bundle; the Node SDK would send an empty SN, which Alipay cannot accept.
    pub fn sn(&self) -> Result<String, CertError> {
        let included: Vec<&str> = self
            .certificates
            .iter()
            .filter(|c| c.counts_for_root())
            .map(CertSn::sn)
            .collect();
        if included.is_empty() {
            return Err(CertError::NoRsaCertificate);
        }
        Ok(included.join("_"))
    }
}

/// The `BEGIN CERTIFICATE` blocks of a PEM text, in order; text around them is ignored.
const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

fn pem_blocks(pem: &str) -> impl Iterator<Item = &str> {
    let mut rest = pem;
    std::iter::from_fn(move || {
        let start = rest.find(PEM_BEGIN)?;
        let end = rest[start..]
            .find(PEM_END)
            .map_or(rest.len(), |e| start + e + PEM_END.len());
        let block = &rest[start..end];
        rest = &rest[end..];
        Some(block)
    })
}

/// One `BEGIN CERTIFICATE` block's certificate. Its base64 is read as key text is
/// (`keys::armour`: whitespace anywhere ignored), not as strict RFC 7468 (64-column
/// lines): Alipay's own certificate files are wrapped at 76 columns, and files pasted
/// by hand come as one line or with trailing spaces, all of which the SDKs accept.
fn parse_pem(block: &str, index: usize) -> Result<Certificate, CertError> {
    // `pem_blocks` runs a block without its END line to the end of the text.
    if !block.ends_with(PEM_END) {
        return Err(unreadable(
            index,
            &"its \"-----END CERTIFICATE-----\" line is missing",
        ));
    }
    let der = match armour::decode(block) {
        Ok(armoured) => armoured.der,
        Err(armour::ArmourError::DamagedPem(why)) => return Err(unreadable(index, &why)),
        Err(_) => return Err(unreadable(index, &"it is not a plain PEM block")),
    };
    Certificate::from_der(&der).map_err(|e| unreadable(index, &e))
}

fn unreadable(index: usize, why: &dyn std::fmt::Display) -> CertError {
    CertError::Unreadable {
        index,
        why: why.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signature_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.156.10197.1.501" => "SM2-with-SM3",
        "1.3.101.112" => "Ed25519",
        _ => return None,
    })
}
