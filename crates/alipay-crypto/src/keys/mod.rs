//! RSA keys as Alipay hands them out: PEM or one-line bare base64, PKCS#1 or PKCS#8.
//!
//! Contract (PROTOCOL.md A2 "Keys"):
//! - [`PrivateKey::parse`] reads `BEGIN RSA PRIVATE KEY` (PKCS#1), `BEGIN PRIVATE KEY`
//!   (PKCS#8), or the bare base64 body of either, which is what Alipay's key tool writes
//!   (PKCS#8 "for Java", PKCS#1 "non-Java").
//! - [`PublicKey::parse`] reads `BEGIN PUBLIC KEY` (X.509 SPKI), `BEGIN RSA PUBLIC KEY`
//!   (PKCS#1), or the bare base64 SPKI body Alipay's console shows.
//! - Each error says in one sentence what is wrong, and names the likely mix-up
//!   (public key where the private one is needed, and the reverse).
//! - Private key material never leaves the key: the DER is zeroised on drop, `Debug`
//!   is written by hand and redacted, and no error carries input text.

pub(crate) mod armour;
mod der;

use std::fmt;

use zeroize::Zeroizing;

use crate::sign_type::SignType;
use armour::ArmourError;
use der::DerKind;

/// Why a key could not be loaded, or cannot be used as configured. One sentence each;
/// none of them carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM or base64 RSA key")]
    NotAKey,
    #[error("this is a public key; signing needs the app private key")]
    PublicKeyForSigning,
    #[error("this is a private key; verifying needs Alipay's public key")]
    PrivateKeyForVerifying,
    #[error("this is not an RSA key; Alipay keys are RSA")]
    NotRsa,
    #[error("this is a certificate, not a key; certificate mode is not supported here")]
    Certificate,
    #[error("this private key is encrypted; export it without a passphrase")]
    Encrypted,
    #[error("the PEM block is damaged: {0}")]
    DamagedPem(&'static str),
    #[error("the PEM label {0:?} is not one of PRIVATE KEY, RSA PRIVATE KEY, PUBLIC KEY, RSA PUBLIC KEY")]
    UnsupportedPemLabel(String),
    #[error("the {backend} backend rejected this key; Alipay keys are 2048-bit RSA")]
    Rejected { backend: &'static str },
    #[error("the {backend} backend cannot sign with {sign_type}; configure RSA2")]
    UnsupportedSignType {
        backend: &'static str,
        sign_type: SignType,
    },
}

/// How a private key's DER is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateKeyFormat {
    /// `RSAPrivateKey` (RFC 8017), `BEGIN RSA PRIVATE KEY`.
    Pkcs1,
    /// `PrivateKeyInfo` (RFC 5208), `BEGIN PRIVATE KEY`.
    Pkcs8,
}

/// How a public key's DER is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyFormat {
    /// `SubjectPublicKeyInfo` (RFC 5280), `BEGIN PUBLIC KEY`.
    Spki,
    /// `RSAPublicKey` (RFC 8017), `BEGIN RSA PUBLIC KEY`.
    Pkcs1,
}

/// An RSA private key (the app's, for signing requests). Its DER is zeroised on drop.
#[derive(Clone)]
pub struct PrivateKey {
    der: Zeroizing<Vec<u8>>,
    format: PrivateKeyFormat,
    bits: usize,
}

/// An RSA public key (Alipay's, for verifying answers and notifications).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    der: Vec<u8>,
    format: PublicKeyFormat,
    bits: usize,
}

impl PrivateKey {
    /// Reads a PEM block (PKCS#1 or PKCS#8) or a bare base64 body (either DER).
    ///
    /// # Errors
    /// [`KeyError`] saying what the text is instead (a public key, a certificate,
    /// an encrypted or non-RSA key, damaged PEM, not a key at all).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let armoured = armour::decode(text).map_err(armour_error)?;
        check_label(armoured.label.as_deref())?;
        Self::from_classified(&armoured.der, armoured.label.is_some())
    }

    /// Reads PKCS#1 or PKCS#8 DER.
    ///
    /// # Errors
    /// As [`PrivateKey::parse`].
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_classified(der, false)
    }

    fn from_classified(der: &[u8], was_pem: bool) -> Result<Self, KeyError> {
        let (format, bits) = match der::classify(der) {
            DerKind::Pkcs1Private { bits } => (PrivateKeyFormat::Pkcs1, bits),
            DerKind::Pkcs8Private { bits } => (PrivateKeyFormat::Pkcs8, bits),
            DerKind::SpkiPublic { .. } | DerKind::Pkcs1Public { .. } => {
                return Err(KeyError::PublicKeyForSigning)
            }
            DerKind::OtherAlgorithm => return Err(KeyError::NotRsa),
            DerKind::Unknown => return Err(unknown_der(was_pem)),
        };
        Ok(PrivateKey {
            der: Zeroizing::new(der.to_vec()),
            format,
            bits,
        })
    }

    pub fn format(&self) -> PrivateKeyFormat {
        self.format
    }

    /// Modulus length in bits (2048 for Alipay keys).
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The RSA modulus (public material), equal to its public key's
    /// [`PublicKey::modulus`] whatever either's encoding: tells whether two keys are
    /// the same key.
    pub fn modulus(&self) -> Vec<u8> {
        der::modulus(&self.der).unwrap_or_default()
    }

    /// The DER, in [`PrivateKey::format`]. Only the backends read it.
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("format", &self.format)
            .field("bits", &self.bits)
            .field("der", &"<redacted>")
            .finish()
    }
}

impl PublicKey {
    /// Reads a PEM block (SPKI or PKCS#1) or a bare base64 body (either DER).
    ///
    /// # Errors
    /// [`KeyError`] saying what the text is instead (a private key, a certificate,
    /// a non-RSA key, damaged PEM, not a key at all).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let armoured = armour::decode(text).map_err(armour_error)?;
        check_label(armoured.label.as_deref())?;
        Self::from_classified(&armoured.der, armoured.label.is_some())
    }

    /// Reads SPKI or PKCS#1 DER.
    ///
    /// # Errors
    /// As [`PublicKey::parse`].
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_classified(der, false)
    }

    fn from_classified(der: &[u8], was_pem: bool) -> Result<Self, KeyError> {
        let (format, bits) = match der::classify(der) {
            DerKind::SpkiPublic { bits } => (PublicKeyFormat::Spki, bits),
            DerKind::Pkcs1Public { bits } => (PublicKeyFormat::Pkcs1, bits),
            DerKind::Pkcs1Private { .. } | DerKind::Pkcs8Private { .. } => {
                return Err(KeyError::PrivateKeyForVerifying)
            }
            DerKind::OtherAlgorithm => return Err(KeyError::NotRsa),
            DerKind::Unknown => return Err(unknown_der(was_pem)),
        };
        Ok(PublicKey {
            der: der.to_vec(),
            format,
            bits,
        })
    }

    pub fn format(&self) -> PublicKeyFormat {
        self.format
    }

    /// Modulus length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The RSA modulus, equal to its private key's [`PrivateKey::modulus`] whatever
    /// either's encoding.
    pub fn modulus(&self) -> Vec<u8> {
        der::modulus(&self.der).unwrap_or_default()
    }

    /// The DER, in [`PublicKey::format`].
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

impl fmt::Debug for PublicKey {
    // Public, but a 2048-bit modulus in hex only buries the useful fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("format", &self.format)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

fn armour_error(e: ArmourError) -> KeyError {
    match e {
        ArmourError::NotKeyText => KeyError::NotAKey,
        ArmourError::Encrypted => KeyError::Encrypted,
        ArmourError::DamagedPem(why) => KeyError::DamagedPem(why),
    }
}

/// Refuses PEM blocks that are not plain RSA keys, by label, before looking at the DER.
fn check_label(label: Option<&str>) -> Result<(), KeyError> {
    match label {
        None | Some("PRIVATE KEY" | "RSA PRIVATE KEY" | "PUBLIC KEY" | "RSA PUBLIC KEY") => Ok(()),
        Some("CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE") => {
            Err(KeyError::Certificate)
        }
        Some("ENCRYPTED PRIVATE KEY") => Err(KeyError::Encrypted),
        Some("EC PRIVATE KEY" | "DSA PRIVATE KEY" | "EC PARAMETERS") => Err(KeyError::NotRsa),
        Some(other) => Err(KeyError::UnsupportedPemLabel(
            other.chars().take(40).collect(),
        )),
    }
}

fn unknown_der(was_pem: bool) -> KeyError {
    if was_pem {
        KeyError::DamagedPem("its body is not an RSA key")
    } else {
        KeyError::NotAKey
    }
}
