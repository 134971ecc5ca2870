//! [`Verifier`]: a public key plus the configured sign type; verifies bytes.
//!
//! Contract: a signature is checked with the configured sign type only, never with one
//! named by the message being checked, so a forged `sign_type=RSA` cannot downgrade an
//! `RSA2` app to SHA-1. `sign` must be standard base64 with padding; anything else is
//! simply not a valid signature. The OpenAPI adapter's notification and response
//! checks build on [`Verifier::verify`].

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::backend::{Backend, VerifyingKey};
use crate::keys::{KeyError, PublicKey};
use crate::sign_type::SignType;

/// Checks signatures (Alipay's, or the merchant's in the simulator). Build once at start-up and share (`Send + Sync`).
pub struct Verifier {
    key: VerifyingKey,
    sign_type: SignType,
}

impl Verifier {
    /// A verifier on the build's default [`Backend`].
    ///
    /// # Errors
    /// [`KeyError::Rejected`] if the backend refuses the key.
    pub fn new(key: &PublicKey, sign_type: SignType) -> Result<Self, KeyError> {
        Self::with_backend(key, sign_type, Backend::DEFAULT)
    }

    /// A verifier on a given backend (tests and benchmarks compare them).
    ///
    /// # Errors
    /// As [`Verifier::new`].
    pub fn with_backend(
        key: &PublicKey,
        sign_type: SignType,
        backend: Backend,
    ) -> Result<Self, KeyError> {
        Ok(Verifier {
            key: VerifyingKey::new(backend, key, sign_type)?,
            sign_type,
        })
    }

    /// The configured sign type: the only one this verifier accepts.
    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }

    pub fn backend(&self) -> Backend {
        self.key.backend()
    }

    /// Whether `sign` (base64) is a valid signature of `content` under the configured
    /// sign type.
    pub fn verify(&self, content: &[u8], sign: &str) -> bool {
        match STANDARD.decode(sign) {
            Ok(signature) => self.key.verify(content, &signature),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("sign_type", &self.sign_type)
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}
