//! A refund gateway of the program's own: a decorator around another one's sending
//! capability (here the built-in Alipay OpenAPI gateway's) that keeps an audit trail of every refund it is
//! asked to send, and refuses, definitively, any single refund above a limit.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use payport_domain::ports::{RefundSubmission, RefundSubmitted, RefundSubmitter};
use payport_domain::{Amount, GatewayError, GatewayFailure, OutTradeNo, RefundId};

/// The code a refund refused by the limit fails with (its `failure.code`).
pub const OVER_LIMIT: &str = "EXAMPLE_REFUND_OVER_LIMIT";

/// One refund the decorator was asked to send, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub refund_id: RefundId,
    pub out_trade_no: OutTradeNo,
    pub amount: Amount,
    /// `sent`, `refused: <code>`, or the inner gateway's error.
    pub outcome: String,
}

/// The audit trail, shared with the program that reads it.
pub type AuditTrail = Arc<Mutex<Vec<AuditEntry>>>;

pub struct AuditedRefunds {
    inner: Arc<dyn RefundSubmitter>,
    trail: AuditTrail,
    limit: Amount,
}

impl AuditedRefunds {
    pub fn new(inner: Arc<dyn RefundSubmitter>, trail: AuditTrail, limit: Amount) -> Self {
        AuditedRefunds {
            inner,
            trail,
            limit,
        }
    }

    fn record(&self, refund: &RefundSubmission, outcome: String) {
        tracing::info!(refund_id = %refund.refund_id, amount = %refund.amount, %outcome, "refund audited");
        // A panic elsewhere must not stop the audit: the entries are still whole.
        self.trail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(AuditEntry {
                refund_id: refund.refund_id.clone(),
                out_trade_no: refund.out_trade_no.clone(),
                amount: refund.amount,
                outcome,
            });
    }

    /// The approval rule: a definitive refusal, so nothing is sent and the refund
    /// fails with [`OVER_LIMIT`] instead of being retried.
    fn check(&self, refund: &RefundSubmission) -> Result<(), GatewayError> {
        if refund.amount <= self.limit {
            return Ok(());
        }
        self.record(refund, format!("refused: {OVER_LIMIT}"));
        Err(GatewayError::Rejected(GatewayFailure {
            code: OVER_LIMIT.to_owned(),
            sub_code: None,
            message: format!("a single refund may not exceed {}", self.limit),
        }))
    }

    fn outcome(result: &Result<RefundSubmitted, GatewayError>) -> String {
        match result {
            Ok(_) => "sent".to_owned(),
            Err(e) => e.to_string(),
        }
    }
}

/// Only sending is decorated: the route keeps the inner gateway's refund query, which
/// sends no money and needs no audit.
#[async_trait]
impl RefundSubmitter for AuditedRefunds {
    async fn submit_refund(
        &self,
        refund: &RefundSubmission,
    ) -> Result<RefundSubmitted, GatewayError> {
        self.check(refund)?;
        let result = self.inner.submit_refund(refund).await;
        self.record(refund, Self::outcome(&result));
        result
    }
}
