//! payport-alipay-openapi: Alipay's current OpenAPI gateway (`gateway.do`, RSA2/RSA).
//!
//! Implements the domain's `PaymentGateway` and `RefundGateway` ports
//! ([`AlipayOpenApiGateway`]): request signing, response and notification
//! verification, and the trade APIs of `PROTOCOL.md` section A, mapped onto the
//! domain's outcomes per section C.
//!
//! The core reproduces the conformance vectors in `testdata/vectors/` (made with
//! Alipay's official SDK) byte for byte, on every backend. Where those vectors and
//! PROTOCOL.md disagree, the vectors win, and the module says so.
//!
//! # Layout
//! - [`sign_type`]: `SignType::{Rsa2, Rsa}`, parsed strictly from `RSA2` / `RSA`.
//! - [`keys`]: `PrivateKey` / `PublicKey` from PEM or bare base64, PKCS#1 or PKCS#8/SPKI,
//!   with one-sentence errors and redacted `Debug`.
//! - [`sign_content`]: `request_sign_content`, the string to sign for a request (A2).
//! - [`signer`]: `Signer` (app private key + sign type): `sign`, `sign_request`.
//! - [`verifier`]: `Verifier` (Alipay public key + configured sign type): `verify`.
//! - [`form`]: `parse_form_urlencoded`, one exact decoding of a form body.
//! - [`notify`]: notification / return_url content and `Verifier::verify_notify` (A5, A6).
//! - [`response`]: raw signed-span extraction and `Verifier::verify_response` (A4).
//! - `json_scan` (private): the JSON-string-aware span scanner `response` uses.
//! - [`backend`]: the RSA implementations behind one internal trait: the `rsa` crate
//!   (default) or AWS-LC (feature `aws-lc`). See SECURITY.md.
//!
//! The trade APIs on top of that core:
//! - [`client`]: `Client` and `OpenApiConfig`: sign, send (reqwest, timeouts, no
//!   retries), verify the raw response node, classify, log the exchange.
//! - [`outcome`]: the code/sub_code → success/rejected/unknown table.
//! - [`gateway`]: `AlipayOpenApiGateway`, and the bill download URL query.
//! - `payments` / `refunds` (private): the two port implementations.
//! - `beijing`, `fields`, `html` (private): UTC+8 timestamps, typed field access,
//!   attribute escaping for the auto-submit form.

pub mod backend;
mod beijing;
pub mod client;
mod fields;
pub mod form;
pub mod gateway;
mod html;
mod json_scan;
pub mod keys;
pub mod notify;
pub mod outcome;
mod payments;
mod refunds;
pub mod response;
pub mod sign_content;
pub mod sign_type;
pub mod signer;
pub mod verifier;

pub use backend::Backend;
pub use client::{Client, OpenApiConfig};
pub use form::{parse_form_urlencoded, FormError};
pub use gateway::{AlipayOpenApiGateway, BillType};
pub use keys::{KeyError, PrivateKey, PrivateKeyFormat, PublicKey, PublicKeyFormat};
pub use notify::{notify_verify_content, NotifyCheck, NotifyVerdict};
pub use response::{extract_response, ResponseCheck, ResponseError, ResponseNode, SignedResponse};
pub use sign_content::request_sign_content;
pub use sign_type::{SignType, UnknownSignType};
pub use signer::{SignError, Signer};
pub use verifier::Verifier;
