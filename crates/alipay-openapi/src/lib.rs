//! payport-alipay-openapi: Alipay's current OpenAPI gateway (`gateway.do`, RSA2/RSA).
//!
//! Implements the domain's `PaymentGateway` port and the refund capabilities
//! `RefundSubmitter` and `RefundQuery` ([`AlipayOpenApiGateway`]): request signing, response and notification
//! verification, and the trade APIs of docs/PROTOCOL.md A, mapped onto the
//! domain's outcomes per docs/PROTOCOL.md C.
//!
//! The core reproduces the conformance vectors in `testdata/vectors/` (made with
//! Alipay's official SDK) byte for byte, on every backend. Where those vectors and
//! PROTOCOL.md disagree, the vectors win, and the module says so.
//!
//! # Layout
//! The RSA primitives (`SignType`, `PrivateKey` / `PublicKey`, `Signer`, `Verifier`,
//! `Backend`) live in `payport-alipay-crypto` and are re-exported here; its SECURITY.md
//! covers the backends. The protocol on top of them is this crate's:
//! - [`sign_content`]: `request_sign_content`, the string to sign for a request, and
//!   `sign_request`, which also checks the params' `sign_type` (A2).
//! - [`form`]: `parse_form_urlencoded`, one exact decoding of a form body.
//! - [`notify`]: notification / return_url content and `verify_notify` (A5, A6).
//! - [`response`]: raw signed-span extraction and `verify_response` (A4).
//! - `json_scan` (private): the JSON-string-aware span scanner `response` uses.
//! - [`ext`]: `SignerExt` / `VerifierExt`, the same checks as methods on the crypto
//!   crate's `Signer` / `Verifier`.
//!
//! The trade APIs on top of that core:
//! - [`cert_mode`]: `CertMode`, the certificate SNs requests carry and answers are
//!   checked against (A9).
//! - `rotation` (private): adopting the certificate Alipay rotated to, once it is
//!   checked against the root certificates.
//! - [`client`]: `Client` and `OpenApiConfig`: sign, send (reqwest, timeouts, no
//!   retries), verify the raw response node, classify, log the exchange.
//! - [`outcome`]: the code/sub_code → success/rejected/unknown table.
//! - [`gateway`]: `AlipayOpenApiGateway`, and the bill download URL query.
//! - `bill` (private): the `TradeBills` port: the URL, the download, then
//!   [`bill_file`], which reads the zip of GBK CSV files (A10).
//! - `payments` / `refunds` (private): the two port implementations.
//! - `fields` (private): typed field access. Beijing time, attribute escaping for the
//!   auto-submit form and transport error text come from `payport-alipay-common`.

mod bill;
pub mod bill_file;
pub mod cert_mode;
pub mod client;
pub mod ext;
mod fields;
pub mod form;
pub mod gateway;
mod json_scan;
pub mod notify;
pub mod outcome;
mod payments;
mod refunds;
pub mod response;
mod rotation;
pub mod sign_content;

pub use bill_file::{parse_detail, parse_trade_bill_zip, BillFileError};
pub use cert_mode::CertMode;
pub use client::{Client, OpenApiConfig};
pub use ext::{SignerExt, VerifierExt};
pub use form::{parse_form_at_most, parse_form_urlencoded, FormError, MAX_CALLBACK_FIELDS};
pub use gateway::{AlipayOpenApiGateway, BillType};
pub use notify::{notify_verify_content, verify_notify, NotifyCheck, NotifyVerdict};
pub use payport_alipay_crypto::{
    certificate_keys, public_key_of_pem, Backend, CertError, CertSn, KeyError, PrivateKey,
    PrivateKeyFormat, PublicKey, PublicKeyFormat, RootCertSn, SignError, SignType, Signer,
    UnknownSignType, Verifier,
};
pub use response::{
    extract_response, verify_response, ResponseCheck, ResponseError, ResponseNode, SignedResponse,
};
pub use sign_content::{request_sign_content, sign_request, RequestSignError};
