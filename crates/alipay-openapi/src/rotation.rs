//! Certificate mode: Alipay rotating its certificate (PROTOCOL.md A9). A signed answer
//! names an `alipay_cert_sn` payport has no key for; payport downloads that
//! certificate and trusts it only when it chains to a configured root certificate, is
//! valid now, has that SN, and the download's own answer verifies with its key.
//! Trusted keys are kept by SN (the configured certificate's and every adopted one), so
//! answers under the old and the new certificate both verify while Alipay rolls out.
//! They are kept in memory (the configured file is not rewritten), so a restart
//! downloads the new one again at the first answer under it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use payport_alipay_crypto::{check_issued_by, public_key_of_pem, CertSn, Verifier};
use payport_domain::GatewayError;
use serde_json::Value;

use crate::cert_mode::rotated;
use crate::client::{AlipayKey, Call, Client};
use crate::outcome::Answer;
use crate::response::{extract_response, verify_response, ResponseCheck};

const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

/// How long an SN whose certificate was refused is not downloaded again: a flood of
/// answers naming it costs one download a minute, not one per call.
const REFUSED_SECS: i64 = 60;

/// Alipay's trusted keys by certificate SN, and the state of downloads.
#[derive(Default)]
pub(crate) struct Rotation {
    trusted: RwLock<HashMap<String, Arc<Verifier>>>,
    /// Held for a whole download, so that one runs at a time; the SNs refused, with
    /// when (Unix seconds).
    refused: tokio::sync::Mutex<HashMap<String, i64>>,
}

impl Rotation {
    pub(crate) fn trust(&self, sn: &str, verifier: Arc<Verifier>) {
        self.trusted
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(sn.to_owned(), verifier);
    }

    /// The key that verifies answers under certificate `sn`, if payport trusts it.
    pub(crate) fn key_for(&self, sn: &str) -> Option<Arc<Verifier>> {
        self.trusted
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(sn)
            .cloned()
    }
}

impl Client {
    /// The SN a signed answer names, when payport has no key for it (certificate
    /// mode only). An unsigned answer never starts a download: anyone on the path could
    /// have written its SN.
    pub(crate) fn rotated_sn(&self, method: &str, body: &str) -> Option<String> {
        self.cert_mode()?;
        let taken = extract_response(body, method).ok()?;
        taken.sign.as_ref()?;
        let answered = taken.alipay_cert_sn?;
        self.rotation()
            .key_for(&answered)
            .is_none()
            .then_some(answered)
    }

    /// Downloads the certificate `sn` an answer to `method` named, and trusts its key
    /// from now on if it is to be trusted; nothing changes otherwise. One download at a
    /// time; an SN refused less than [`REFUSED_SECS`] ago is not downloaded again.
    ///
    /// # Errors
    /// `Unknown`, naming both SNs and why the certificate was not adopted: the answer
    /// that named it cannot be believed.
    pub(crate) async fn adopt_alipay_cert(
        &self,
        method: &str,
        sn: &str,
    ) -> Result<(), GatewayError> {
        let Some(current) = self.alipay_key().cert_sn else {
            return Ok(());
        };
        let refused = |why: &str| rotated(method, sn, &current, &format!("{why}; "));
        let mut refusals = self.rotation().refused.lock().await;
        // Another call may have adopted it while this one waited.
        if self.rotation().key_for(sn).is_some() {
            return Ok(());
        }
        let now = self.clock().now().timestamp();
        if let Some(at) = refusals.get(sn) {
            if now.saturating_sub(*at) < REFUSED_SECS {
                return Err(refused(
                    "its certificate was refused less than a minute ago (see the warning then)",
                ));
            }
        }
        let verifier = match self.download_cert(sn, now).await {
            Ok(verifier) => Arc::new(verifier),
            Err(why) => {
                refusals.insert(sn.to_owned(), now);
                tracing::warn!(old = %current, new = sn, why = %why, "Alipay named a certificate payport does not trust; answers under it are not believed");
                return Err(refused(&why));
            }
        };
        refusals.remove(sn);
        self.rotation().trust(sn, verifier.clone());
        tracing::warn!(
            old = %current,
            new = sn,
            "Alipay rotated its certificate; payport checked the new one against the root certificates and verifies with it from now on. It is kept in memory only: set alipay.alipay_cert to the new certificate before the next restart"
        );
        // Notifications carry no SN: they are verified with the newest key.
        *self.alipay_key_mut() = AlipayKey {
            verifier,
            cert_sn: Some(sn.to_owned()),
        };
        Ok(())
    }

    /// Downloads and checks certificate `sn`; why not, in words, when it is not to be
    /// trusted.
    async fn download_cert(&self, sn: &str, now: i64) -> Result<Verifier, String> {
        let Some(certs) = self.cert_mode() else {
            return Err("not in certificate mode".into());
        };
        let biz = serde_json::json!({ "alipay_cert_sn": sn }).to_string();
        let signed = self.sign(DOWNLOAD, &biz, &[]).map_err(|e| e.to_string())?;
        let call = Call {
            method: DOWNLOAD,
            biz: Value::Null,
            out_trade_no: None,
            out_request_no: None,
        };
        let text = self
            .send(&call, &signed)
            .await
            .map_err(|(e, _)| format!("its download failed: {e}"))?;
        let taken = extract_response(&text, DOWNLOAD)
            .map_err(|e| format!("its download answer is unusable: {e}"))?;
        let answer = Answer::parse(taken.content)
            .map_err(|e| format!("its download answer is unusable: {e}"))?;
        let content = match (answer.code.as_str(), answer.text("alipay_cert_content")) {
            ("10000", Some(content)) => content,
            _ => {
                return Err(format!(
                    "its download was refused ({} {})",
                    answer.code,
                    answer.sub_code.as_deref().unwrap_or("")
                ))
            }
        };
        let pem = base64::engine::general_purpose::STANDARD
            .decode(content)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or("the downloaded certificate is not base64 of PEM")?;
        check_issued_by(
            &pem,
            &certs.root_bundle_pem,
            u64::try_from(now).unwrap_or(0),
        )
        .map_err(|e| format!("the downloaded certificate: {e}"))?;
        let downloaded =
            CertSn::of_pem(&pem).map_err(|e| format!("the downloaded certificate: {e}"))?;
        if downloaded.sn() != sn {
            return Err(format!(
                "the downloaded certificate has SN {}",
                downloaded.sn()
            ));
        }
        let verifier = public_key_of_pem(&pem)
            .map_err(|e| e.to_string())
            .and_then(|key| {
                Verifier::new(&key, self.signer().sign_type()).map_err(|e| e.to_string())
            })
            .map_err(|e| format!("the downloaded certificate's key: {e}"))?;
        // Alipay signs the download's answer under the new certificate already.
        if !matches!(
            verify_response(&verifier, &text, DOWNLOAD),
            Ok(ResponseCheck::Verified { .. })
        ) {
            return Err(
                "the download answer does not verify with the certificate it carries".into(),
            );
        }
        Ok(verifier)
    }
}
