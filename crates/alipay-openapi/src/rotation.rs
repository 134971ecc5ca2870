//! Certificate mode: Alipay rotating its certificate (PROTOCOL.md A9). An answer names
//! an `alipay_cert_sn` other than the one payport verifies with; payport downloads
//! that certificate and trusts it only when it is valid now, signed by one of the
//! configured root certificates, has that SN, and the download's own answer verifies
//! with its key. It is kept in memory (the configured file is not rewritten), so a
//! restart downloads it again at the first answer under it.

use base64::Engine;
use payport_alipay_crypto::{check_issued_by, public_key_of_pem, CertSn, Verifier};
use payport_domain::GatewayError;
use serde_json::Value;

use crate::cert_mode::rotated;
use crate::client::{AlipayKey, Call, Client};
use crate::outcome::Answer;
use crate::response::{extract_response, verify_response, ResponseCheck};

const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

impl Client {
    /// The SN an answer names, when it is not that of the certificate payport
    /// verifies with (certificate mode only).
    pub(crate) fn rotated_sn(&self, method: &str, body: &str) -> Option<String> {
        let current = self.alipay_key().cert_sn?;
        let answered = extract_response(body, method).ok()?.alipay_cert_sn?;
        (answered != current).then_some(answered)
    }

    /// Downloads the certificate `sn` an answer to `method` named, and verifies with it from now on, if it is to be
    /// trusted; nothing changes otherwise.
    ///
    /// # Errors
    /// `Unknown`, naming both SNs and why the certificate was not adopted: the answer
    /// that named it cannot be believed.
    pub(crate) async fn adopt_alipay_cert(
        &self,
        method: &str,
        sn: &str,
    ) -> Result<(), GatewayError> {
        let (Some(certs), Some(current)) = (self.cert_mode(), self.alipay_key().cert_sn) else {
            return Ok(());
        };
        let refused = |why: String| rotated(method, sn, &current, &format!("{why}; "));
        let biz = serde_json::json!({ "alipay_cert_sn": sn }).to_string();
        let signed = self.sign(DOWNLOAD, &biz, &[])?;
        let call = Call {
            method: DOWNLOAD,
            biz: Value::Null,
            out_trade_no: None,
            out_request_no: None,
        };
        let text = self
            .send(&call, &signed)
            .await
            .map_err(|(e, _)| refused(format!("its download failed: {e}")))?;
        let taken = extract_response(&text, DOWNLOAD)
            .map_err(|e| refused(format!("its download answer is unusable: {e}")))?;
        let answer = Answer::parse(taken.content)
            .map_err(|e| refused(format!("its download answer is unusable: {e}")))?;
        let content = match (answer.code.as_str(), answer.text("alipay_cert_content")) {
            ("10000", Some(content)) => content,
            _ => {
                return Err(refused(format!(
                    "its download was refused ({} {})",
                    answer.code,
                    answer.sub_code.as_deref().unwrap_or("")
                )))
            }
        };
        let pem = base64::engine::general_purpose::STANDARD
            .decode(content)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| refused("the downloaded certificate is not base64 of PEM".into()))?;
        let now = u64::try_from(self.clock().now().timestamp()).unwrap_or(0);
        check_issued_by(&pem, &certs.root_bundle_pem, now)
            .map_err(|e| refused(format!("the downloaded certificate: {e}")))?;
        let downloaded = CertSn::of_pem(&pem)
            .map_err(|e| refused(format!("the downloaded certificate: {e}")))?;
        if downloaded.sn() != sn {
            return Err(refused(format!(
                "the downloaded certificate has SN {}",
                downloaded.sn()
            )));
        }
        let verifier = public_key_of_pem(&pem)
            .map_err(|e| e.to_string())
            .and_then(|key| {
                Verifier::new(&key, self.signer().sign_type()).map_err(|e| e.to_string())
            })
            .map_err(|e| refused(format!("the downloaded certificate's key: {e}")))?;
        // Alipay signs the download's answer under the new certificate already.
        if !matches!(
            verify_response(&verifier, &text, DOWNLOAD),
            Ok(ResponseCheck::Verified { .. })
        ) {
            return Err(refused(
                "the download answer does not verify with the certificate it carries".into(),
            ));
        }
        let mut key = self.alipay_key_mut();
        if key.cert_sn.as_deref() != Some(sn) {
            tracing::warn!(
                old = key.cert_sn.as_deref().unwrap_or(""),
                new = sn,
                "Alipay rotated its certificate; payport checked the new one against the root certificates and verifies with it from now on. It is kept in memory only: set alipay.alipay_cert to the new certificate before the next restart"
            );
            *key = AlipayKey {
                verifier: std::sync::Arc::new(verifier),
                cert_sn: Some(sn.to_owned()),
            };
        }
        Ok(())
    }
}
