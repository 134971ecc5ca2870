//! [`Signer`]: the app private key plus the app's sign type; signs request params.
//!
//! Contract: the signature is RSASSA-PKCS1-v1_5 (SHA-256 for `RSA2`, SHA-1 for `RSA`)
//! over the UTF-8 bytes of the content, as standard base64 with padding on one line
//! (PROTOCOL.md A2 steps 5-6). [`Signer::sign_request`] also insists that the params'
//! own `sign_type` equals the signer's, since that value is signed and Alipay checks
//! the signature with the algorithm it names.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::backend::{Backend, SigningKey};
use crate::keys::{KeyError, PrivateKey};
use crate::sign_content::request_sign_content;
use crate::sign_type::SignType;

/// Why a signature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the request has no sign_type param; it is signed, so it must be sent")]
    MissingSignType,
    #[error("the request's sign_type is {found:?} but this signer signs {expected}")]
    SignTypeMismatch { found: String, expected: SignType },
    #[error("the {backend} backend failed to sign")]
    Backend { backend: &'static str },
}

/// Signs with the app private key. Build once at start-up and share (`Send + Sync`).
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

    /// Signs request params: [`request_sign_content`], then [`Signer::sign`].
    /// Returns the value of the `sign` param.
    ///
    /// # Errors
    /// [`SignError::MissingSignType`] / [`SignError::SignTypeMismatch`] if the params'
    /// `sign_type` is not this signer's, else as [`Signer::sign`].
    pub fn sign_request<I, K, V>(&self, params: I) -> Result<String, SignError>
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
                if v.as_ref() != self.sign_type.as_str() {
                    return Err(SignError::SignTypeMismatch {
                        found: v.as_ref().to_owned(),
                        expected: self.sign_type,
                    });
                }
            }
        }
        if !sign_type_seen {
            return Err(SignError::MissingSignType);
        }
        self.sign(request_sign_content(params).as_bytes())
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
