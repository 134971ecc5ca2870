//! The shop's side: requests to any payport instance, every answer recorded against the
//! spec, and a refund attempt retried (same key) across instances until it has an
//! answer that is not "try again".

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::Rng;
use serde_json::Value;

use payport_procs::TOKEN;

use crate::plan::Attempt;
use crate::spec::{Op, Spec, Tally};

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 201 or 202 with a refund.
    Refund {
        refund_id: String,
        out_request_no: String,
        /// Its amount, as payport prints it.
        amount: String,
    },
    /// A definitive error, by code (e.g. REFUND_EXCEEDS_REFUNDABLE).
    Refused { status: u16, code: String },
    /// Still "try again" (or no answer) when the deadline came.
    GaveUp(String),
}

/// payport's instances, all on one database.
pub struct Api {
    http: reqwest::Client,
    pub urls: Vec<String>,
    spec: Spec,
    pub tally: Mutex<Tally>,
}

/// An HTTP answer, or none.
pub type Answer = Result<(u16, Value), String>;

impl Api {
    pub fn new(urls: Vec<String>) -> anyhow::Result<Arc<Api>> {
        Ok(Arc::new(Api {
            // Longer than payport's own gateway timeout, so a slow answer still comes.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            urls,
            spec: Spec::committed()?,
            tally: Mutex::new(Tally::default()),
        }))
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One request to instance `i`, its answer recorded.
    pub async fn call(
        &self,
        op: Op,
        i: usize,
        path: &str,
        body: Option<&str>,
        key: Option<&str>,
    ) -> Answer {
        let url = format!("{}{path}", self.urls[i % self.urls.len()]);
        let mut request = match body {
            Some(body) => self
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .body(body.to_owned()),
            None => self.http.get(url),
        }
        .bearer_auth(TOKEN);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let reply = match request.send().await {
            Ok(reply) => reply,
            Err(e) => return Err(self.no_answer(e)),
        };
        let status = reply.status().as_u16();
        let text = match reply.text().await {
            Ok(text) => text,
            Err(e) => return Err(self.no_answer(e)),
        };
        self.tally().record(&self.spec, op, status, &text);
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    fn no_answer(&self, e: reqwest::Error) -> String {
        self.tally().no_answer += 1;
        format!("no answer: {e}")
    }

    /// A read from any instance, tried again on others while they are down.
    pub async fn read(&self, op: Op, path: &str, rng: &mut SmallRng) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let i = rng.random_range(0..self.urls.len());
            match self.call(op, i, path, None, None).await {
                Ok((200, value)) => return Ok(value),
                Ok((status, value)) if status != 503 => {
                    anyhow::bail!("{} {path}: {status} {value}", op.name())
                }
                answer if Instant::now() > deadline => {
                    anyhow::bail!("{} {path}: {answer:?}", op.name())
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Sends one refund attempt until it gets an answer that is not "try again": on no
    /// answer (a killed instance), `409 IDEMPOTENCY_KEY_IN_USE` or `CONFLICT`, or a
    /// `503`, the same request goes to a random instance after a backoff.
    pub async fn refund(
        &self,
        attempt: &Attempt,
        deadline: Instant,
        rng: &mut SmallRng,
    ) -> Outcome {
        let path = format!("/v1/orders/{}/refunds", attempt.out_trade_no);
        let mut backoff = Duration::from_millis(50);
        loop {
            let i = rng.random_range(0..self.urls.len());
            let answer = self
                .call(
                    Op::CreateRefund,
                    i,
                    &path,
                    Some(&attempt.body),
                    Some(&attempt.key),
                )
                .await;
            let last = match answer {
                Ok((201 | 202, refund)) => {
                    return Outcome::Refund {
                        refund_id: text(&refund["refund_id"]),
                        out_request_no: text(&refund["out_request_no"]),
                        amount: text(&refund["amount"]),
                    }
                }
                Ok((status, error)) => {
                    let code = text(&error["code"]);
                    let again = status == 503
                        || (status == 409
                            && matches!(code.as_str(), "IDEMPOTENCY_KEY_IN_USE" | "CONFLICT"));
                    if !again {
                        return Outcome::Refused { status, code };
                    }
                    format!("{status} {code}")
                }
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Outcome::GaveUp(last);
            }
            let jitter = rng.random_range(0..=backoff.as_millis() as u64);
            tokio::time::sleep(backoff + Duration::from_millis(jitter)).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
