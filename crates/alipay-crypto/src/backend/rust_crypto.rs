//! The pure-Rust backend: the `rsa` crate (0.9) with `sha2` / `sha1`. The default only
//! in builds without the `aws-lc` feature (no C compiler); in every build, the signer
//! of the legacy SHA-1 `RSA` type, which AWS-LC cannot sign.
//!
//! Contract: signing always goes through `RandomizedSigner::try_sign_with_rng` with the
//! OS RNG, which blinds the private-key exponentiation (the plain `Signer::sign` of
//! `rsa` 0.9 does not). PKCS#1 v1.5 padding is deterministic, so blinded signatures
//! still equal Alipay's byte for byte. This backend never decrypts. See SECURITY.md
//! for RUSTSEC-2023-0071.

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::rand_core::OsRng;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::Sha256;

use super::{Backend, RsaBackend};
use crate::keys::{KeyError, PrivateKey, PrivateKeyFormat, PublicKey, PublicKeyFormat};
use crate::sign_type::SignType;

pub(crate) struct RustCrypto;

pub(crate) enum SigningKey {
    Sha256(pkcs1v15::SigningKey<Sha256>),
    Sha1(pkcs1v15::SigningKey<Sha1>),
}

pub(crate) enum VerifyingKey {
    Sha256(pkcs1v15::VerifyingKey<Sha256>),
    Sha1(pkcs1v15::VerifyingKey<Sha1>),
}

const REJECTED: KeyError = KeyError::Rejected {
    backend: Backend::RustCrypto.name(),
};

impl RsaBackend for RustCrypto {
    const BACKEND: Backend = Backend::RustCrypto;
    type SigningKey = SigningKey;
    type VerifyingKey = VerifyingKey;

    fn signing_key(key: &PrivateKey, sign_type: SignType) -> Result<SigningKey, KeyError> {
        // from_*_der also checks the key's consistency (RsaPrivateKey::validate).
        let private = match key.format() {
            PrivateKeyFormat::Pkcs1 => RsaPrivateKey::from_pkcs1_der(key.der()).ok(),
            PrivateKeyFormat::Pkcs8 => RsaPrivateKey::from_pkcs8_der(key.der()).ok(),
        }
        .ok_or(REJECTED)?;
        Ok(match sign_type {
            SignType::Rsa2 => SigningKey::Sha256(pkcs1v15::SigningKey::new(private)),
            SignType::Rsa => SigningKey::Sha1(pkcs1v15::SigningKey::new(private)),
        })
    }

    fn verifying_key(key: &PublicKey, sign_type: SignType) -> Result<VerifyingKey, KeyError> {
        let public = match key.format() {
            PublicKeyFormat::Spki => RsaPublicKey::from_public_key_der(key.der()).ok(),
            PublicKeyFormat::Pkcs1 => RsaPublicKey::from_pkcs1_der(key.der()).ok(),
        }
        .ok_or(REJECTED)?;
        Ok(match sign_type {
            SignType::Rsa2 => VerifyingKey::Sha256(pkcs1v15::VerifyingKey::new(public)),
            SignType::Rsa => VerifyingKey::Sha1(pkcs1v15::VerifyingKey::new(public)),
        })
    }

    fn sign(key: &SigningKey, message: &[u8]) -> Option<Vec<u8>> {
        let signature = match key {
            SigningKey::Sha256(k) => k.try_sign_with_rng(&mut OsRng, message),
            SigningKey::Sha1(k) => k.try_sign_with_rng(&mut OsRng, message),
        };
        signature.ok().map(|s| s.to_vec())
    }

    fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = pkcs1v15::Signature::try_from(signature) else {
            return false;
        };
        match key {
            VerifyingKey::Sha256(k) => k.verify(message, &signature).is_ok(),
            VerifyingKey::Sha1(k) => k.verify(message, &signature).is_ok(),
        }
    }
}
