//! payport-alipay-crypto: the RSA primitives Alipay's OpenAPI gateway is built on.
//!
//! Primitives only: load keys, sign bytes, verify bytes, with a [`SignType`]. What is
//! signed (a request's string to sign, a response's raw span, a notification's
//! content) is protocol, and lives in the adapter (`payport-alipay-openapi`) and,
//! written separately, in the simulator (`payport-alipay-sim`); both use this crate.
//!
//! Every backend reproduces the conformance signatures in `testdata/vectors/` byte for
//! byte (PKCS#1 v1.5 is deterministic).
//!
//! # Layout
//! - [`sign_type`]: `SignType::{Rsa2, Rsa}`, parsed strictly from `RSA2` / `RSA`.
//! - [`keys`]: `PrivateKey` / `PublicKey` from PEM or bare base64, PKCS#1 or PKCS#8/SPKI,
//!   with one-sentence errors and redacted `Debug`.
//! - [`signer`]: `Signer` (private key + sign type): `sign` bytes to base64.
//! - [`verifier`]: `Verifier` (public key + configured sign type): `verify` bytes.
//! - [`cert`]: `CertSn` / `RootCertSn`, the certificate SNs of Alipay's certificate mode
//!   (`app_cert_sn`, `alipay_root_cert_sn`), byte-exact with the official SDKs.
//! - [`backend`]: the RSA implementations behind one internal trait: AWS-LC (feature
//!   `aws-lc`, on by default) or the pure-Rust `rsa` crate (always compiled: builds
//!   without a C compiler, and legacy SHA-1 signing). See SECURITY.md.

pub mod backend;
pub mod cert;
pub mod keys;
pub mod sign_type;
pub mod signer;
pub mod verifier;

pub use backend::Backend;
pub use cert::{
    certificate_keys, check_issued_by, public_key_of_pem, CertError, CertSn, RootCertSn,
};
pub use keys::{KeyError, PrivateKey, PrivateKeyFormat, PublicKey, PublicKeyFormat};
pub use sign_type::{SignType, UnknownSignType};
pub use signer::{SignError, Signer};
pub use verifier::Verifier;
