//! The default backend (feature `aws-lc`): AWS-LC through `aws-lc-rs`.
//!
//! Contract: the same signatures as the `rsa` backend, computed by AWS-LC's
//! constant-time, blinded RSA. Limits that come from AWS-LC, not from Alipay:
//! - it has no PKCS#1 v1.5 + SHA-1 *signing* encoding (aws-lc-rs 1.x offers
//!   `RSA_PKCS1_SHA256/384/512` only, and no way to build another), so a `RSA` (SHA-1)
//!   signer is refused at construction ([`KeyError::UnsupportedSignType`]) and
//!   `Signer::new` puts that type on the `rsa` backend; SHA-1 *verification* works
//!   (legacy Alipay public keys);
//! - keys must be 2048 to 8192 bits (SHA-1 verification also accepts 1024-bit keys,
//!   which old `RSA` apps had).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaKeyPair};

use super::{Backend, RsaBackend};
use crate::keys::{KeyError, PrivateKey, PrivateKeyFormat, PublicKey};
use crate::sign_type::SignType;

pub(crate) struct AwsLc;

pub(crate) struct SigningKey {
    key_pair: RsaKeyPair,
    // aws-lc-rs ignores the RNG for RSA (AWS-LC blinds internally); the API wants one.
    rng: SystemRandom,
}

const REJECTED: KeyError = KeyError::Rejected {
    backend: Backend::AwsLc.name(),
};

impl RsaBackend for AwsLc {
    const BACKEND: Backend = Backend::AwsLc;
    type SigningKey = SigningKey;
    type VerifyingKey = ParsedPublicKey;

    fn signing_key(key: &PrivateKey, sign_type: SignType) -> Result<SigningKey, KeyError> {
        if sign_type != SignType::Rsa2 {
            return Err(KeyError::UnsupportedSignType {
                backend: Self::BACKEND.name(),
                sign_type,
            });
        }
        let key_pair = match key.format() {
            PrivateKeyFormat::Pkcs8 => RsaKeyPair::from_pkcs8(key.der()),
            PrivateKeyFormat::Pkcs1 => RsaKeyPair::from_der(key.der()),
        }
        .map_err(|_| REJECTED)?;
        Ok(SigningKey {
            key_pair,
            rng: SystemRandom::new(),
        })
    }

    fn verifying_key(key: &PublicKey, sign_type: SignType) -> Result<ParsedPublicKey, KeyError> {
        let algorithm = match sign_type {
            SignType::Rsa2 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SignType::Rsa => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        };
        // Accepts both SPKI and PKCS#1 RSAPublicKey DER.
        ParsedPublicKey::new(algorithm, key.der()).map_err(|_| REJECTED)
    }

    fn sign(key: &SigningKey, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0; key.key_pair.public_modulus_len()];
        key.key_pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &key.rng,
                message,
                &mut signature,
            )
            .ok()?;
        Some(signature)
    }

    fn verify(key: &ParsedPublicKey, message: &[u8], signature: &[u8]) -> bool {
        key.verify_sig(message, signature).is_ok()
    }
}
