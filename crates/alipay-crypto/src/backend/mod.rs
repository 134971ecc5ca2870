//! RSA backends: who does the PKCS#1 v1.5 arithmetic.
//!
//! Contract: every backend implements the one internal trait `RsaBackend` and gives
//! byte-identical signatures (PKCS#1 v1.5 is deterministic), so the choice changes only
//! side-channel hardening and speed, never the wire. The default is compile-time:
//! AWS-LC with the `aws-lc` feature (a default feature), else the pure-Rust `rsa`
//! crate, which is always compiled because AWS-LC cannot sign the legacy SHA-1 `RSA`
//! type. [`Backend`] is public only so that tests and benchmarks can run every
//! compiled-in backend.

mod rust_crypto;

#[cfg(feature = "aws-lc")]
mod aws_lc;

use crate::keys::{KeyError, PrivateKey, PublicKey};
use crate::sign_type::SignType;

/// A compiled-in RSA implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The `rsa` crate (RustCrypto), signing with blinding.
    RustCrypto,
    /// AWS-LC through `aws-lc-rs` (feature `aws-lc`).
    #[cfg(feature = "aws-lc")]
    AwsLc,
}

impl Backend {
    /// Every backend compiled into this build, the default first.
    #[cfg(feature = "aws-lc")]
    pub const ALL: &'static [Backend] = &[Backend::AwsLc, Backend::RustCrypto];
    /// Every backend compiled into this build, the default first.
    #[cfg(not(feature = "aws-lc"))]
    pub const ALL: &'static [Backend] = &[Backend::RustCrypto];

    /// AWS-LC when the `aws-lc` feature is on (constant-time private-key operations),
    /// else the `rsa` crate.
    #[cfg(feature = "aws-lc")]
    pub const DEFAULT: Backend = Backend::AwsLc;
    /// AWS-LC when the `aws-lc` feature is on (constant-time private-key operations),
    /// else the `rsa` crate.
    #[cfg(not(feature = "aws-lc"))]
    pub const DEFAULT: Backend = Backend::RustCrypto;

    pub const fn name(self) -> &'static str {
        match self {
            Backend::RustCrypto => "rsa",
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => "aws-lc",
        }
    }
}

impl Default for Backend {
    /// [`Backend::DEFAULT`].
    fn default() -> Self {
        Backend::DEFAULT
    }
}

/// The operations a backend provides. Keys are prepared once for one [`SignType`]
/// (parsing a key per signature would cost more than the signature).
pub(crate) trait RsaBackend {
    const BACKEND: Backend;
    type SigningKey: Send + Sync;
    type VerifyingKey: Send + Sync;

    /// # Errors
    /// [`KeyError::Rejected`] if the backend refuses the key, or
    /// [`KeyError::UnsupportedSignType`] if it cannot sign with `sign_type`.
    fn signing_key(key: &PrivateKey, sign_type: SignType) -> Result<Self::SigningKey, KeyError>;

    /// # Errors
    /// [`KeyError::Rejected`] if the backend refuses the key.
    fn verifying_key(key: &PublicKey, sign_type: SignType) -> Result<Self::VerifyingKey, KeyError>;

    /// The raw signature (modulus length). `None` only on an internal backend failure.
    fn sign(key: &Self::SigningKey, message: &[u8]) -> Option<Vec<u8>>;

    fn verify(key: &Self::VerifyingKey, message: &[u8], signature: &[u8]) -> bool;
}

/// A prepared signing key of whichever backend was chosen. (Boxed: the `rsa` crate's
/// key is several times the size of AWS-LC's handle.)
pub(crate) enum SigningKey {
    RustCrypto(Box<<rust_crypto::RustCrypto as RsaBackend>::SigningKey>),
    #[cfg(feature = "aws-lc")]
    AwsLc(<aws_lc::AwsLc as RsaBackend>::SigningKey),
}

/// A prepared verifying key of whichever backend was chosen.
pub(crate) enum VerifyingKey {
    RustCrypto(<rust_crypto::RustCrypto as RsaBackend>::VerifyingKey),
    #[cfg(feature = "aws-lc")]
    AwsLc(<aws_lc::AwsLc as RsaBackend>::VerifyingKey),
}

impl SigningKey {
    pub(crate) fn new(
        backend: Backend,
        key: &PrivateKey,
        sign_type: SignType,
    ) -> Result<Self, KeyError> {
        Ok(match backend {
            Backend::RustCrypto => SigningKey::RustCrypto(Box::new(
                rust_crypto::RustCrypto::signing_key(key, sign_type)?,
            )),
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => SigningKey::AwsLc(aws_lc::AwsLc::signing_key(key, sign_type)?),
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            SigningKey::RustCrypto(_) => rust_crypto::RustCrypto::BACKEND,
            #[cfg(feature = "aws-lc")]
            SigningKey::AwsLc(_) => aws_lc::AwsLc::BACKEND,
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        match self {
            SigningKey::RustCrypto(k) => rust_crypto::RustCrypto::sign(k, message),
            #[cfg(feature = "aws-lc")]
            SigningKey::AwsLc(k) => aws_lc::AwsLc::sign(k, message),
        }
    }
}

impl VerifyingKey {
    pub(crate) fn new(
        backend: Backend,
        key: &PublicKey,
        sign_type: SignType,
    ) -> Result<Self, KeyError> {
        Ok(match backend {
            Backend::RustCrypto => {
                VerifyingKey::RustCrypto(rust_crypto::RustCrypto::verifying_key(key, sign_type)?)
            }
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => VerifyingKey::AwsLc(aws_lc::AwsLc::verifying_key(key, sign_type)?),
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            VerifyingKey::RustCrypto(_) => rust_crypto::RustCrypto::BACKEND,
            #[cfg(feature = "aws-lc")]
            VerifyingKey::AwsLc(_) => aws_lc::AwsLc::BACKEND,
        }
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            VerifyingKey::RustCrypto(k) => rust_crypto::RustCrypto::verify(k, message, signature),
            #[cfg(feature = "aws-lc")]
            VerifyingKey::AwsLc(k) => aws_lc::AwsLc::verify(k, message, signature),
        }
    }
}
