//! [`Signer`]: a private key plus a sign type; signs bytes.
//!
//! Contract: the signature is RSASSA-PKCS1-v1_5 (SHA-256 for `RSA2`, SHA-1 for `RSA`)
//! over the given bytes, as standard base64 with padding on one line (PROTOCOL.md A2
//! steps 5-6). Which bytes to sign is the caller's protocol, not this crate's.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::backend::{Backend, SigningKey};
use crate::keys::{KeyError, PrivateKey};
use crate::sign_type::SignType;

/// Why a signature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the {backend} backend failed to sign")]
    Backend { backend: &'static str },
}

/// Signs with a private key (the app's, or the simulator's Alipay key). Build once at start-up and share (`Send + Sync`).
pub struct Signer {
    key: SigningKey,
    sign_type: SignType,
}

impl Signer {
    /// A signer on the build's default [`Backend`].
    ///
    /// # Errors
    /// [`KeyError`] if the backend refuses the key or cannot sign with `sign_type`.
    pub fn new(key: &PrivateKey, sign_type: SignType) -> Result<Self, KeyError> {
        let backend = match sign_type {
            // AWS-LC cannot sign PKCS#1 v1.5 with SHA-1, which old `RSA` apps still use.
            SignType::Rsa => Backend::RustCrypto,
            SignType::Rsa2 => Backend::DEFAULT,
        };
        Self::with_backend(key, sign_type, backend)
    }

    /// A signer on a given backend (tests and benchmarks compare them).
    ///
    /// # Errors
    /// As [`Signer::new`].
    pub fn with_backend(
        key: &PrivateKey,
        sign_type: SignType,
        backend: Backend,
    ) -> Result<Self, KeyError> {
        Ok(Signer {
            key: SigningKey::new(backend, key, sign_type)?,
            sign_type,
        })
    }

    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }

    pub fn backend(&self) -> Backend {
        self.key.backend()
    }

    /// Signs `content` (already the string to sign); returns the base64 `sign`.
    ///
    /// # Errors
    /// [`SignError::Backend`] on an internal backend failure.
    pub fn sign(&self, content: &[u8]) -> Result<String, SignError> {
        let signature = self.key.sign(content).ok_or(SignError::Backend {
            backend: self.backend().name(),
        })?;
        Ok(STANDARD.encode(signature))
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("sign_type", &self.sign_type)
            .field("backend", &self.backend())
            .field("key", &"<redacted>")
            .finish()
    }
}
