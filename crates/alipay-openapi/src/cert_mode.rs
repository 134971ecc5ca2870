//! Certificate mode (PROTOCOL.md A9): requests name the app's certificate and Alipay's
//! root bundle by their SNs, and answers name the Alipay certificate they were signed
//! under. The keys themselves come from the certificates (the server's configuration
//! reads them); this is what the transport adds and checks.

use payport_domain::clip::clip;
use payport_domain::GatewayError;

/// The SNs of a merchant's certificates, computed as the official SDKs do
/// ([`crate::CertSn`], [`crate::RootCertSn`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertMode {
    /// Sent as `app_cert_sn` with every request.
    pub app_cert_sn: String,
    /// Sent as `alipay_root_cert_sn` with every request.
    pub alipay_root_cert_sn: String,
    /// The SN of the configured Alipay certificate, whose key verifies answers.
    pub alipay_cert_sn: String,
    /// Alipay's root certificates (PEM): a certificate Alipay rotates to is trusted
    /// only when one of them signed it.
    pub root_bundle_pem: String,
}

impl CertMode {
    /// The common parameters certificate mode adds; signed like the others (A1, A2).
    pub(crate) fn params(&self) -> [(String, String); 2] {
        [
            ("app_cert_sn".to_owned(), self.app_cert_sn.clone()),
            (
                "alipay_root_cert_sn".to_owned(),
                self.alipay_root_cert_sn.clone(),
            ),
        ]
    }

    /// An answer signed under another Alipay certificate than the one payport verifies
    /// with (`current`) is not believed: whatever the call did is unknown. payport
    /// first tries to adopt the new certificate (`rotation.rs`); this is the last word
    /// when that did not happen.
    pub(crate) fn check_answer(
        &self,
        method: &str,
        current: Option<&str>,
        answered: Option<&str>,
    ) -> Result<(), GatewayError> {
        match (answered, current) {
            (Some(sn), Some(current)) if sn != current => Err(rotated(method, sn, current, "")),
            _ => Ok(()),
        }
    }
}

/// The unknown outcome of an answer under a certificate payport could not adopt.
pub(crate) fn rotated(method: &str, answered: &str, current: &str, why: &str) -> GatewayError {
    GatewayError::Unknown(format!(
        "Alipay answered {method} with certificate SN {}, payport has {current}: the Alipay certificate was rotated; {why}download the new one (alipay.open.app.alipaycert.download, or Alipay's console), check it with `payport alipay cert-sn`, set it as alipay.alipay_cert and restart; until then this call's outcome is unknown",
        clip(answered),
    ))
}
