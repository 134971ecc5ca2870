//! `AlipayMapiGateway`: the domain's refund ports over the legacy services.
//!
//! - [`RefundSubmitter`], password mode: builds and signs the batch and returns the
//!   operator's auto-submitting form (`AwaitingOperator`); nothing is sent.
//! - [`RefundSubmitter`], no-password mode: POSTs the batch and maps the XML answer
//!   (see [`crate::answer`]); `Accepted` leaves the refund processing until the notify.
//! - [`RefundBatches`]: fresh batch numbers, and several refunds as one batch (the
//!   operator's batch in password mode).
//! - [`RefundNotificationVerifier`], either mode: verifies `batch_refund_notify`: MD5
//!   first, then the content, then `notify_verify` at the gateway; only then is
//!   anything in it believed.
//!
//! Each nopwd POST and each `notify_verify` is counted and timed by service and
//! outcome, in an `alipay_call` span, as the OpenAPI adapter counts its calls
//! (`payport_alipay_common::calls`); the password flow sends nothing, so counts none.
//!
//! There is no refund query on this gateway (PROTOCOL.md C), so it implements no
//! `RefundQuery`: its refunds wait for the notification.
//!
//! A refund that already carries a `batch_no` is re-sent under that number, never a
//! new one, so Alipay can refuse it as a duplicate rather than refund it twice.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payport_alipay_common::calls::{self, CallOutcome};
use payport_domain::ports::{
    Clock, ExchangeLog, IncomingNotification, RefundBatches, RefundNotice,
    RefundNotificationVerifier, RefundSubmission, RefundSubmitted, RefundSubmitter,
};
use payport_domain::{BatchNo, GatewayError};

use crate::answer::SyncAnswer;
use crate::batch::{build_batch, Batch, BatchError, BatchLine};
use crate::batch_no::{BatchNoSource, ProcessBatchNos};
use crate::client::{Client, LogContext, Reply};
use crate::config::{MapiConfig, MapiMode};
use crate::md5;
use crate::md5::Signed;
use crate::notify::BatchRefundNotify;
use crate::request::{auto_submit_form, post_url, refund_request};

/// The service that asks whether Alipay sent a notification (B4).
const NOTIFY_VERIFY: &str = "notify_verify";

/// Implements [`RefundSubmitter`], [`RefundBatches`] and [`RefundNotificationVerifier`]
/// for one partner in one [`MapiMode`].
pub struct AlipayMapiGateway {
    config: MapiConfig,
    mode: MapiMode,
    clock: Arc<dyn Clock>,
    client: Client,
    batch_nos: Arc<dyn BatchNoSource>,
}

impl AlipayMapiGateway {
    /// # Errors
    /// `Config` when the configuration cannot work (see [`MapiConfig`]), the HTTP
    /// client cannot be built, or the OS has no randomness for batch numbers.
    pub fn new(
        config: MapiConfig,
        mode: MapiMode,
        clock: Arc<dyn Clock>,
    ) -> Result<AlipayMapiGateway, GatewayError> {
        config.check()?;
        let client = Client::new(&config, clock.clone())?;
        let batch_nos = ProcessBatchNos::new().map_err(|e| GatewayError::Config(e.to_string()))?;
        Ok(AlipayMapiGateway {
            config,
            mode,
            clock,
            client,
            batch_nos: Arc::new(batch_nos),
        })
    }

    /// Records every exchange (raw request and answer, never the key) through this log.
    pub fn with_exchange_log(mut self, log: Arc<dyn ExchangeLog>) -> AlipayMapiGateway {
        self.client.set_log(log);
        self
    }

    /// Takes new batch numbers from `source` instead of [`ProcessBatchNos`].
    pub fn with_batch_nos(mut self, source: Arc<dyn BatchNoSource>) -> AlipayMapiGateway {
        self.batch_nos = source;
        self
    }

    pub fn mode(&self) -> MapiMode {
        self.mode
    }

    pub fn config(&self) -> &MapiConfig {
        &self.config
    }

    /// The batch `batch_no` with these refunds, dated now: one refund, or several
    /// approved refunds an operator sends together.
    ///
    /// # Errors
    /// [`BatchError`] when Alipay would refuse its shape.
    pub fn build_batch(&self, batch_no: BatchNo, lines: &[BatchLine]) -> Result<Batch, BatchError> {
        build_batch(batch_no, self.clock.now(), lines)
    }

    /// Sends a batch (no-password mode) or returns its operator form (password mode).
    /// `resent` says whether this batch_no was handed to Alipay before.
    ///
    /// # Errors
    /// As [`RefundSubmitter::submit_refund`].
    pub async fn submit_batch(
        &self,
        batch: &Batch,
        resent: bool,
    ) -> Result<RefundSubmitted, GatewayError> {
        self.submit(batch, resent, LogContext::default()).await
    }

    async fn submit(
        &self,
        batch: &Batch,
        resent: bool,
        context: LogContext<'_>,
    ) -> Result<RefundSubmitted, GatewayError> {
        let signed = refund_request(&self.config, self.mode, batch);
        let url = post_url(&self.config.gateway_url);
        if self.mode == MapiMode::Password {
            return Ok(RefundSubmitted::AwaitingOperator {
                batch_no: batch.batch_no().clone(),
                form_html: auto_submit_form(&url, &signed.params),
            });
        }
        self.send(&url, &signed, batch.batch_no(), resent, context)
            .await
    }

    /// POSTs a signed nopwd batch and reads the answer ([`crate::answer`]); counted and
    /// timed as one call.
    #[tracing::instrument(name = "alipay_call", skip_all, fields(method = self.mode.service()))]
    async fn send(
        &self,
        url: &str,
        signed: &Signed,
        batch_no: &BatchNo,
        resent: bool,
        context: LogContext<'_>,
    ) -> Result<RefundSubmitted, GatewayError> {
        let service = self.mode.service();
        let started = Instant::now();
        let reply = self
            .client
            .post_form(service, url, &signed.params, context)
            .await;
        let answered = reply.answered();
        let result = match reply {
            Reply::Body(text) => read_answer(&text, batch_no, resent, signed),
            Reply::Failed(why) | Reply::NoAnswer(why) => {
                Err(GatewayError::Unknown(format!("batch {batch_no}: {why}")))
            }
        };
        calls::record(
            service,
            CallOutcome::of(&result, answered),
            started.elapsed(),
        );
        result
    }

    /// B4: the local MD5 check, the content, then the gateway's `notify_verify`.
    async fn verify_notify(
        &self,
        notification: &IncomingNotification,
    ) -> Result<BatchRefundNotify, GatewayError> {
        let check = md5::verify(&notification.fields, &self.config.md5_key);
        if !check.is_valid() {
            return Err(GatewayError::BadSignature(format!(
                "batch_refund_notify: MD5 check failed ({})",
                check.verdict.as_str()
            )));
        }
        // Read before asking Alipay, so that junk costs no outgoing call.
        let notify = BatchRefundNotify::from_fields(&notification.fields)
            .map_err(|e| GatewayError::Unknown(format!("batch_refund_notify: {e}")))?;
        self.ask_notify_verify(&notify.notify_id).await?;
        Ok(notify)
    }

    /// `notify_verify` at the gateway: did Alipay send this notification? Counted and
    /// timed as one call: `true` a success, `false` and `invalid` Alipay's refusals.
    #[tracing::instrument(name = "alipay_call", skip_all, fields(method = NOTIFY_VERIFY))]
    async fn ask_notify_verify(&self, notify_id: &str) -> Result<(), GatewayError> {
        let started = Instant::now();
        let reply = self
            .client
            .notify_verify(&self.config.gateway_url, &self.config.partner, notify_id)
            .await;
        let outcome = match &reply {
            Reply::Body(text) if text == "true" => CallOutcome::Success,
            Reply::Body(text) if text == "false" || text == "invalid" => CallOutcome::Rejected,
            Reply::Body(_) | Reply::Failed(_) => CallOutcome::Unknown,
            Reply::NoAnswer(_) => CallOutcome::TransportError,
        };
        calls::record(NOTIFY_VERIFY, outcome, started.elapsed());
        match reply {
            // Exactly `true`, as the official Java demo compares: `false` is unknown or
            // expired, `invalid` is bad parameters, and anything else proves nothing.
            Reply::Body(text) if text == "true" => Ok(()),
            Reply::Body(text) => Err(GatewayError::BadSignature(format!(
                "notify_verify answered {:?}",
                text.chars().take(64).collect::<String>()
            ))),
            Reply::Failed(why) | Reply::NoAnswer(why) => Err(GatewayError::BadSignature(format!(
                "notify_verify could not be asked: {why}"
            ))),
        }
    }
}

/// The nopwd answer's outcome (C), warning when Alipay refused the signature.
fn read_answer(
    text: &str,
    batch_no: &BatchNo,
    resent: bool,
    signed: &Signed,
) -> Result<RefundSubmitted, GatewayError> {
    let answer = SyncAnswer::parse(text).map_err(|why| {
        GatewayError::Unknown(format!("batch {batch_no}: unreadable answer: {why}"))
    })?;
    if answer.error.as_deref() == Some("ILLEGAL_SIGN") {
        tracing::warn!(
            string_to_sign = %signed.string_to_sign,
            "Alipay refused our MD5 signature; check the key, and compare this exact signed string"
        );
    }
    answer.outcome(batch_no, resent)
}

fn config_error(e: BatchError) -> GatewayError {
    GatewayError::Config(format!("nothing was sent: {e}"))
}

#[async_trait]
impl RefundSubmitter for AlipayMapiGateway {
    async fn submit_refund(
        &self,
        refund: &RefundSubmission,
    ) -> Result<RefundSubmitted, GatewayError> {
        let line = BatchLine::for_refund(refund).map_err(config_error)?;
        // batch_no's date and refund_date come from one reading of the clock, or they
        // may disagree across Beijing midnight and Alipay refuses the batch: a number
        // made earlier goes with the time it was made (the refund's submitted_at).
        let (batch_no, resent, at) = match (&refund.batch_no, refund.submitted_at) {
            (Some(batch_no), Some(at)) => (batch_no.clone(), true, at),
            (Some(batch_no), None) => (batch_no.clone(), true, self.clock.now()),
            (None, _) => {
                let now = self.clock.now();
                (self.batch_nos.next_batch_no(now)?, false, now)
            }
        };
        let batch = build_batch(batch_no, at, &[line]).map_err(config_error)?;
        let context = LogContext {
            out_trade_no: Some(refund.out_trade_no.as_str()),
            out_request_no: Some(refund.out_request_no.as_str()),
        };
        self.submit(&batch, resent, context).await
    }
}

#[async_trait]
impl RefundBatches for AlipayMapiGateway {
    /// A batch number never used before, dated today in Beijing.
    fn next_batch_no(&self, now: DateTime<Utc>) -> Result<BatchNo, GatewayError> {
        self.batch_nos.next_batch_no(now)
    }

    async fn submit_batch(
        &self,
        refunds: &[RefundSubmission],
    ) -> Result<RefundSubmitted, GatewayError> {
        let lines = refunds
            .iter()
            .map(BatchLine::for_refund)
            .collect::<Result<Vec<_>, _>>()
            .map_err(config_error)?;
        let now = self.clock.now();
        let batch =
            build_batch(self.batch_nos.next_batch_no(now)?, now, &lines).map_err(config_error)?;
        let context = LogContext {
            out_trade_no: None,
            out_request_no: None,
        };
        self.submit(&batch, false, context).await
    }
}

#[async_trait]
impl RefundNotificationVerifier for AlipayMapiGateway {
    async fn verify_refund_notification(
        &self,
        notification: &IncomingNotification,
    ) -> Result<RefundNotice, GatewayError> {
        let notify = self.verify_notify(notification).await?;
        let succeeded = notify.succeeded();
        if usize::try_from(notify.success_num).ok() != Some(succeeded) {
            // Informational: each record's own result is what is applied.
            tracing::warn!(
                batch_no = %notify.batch_no,
                success_num = notify.success_num,
                succeeded,
                "batch_refund_notify's success_num differs from its SUCCESS records"
            );
        }
        Ok(notify.into_notice())
    }
}
