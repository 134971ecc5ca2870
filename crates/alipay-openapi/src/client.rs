//! The gateway.do transport: build and sign the parameters, send them, verify the
//! answer over its raw response node, classify it, and log the exchange.
//!
//! Like the official SDKs, system parameters and `sign` travel in the URL query and
//! `biz_content` in the form body (PROTOCOL.md A3); each parameter is sent exactly once.
//! Nothing is retried here: a non-idempotent call that times out is the caller's to
//! query or re-send with the same business key.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use payport_domain::ids::AppId;
use payport_domain::ports::{Clock, ExchangeLog, GatewayExchange};
use payport_domain::GatewayError;
use serde_json::Value;

use payport_alipay_common::beijing;
use payport_alipay_common::calls::{self, CallOutcome};
use payport_alipay_common::transport::transport_error;
use payport_alipay_crypto::{Signer, Verifier};

use crate::cert_mode::CertMode;
use crate::outcome::{unsigned_failure_believable, Answer};
use crate::response::{extract_response, verify_response, ResponseCheck};
use crate::rotation::Rotation;
use crate::sign_content::request_sign_content;

/// Where and how to reach Alipay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiConfig {
    /// e.g. `https://openapi.alipay.com/gateway.do`, or the simulator's.
    pub gateway_url: String,
    pub app_id: AppId,
    /// Where Alipay sends trade notifications (payments and refunds).
    pub notify_url: Option<String>,
    /// payport's return callback: when set, Alipay sends the buyer's browser here
    /// instead of to the request's `return_url`, so that the return is verified before
    /// the browser goes on to the shop's page.
    pub return_url: Option<String>,
    pub connect_timeout: Duration,
    /// The whole request, connect included (the official Java SDK reads for 15 s).
    pub timeout: Duration,
}

impl OpenApiConfig {
    pub const PRODUCTION_GATEWAY: &'static str = "https://openapi.alipay.com/gateway.do";
    pub const SANDBOX_GATEWAY: &'static str = "https://openapi-sandbox.dl.alipaydev.com/gateway.do";

    pub fn new(gateway_url: impl Into<String>, app_id: AppId) -> OpenApiConfig {
        OpenApiConfig {
            gateway_url: gateway_url.into(),
            app_id,
            notify_url: None,
            return_url: None,
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Alipay's key as payport trusts it now, and in certificate mode the SN of the
/// certificate it came from.
#[derive(Clone)]
pub(crate) struct AlipayKey {
    pub verifier: Arc<Verifier>,
    pub cert_sn: Option<String>,
}

/// One API call: the method, its `biz_content`, and what to log it under.
pub(crate) struct Call<'a> {
    pub method: &'static str,
    pub biz: Value,
    pub out_trade_no: Option<&'a str>,
    pub out_request_no: Option<&'a str>,
}

/// A signed parameter set, ready to send or to hand to the buyer.
pub(crate) struct Signed {
    /// Every parameter, `sign` last, empty values already dropped.
    pub params: Vec<(String, String)>,
    /// The exact string that was signed (for diagnostics; never contains a key).
    pub string_to_sign: String,
}

pub struct Client {
    config: OpenApiConfig,
    signer: Signer,
    /// Verifies Alipay; in certificate mode, replaced when Alipay rotates (`rotation.rs`).
    alipay: RwLock<AlipayKey>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    log: Option<Arc<dyn ExchangeLog>>,
    /// Certificate mode; `None` in public key mode.
    certs: Option<CertMode>,
    /// Certificate mode: Alipay's keys by certificate SN (`rotation.rs`).
    rotation: Rotation,
}

impl Client {
    /// # Errors
    /// `Config` when the HTTP client cannot be built.
    pub fn new(
        config: OpenApiConfig,
        signer: Signer,
        verifier: Verifier,
        clock: Arc<dyn Clock>,
    ) -> Result<Client, GatewayError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .build()
            .map_err(|e| GatewayError::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            config,
            signer,
            alipay: RwLock::new(AlipayKey {
                verifier: Arc::new(verifier),
                cert_sn: None,
            }),
            http,
            clock,
            log: None,
            certs: None,
            rotation: Rotation::default(),
        })
    }

    /// Records every exchange (raw request and response) through this log.
    pub fn with_exchange_log(mut self, log: Arc<dyn ExchangeLog>) -> Client {
        self.log = Some(log);
        self
    }

    /// Certificate mode: every request carries these SNs, and answers under another
    /// Alipay certificate are not believed. `verifier` must hold the key of the Alipay
    /// certificate `certs.alipay_cert_sn` names.
    pub fn with_certificates(mut self, certs: CertMode) -> Client {
        let mut key = self.alipay_key_mut();
        key.cert_sn = Some(certs.alipay_cert_sn.clone());
        self.rotation
            .trust(&certs.alipay_cert_sn, key.verifier.clone());
        drop(key);
        self.certs = Some(certs);
        self
    }

    pub fn cert_mode(&self) -> Option<&CertMode> {
        self.certs.as_ref()
    }

    pub fn config(&self) -> &OpenApiConfig {
        &self.config
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// What verifies Alipay now.
    pub(crate) fn verifier(&self) -> Arc<Verifier> {
        self.alipay_key().verifier
    }

    pub(crate) fn rotation(&self) -> &Rotation {
        &self.rotation
    }

    pub(crate) fn alipay_key(&self) -> AlipayKey {
        self.alipay
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn alipay_key_mut(&self) -> std::sync::RwLockWriteGuard<'_, AlipayKey> {
        self.alipay
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn signer(&self) -> &Signer {
        &self.signer
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Builds and signs the parameters of `method` (PROTOCOL.md A1/A2).
    pub(crate) fn sign(
        &self,
        method: &str,
        biz_content: &str,
        extra: &[(&str, Option<&str>)],
    ) -> Result<Signed, GatewayError> {
        let timestamp = beijing::format(self.clock.now());
        let mut params: Vec<(String, String)> = [
            ("app_id", Some(self.config.app_id.as_str())),
            ("method", Some(method)),
            ("format", Some("JSON")),
            ("charset", Some("utf-8")),
            ("sign_type", Some(self.signer.sign_type().as_str())),
            ("timestamp", Some(timestamp.as_str())),
            ("version", Some("1.0")),
            ("notify_url", self.config.notify_url.as_deref()),
            ("biz_content", Some(biz_content)),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        // Empty values are neither sent nor signed (PROTOCOL.md A2 step 2).
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| (k.to_owned(), v.to_owned()))
        })
        .collect();
        params.extend(self.certs.iter().flat_map(CertMode::params));
        let string_to_sign =
            request_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let sign = self
            .signer
            .sign(string_to_sign.as_bytes())
            .map_err(|e| GatewayError::Config(format!("signing failed: {e}")))?;
        params.push(("sign".to_owned(), sign));
        Ok(Signed {
            params,
            string_to_sign,
        })
    }

    /// `gateway?query`, whether or not the gateway URL already has a query.
    pub(crate) fn gateway_url_with(&self, query: &str) -> String {
        let separator = if self.config.gateway_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}{query}", self.config.gateway_url)
    }

    /// Sends a server-to-server call and returns its verified `10000` node.
    ///
    /// # Errors
    /// Per the table in [`crate::outcome`]; `Unknown` for transport trouble, non-200
    /// answers and unparsable bodies; `BadSignature` for answers that do not verify.
    ///
    /// Each call is counted and timed by method and outcome (`payport_alipay_calls_total`,
    /// `payport_alipay_call_duration_seconds`), in a span naming the method.
    #[tracing::instrument(name = "alipay_call", skip_all, fields(method = call.method))]
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<Answer, GatewayError> {
        let method = call.method;
        let started = Instant::now();
        // A request that cannot be signed is never sent: no call to count.
        let signed = self.sign(method, &call.biz.to_string(), &[])?;
        let (result, reached) = self.exchange(call, signed).await;
        calls::record(method, CallOutcome::of(&result, reached), started.elapsed());
        result
    }

    /// Sends one signed call and believes its answer; `false` beside the result when
    /// no answer came back at all (connect, timeout, a body cut short).
    async fn exchange(
        &self,
        call: Call<'_>,
        signed: Signed,
    ) -> (Result<Answer, GatewayError>, bool) {
        let text = match self.send(&call, &signed).await {
            Ok(text) => text,
            Err((e, reached)) => return (Err(e), reached),
        };
        // Certificate mode: an answer under a certificate payport does not have yet is
        // believed only once that certificate is fetched and trusted (PROTOCOL.md A9).
        if let Some(sn) = self.rotated_sn(call.method, &text) {
            if let Err(e) = self.adopt_alipay_cert(call.method, &sn).await {
                return (Err(e), true);
            }
        }
        let result = self.believe(call.method, &text);
        if let Err(GatewayError::Rejected(failure)) = &result {
            if let (Some(certs), Some(sub_code)) = (&self.certs, failure.sub_code.as_deref()) {
                if sub_code.contains("cert") {
                    tracing::warn!(
                        method = call.method,
                        sub_code,
                        app_cert_sn = %certs.app_cert_sn,
                        alipay_root_cert_sn = %certs.alipay_root_cert_sn,
                        "Alipay refused payport's certificates; compare these SNs with `payport alipay cert-sn` over the files Alipay's console issued"
                    );
                }
            }
            if failure.sub_code.as_deref() == Some("isv.invalid-signature") {
                tracing::warn!(
                    method = call.method,
                    string_to_sign = %signed.string_to_sign,
                    "Alipay rejected our signature; compare this exact signed string with Alipay's sub_msg"
                );
            }
        }
        (result, true)
    }

    /// Sends one signed call and logs the exchange; the body of a `200` answer, or the
    /// error with whether any answer came back.
    pub(crate) async fn send(
        &self,
        call: &Call<'_>,
        signed: &Signed,
    ) -> Result<String, (GatewayError, bool)> {
        let (body_params, query_params): (Vec<_>, Vec<_>) =
            signed.params.iter().partition(|(k, _)| k == "biz_content");
        let url = self.gateway_url_with(&encode(query_params));
        let body = encode(body_params);
        let started_at = self.clock.now();
        let started = Instant::now();
        let sent = self
            .http
            .post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(body.clone())
            .send()
            .await;
        let (status, text, outcome) = match sent {
            Err(e) => (None, None, transport_error(&e)),
            Ok(response) => {
                let status = response.status();
                match response.text().await {
                    Ok(text) => (
                        Some(status),
                        Some(text),
                        format!("http {}", status.as_u16()),
                    ),
                    Err(e) => (Some(status), None, transport_error(&e)),
                }
            }
        };
        self.record(GatewayExchange {
            operation: call.method.to_owned(),
            out_trade_no: call.out_trade_no.map(str::to_owned),
            out_request_no: call.out_request_no.map(str::to_owned),
            request: format!("POST {url}\n\n{body}"),
            // A bill's download URL works for anyone who has it: not kept.
            response: text.as_deref().map(crate::bill::mask_download_url),
            outcome: outcome.clone(),
            started_at,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        })
        .await;
        let (Some(status), Some(text)) = (status, text) else {
            return Err((GatewayError::Unknown(outcome), false));
        };
        if status != reqwest::StatusCode::OK {
            return Err((
                GatewayError::Unknown(format!("HTTP {}", status.as_u16())),
                true,
            ));
        }
        Ok(text)
    }

    /// Verifies a raw response body and classifies it (PROTOCOL.md A4).
    fn believe(&self, method: &str, body: &str) -> Result<Answer, GatewayError> {
        let key = self.alipay_key();
        let mut verifier = key.verifier;
        // Certificate mode: verified with the key of the certificate the answer names.
        if let (Some(certs), Ok(taken_apart)) = (&self.certs, extract_response(body, method)) {
            if let Some(sn) = taken_apart.alipay_cert_sn.as_deref() {
                match self.rotation.key_for(sn) {
                    Some(trusted) => verifier = trusted,
                    None => certs.check_answer(method, key.cert_sn.as_deref(), Some(sn))?,
                }
            }
        }
        let check = verify_response(&verifier, body, method)
            .map_err(|e| GatewayError::Unknown(format!("unparsable response: {e}")))?;
        match check {
            ResponseCheck::Verified { content, .. } => Answer::parse(content)?.into_success(),
            ResponseCheck::BadSignature { .. } => Err(GatewayError::BadSignature(format!(
                "the {method} response signature did not verify"
            ))),
            // Only a failure that Alipay sends unsigned because the call never ran is
            // believed; an unsigned success, or business answer, never is.
            ResponseCheck::Unsigned { content, .. } => {
                let node = Answer::parse(content)?;
                if unsigned_failure_believable(&node.code) {
                    Err(GatewayError::Rejected(node.failure()))
                } else {
                    Err(GatewayError::BadSignature(format!(
                        "unsigned {method} response with code {}",
                        node.code
                    )))
                }
            }
        }
    }

    async fn record(&self, exchange: GatewayExchange) {
        if let Some(log) = &self.log {
            if let Err(e) = log.record(&exchange).await {
                // The call already happened; losing its log line must not change its outcome.
                tracing::warn!(operation = %exchange.operation, error = %e, "could not record a gateway exchange");
            }
        }
    }
}

/// `k=v&...` with form URL-encoding (spaces as `+`, as Java's URLEncoder does).
pub(crate) fn encode<'a>(pairs: impl IntoIterator<Item = &'a (String, String)>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}
