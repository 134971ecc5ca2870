//! The HTTP side: one POST per nopwd batch and one GET per `notify_verify`, each
//! recorded through the exchange log. Nothing is retried here: a batch that timed out
//! may have been carried out, and only its `batch_refund_notify` will say. Counting a
//! call needs what its answer means, so the gateway does that (`payport_alipay_calls_total`).

use std::sync::Arc;
use std::time::Instant;

use payport_alipay_common::transport::transport_error;
use payport_domain::ports::{Clock, ExchangeLog, GatewayExchange};
use payport_domain::GatewayError;

use crate::config::MapiConfig;
use crate::request::{encode, url_with};

/// What came back from one call, or why nothing usable did.
pub(crate) enum Reply {
    /// HTTP 200 with a UTF-8 body.
    Body(String),
    /// An answer of no use, described in one line (`HTTP 500`, not UTF-8).
    Failed(String),
    /// No answer at all (`timeout`, `connection failed: ...`, a body cut short).
    NoAnswer(String),
}

impl Reply {
    /// Whether Alipay answered at all (the call's outcome is then not a transport error).
    pub(crate) fn answered(&self) -> bool {
        !matches!(self, Reply::NoAnswer(_))
    }
}

/// Who a call is about, for the exchange log.
#[derive(Default)]
pub(crate) struct LogContext<'a> {
    pub out_trade_no: Option<&'a str>,
    pub out_request_no: Option<&'a str>,
}

pub(crate) struct Client {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    log: Option<Arc<dyn ExchangeLog>>,
}

impl Client {
    pub(crate) fn new(config: &MapiConfig, clock: Arc<dyn Clock>) -> Result<Client, GatewayError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .build()
            .map_err(|e| GatewayError::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            http,
            clock,
            log: None,
        })
    }

    pub(crate) fn set_log(&mut self, log: Arc<dyn ExchangeLog>) {
        self.log = Some(log);
    }

    /// POSTs a signed parameter set as a UTF-8 form to `url`.
    pub(crate) async fn post_form(
        &self,
        operation: &str,
        url: &str,
        params: &[(String, String)],
        context: LogContext<'_>,
    ) -> Reply {
        let body = encode(params);
        let request = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(body.clone());
        self.exchange(operation, format!("POST {url}\n\n{body}"), request, context)
            .await
    }

    /// `GET {gateway}?service=notify_verify&partner=…&notify_id=…` (B4).
    pub(crate) async fn notify_verify(
        &self,
        gateway_url: &str,
        partner: &str,
        notify_id: &str,
    ) -> Reply {
        let query = encode(&[
            ("service".to_owned(), "notify_verify".to_owned()),
            ("partner".to_owned(), partner.to_owned()),
            ("notify_id".to_owned(), notify_id.to_owned()),
        ]);
        let url = url_with(gateway_url, &query);
        let request = self.http.get(&url);
        self.exchange(
            "notify_verify",
            format!("GET {url}"),
            request,
            LogContext::default(),
        )
        .await
    }

    async fn exchange(
        &self,
        operation: &str,
        logged_request: String,
        request: reqwest::RequestBuilder,
        context: LogContext<'_>,
    ) -> Reply {
        let started_at = self.clock.now();
        let started = Instant::now();
        let (text, reply) = match request.send().await {
            Err(e) => (None, Reply::NoAnswer(transport_error(&e))),
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Err(e) => (None, Reply::NoAnswer(transport_error(&e))),
                    Ok(bytes) => {
                        let lossy = String::from_utf8_lossy(&bytes).into_owned();
                        let reply = if status != reqwest::StatusCode::OK {
                            Reply::Failed(format!("HTTP {}", status.as_u16()))
                        } else {
                            match String::from_utf8(bytes.to_vec()) {
                                Ok(text) => Reply::Body(text),
                                Err(_) => Reply::Failed("the answer is not UTF-8".into()),
                            }
                        };
                        (Some(lossy), reply)
                    }
                }
            }
        };
        let outcome = match &reply {
            Reply::Body(_) => "http 200".to_owned(),
            Reply::Failed(why) | Reply::NoAnswer(why) => why.clone(),
        };
        self.record(GatewayExchange {
            operation: operation.to_owned(),
            out_trade_no: context.out_trade_no.map(str::to_owned),
            out_request_no: context.out_request_no.map(str::to_owned),
            request: logged_request,
            response: text,
            outcome,
            started_at,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        })
        .await;
        reply
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
