//! Method-call sugar over the crypto crate's `Signer` and `Verifier` for this
//! gateway's protocol: `signer.sign_request(..)`, `verifier.verify_notify(..)`,
//! `verifier.verify_response(..)`. The primitives stay protocol-free in
//! `payport-alipay-crypto`; what is signed is decided here, in the free functions these
//! methods call.

use payport_alipay_crypto::{Signer, Verifier};

use crate::form::FormError;
use crate::notify::{self, NotifyCheck};
use crate::response::{self, ResponseCheck, ResponseError};
use crate::sign_content::{self, RequestSignError};

/// OpenAPI request signing on a [`Signer`].
pub trait SignerExt {
    /// [`sign_content::sign_request`].
    ///
    /// # Errors
    /// As [`sign_content::sign_request`].
    fn sign_request<I, K, V>(&self, params: I) -> Result<String, RequestSignError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>;
}

impl SignerExt for Signer {
    fn sign_request<I, K, V>(&self, params: I) -> Result<String, RequestSignError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        sign_content::sign_request(self, params)
    }
}

/// OpenAPI notification and response checks on a [`Verifier`].
pub trait VerifierExt {
    /// [`notify::verify_notify`].
    fn verify_notify(&self, fields: &[(String, String)]) -> NotifyCheck;

    /// [`notify::verify_notify_body`].
    ///
    /// # Errors
    /// As [`notify::verify_notify_body`].
    fn verify_notify_body(&self, body: &[u8]) -> Result<NotifyCheck, FormError>;

    /// [`response::verify_response`].
    ///
    /// # Errors
    /// As [`response::verify_response`].
    fn verify_response<'a>(
        &self,
        body: &'a str,
        method: &str,
    ) -> Result<ResponseCheck<'a>, ResponseError>;
}

impl VerifierExt for Verifier {
    fn verify_notify(&self, fields: &[(String, String)]) -> NotifyCheck {
        notify::verify_notify(self, fields)
    }

    fn verify_notify_body(&self, body: &[u8]) -> Result<NotifyCheck, FormError> {
        notify::verify_notify_body(self, body)
    }

    fn verify_response<'a>(
        &self,
        body: &'a str,
        method: &str,
    ) -> Result<ResponseCheck<'a>, ResponseError> {
        response::verify_response(self, body, method)
    }
}
