//! Errors shared by the aggregates, the ports and the use cases.

use crate::refund::GatewayFailure;

/// A state-machine move that is not allowed from the current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} {what} that is {from}")]
pub struct TransitionError {
    /// "an order" or "a refund".
    pub what: &'static str,
    pub from: &'static str,
    pub action: &'static str,
}

impl TransitionError {
    pub(crate) fn new(entity: &'static str, from: &'static str, action: &'static str) -> Self {
        let what = if entity == "order" {
            "an order"
        } else {
            "a refund"
        };
        TransitionError { what, from, action }
    }
}

/// What a payment or refund gateway call came to, split by what the caller must do
/// (PROTOCOL.md C).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Alipay definitively refused; nothing happened. Final.
    #[error("Alipay rejected the request: {0}")]
    Rejected(GatewayFailure),
    /// The outcome is not known (timeout, transport error, 5xx, 20000, ACQ.SYSTEM_ERROR,
    /// fund_change=N): query, or retry with the same out_request_no. Never guess.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// An answer or notification whose signature did not verify; nothing in it is believed.
    #[error("signature did not verify: {0}")]
    BadSignature(String),
    /// payport is misconfigured for this gateway (keys, ids, URLs); nothing was sent.
    #[error("gateway configuration: {0}")]
    Config(String),
}

/// Storage failures the domain reacts to; everything else is `Unavailable`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// A unique key already exists (out_trade_no, out_request_no, notify id ...).
    #[error("already exists: {0}")]
    Duplicate(String),
    /// The row changed since it was read (version or expected status mismatch).
    #[error("changed concurrently: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}
