//! The refund aggregate and its state machine.
//!
//! ```text
//! pending_approval ─▶ approved ─▶ processing ─▶ succeeded | failed
//!        │               │
//!        ▼               └─▶ awaiting_operator ─▶ succeeded | failed   (mapi password form)
//!     rejected
//! ```
//!
//! `processing` means "sent, outcome not known": only a definitive answer (response,
//! refund query or verified notification) moves it on. A refund keeps its
//! `out_request_no` for life, so every retry is deduplicated by Alipay.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::TransitionError;
use crate::ids::{BatchNo, EventId, OutRequestNo, OutTradeNo, RefundId};
use crate::money::Amount;
use crate::policy::ApprovalPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    PendingApproval,
    Approved,
    Rejected,
    Processing,
    AwaitingOperator,
    Succeeded,
    Failed,
}

impl RefundStatus {
    pub const ALL: [RefundStatus; 7] = [
        Self::PendingApproval,
        Self::Approved,
        Self::Rejected,
        Self::Processing,
        Self::AwaitingOperator,
        Self::Succeeded,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingApproval => "pending_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Processing => "processing",
            Self::AwaitingOperator => "awaiting_operator",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a refund in this status still holds part of the order's total.
    pub fn holds_reservation(self) -> bool {
        match self {
            Self::Rejected | Self::Failed => false,
            Self::PendingApproval
            | Self::Approved
            | Self::Processing
            | Self::AwaitingOperator
            | Self::Succeeded => true,
        }
    }

    pub fn is_final(self) -> bool {
        match self {
            Self::Rejected | Self::Succeeded | Self::Failed => true,
            Self::PendingApproval | Self::Approved | Self::Processing | Self::AwaitingOperator => {
                false
            }
        }
    }

    /// The edges of the state machine above (a status never "moves" to itself).
    pub fn can_become(self, next: RefundStatus) -> bool {
        use RefundStatus::*;
        matches!(
            (self, next),
            (PendingApproval, Approved)
                | (PendingApproval, Rejected)
                | (Approved, Processing)
                | (Approved, AwaitingOperator)
                | (Processing, Succeeded)
                | (Processing, Failed)
                | (AwaitingOperator, Succeeded)
                | (AwaitingOperator, Failed)
        )
    }
}

/// Which Alipay interface carries the refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundGatewayKind {
    /// `alipay.trade.refund` on the OpenAPI gateway.
    OpenApi,
    /// `refund_fastpay_by_platform_nopwd`: server to server.
    MapiNoPwd,
    /// `refund_fastpay_by_platform_pwd`: an operator confirms with the payment password.
    MapiPwd,
}

impl RefundGatewayKind {
    pub const ALL: [RefundGatewayKind; 3] = [Self::OpenApi, Self::MapiNoPwd, Self::MapiPwd];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenApi => "openapi",
            Self::MapiNoPwd => "mapi_nopwd",
            Self::MapiPwd => "mapi_pwd",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// A mapi route: no refund query, and Alipay knows its refunds by batch_no.
    pub fn is_legacy(self) -> bool {
        matches!(self, Self::MapiNoPwd | Self::MapiPwd)
    }
}

/// A definitive refusal by Alipay, as it was worded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayFailure {
    pub code: String,
    pub sub_code: Option<String>,
    pub message: String,
}

impl fmt::Display for GatewayFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(sub) = &self.sub_code {
            write!(f, "/{sub}")?;
        }
        write!(f, " {}", self.message)
    }
}

/// What Alipay reported when a refund succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefundSuccess {
    /// Alipay's cumulative `refund_fee` for the trade, when it was reported.
    pub refund_fee: Option<Amount>,
    pub refunded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: RefundId,
    pub out_trade_no: OutTradeNo,
    pub out_request_no: OutRequestNo,
    pub amount: Amount,
    pub reason: Option<String>,
    pub gateway: RefundGatewayKind,
    pub status: RefundStatus,
    /// Alipay's definitive refusal, once `failed`.
    pub failure: Option<GatewayFailure>,
    /// Why the last attempt's outcome is unknown, while `processing`.
    pub last_error: Option<String>,
    pub rejection_reason: Option<String>,
    /// Alipay's cumulative `refund_fee` reported with the success.
    pub refund_fee: Option<Amount>,
    /// The legacy mapi batch that carries this refund.
    pub batch_no: Option<BatchNo>,
    /// The auto-submit form an operator opens to confirm a mapi password refund.
    pub operator_form_html: Option<String>,
    /// How many times the refund was sent to the gateway (same out_request_no each time).
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// When a background sync should next ask Alipay about it.
    pub next_sync_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version: a save succeeds only against this version.
    pub version: i64,
    /// Made outside payport (Alipay's merchant console, another system) and learned
    /// afterwards: recorded as `succeeded` from the start, counted against the
    /// order's refundable amount, and never sent to Alipay.
    pub external: bool,
}

/// A refund to be reserved: everything the caller decides, nothing the store assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub refund_id: RefundId,
    pub out_trade_no: OutTradeNo,
    pub out_request_no: OutRequestNo,
    pub amount: Amount,
    pub reason: Option<String>,
    pub gateway: RefundGatewayKind,
    /// Chooses `pending_approval` or `approved` inside the reservation, against what
    /// the order's refunds already hold ([`crate::policy::admit_refund`]).
    pub approval: ApprovalPolicy,
    pub created_at: DateTime<Utc>,
    /// Set when the refund is to be sent as soon as it is reserved: admitted as
    /// `approved`, it is then also marked sent in the reservation's transaction
    /// ([`NewRefund::sent_at_once`]), saving a transaction before the gateway call.
    pub send_at_once: Option<SendAtOnce>,
}

/// What a refund reserved straight into `processing` needs before the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAtOnce {
    /// The id of its `refund.processing` event (the reservation's own event id names
    /// its `refund.approved`: see [`crate::event::reservation_events`]).
    pub event_id: EventId,
    /// The legacy batch that carries it, chosen before the call and stored with the
    /// reservation (see `RefundBatches::next_batch_no`); `None` on OpenAPI.
    pub batch_no: Option<BatchNo>,
}

impl NewRefund {
    /// The second step of a reservation that admitted `admitted` (see
    /// [`crate::event::reservation_steps`]): when it is approved and to be sent at once,
    /// the refund marked sent before the call, as [`Refund::start_submission`] marks it
    /// (one attempt, submitted when asked for), with its batch number, saved in the
    /// same transaction conditionally on `admitted`'s version. So a crash after the
    /// reservation leaves a refund the worker queries and resends with the same
    /// out_request_no, never one sent again as new. `None` otherwise.
    pub fn sent_at_once(&self, admitted: &Refund) -> Option<Refund> {
        let send = self.send_at_once.as_ref()?;
        let mut sent = admitted.clone();
        sent.batch_no = send.batch_no.clone();
        // Refused (not approved: held for an operator): nothing to send now.
        sent.start_submission(self.created_at).ok()?;
        Some(sent)
    }

    /// The refund as first stored, with the status the approval policy chose.
    pub fn into_refund(self, status: RefundStatus) -> Refund {
        Refund {
            refund_id: self.refund_id,
            out_trade_no: self.out_trade_no,
            out_request_no: self.out_request_no,
            amount: self.amount,
            reason: self.reason,
            gateway: self.gateway,
            status,
            failure: None,
            last_error: None,
            rejection_reason: None,
            refund_fee: None,
            batch_no: None,
            operator_form_html: None,
            attempts: 0,
            created_at: self.created_at,
            updated_at: self.created_at,
            submitted_at: None,
            completed_at: None,
            next_sync_at: None,
            version: 0,
            external: false,
        }
    }
}

impl Refund {
    pub const MAX_REASON_CHARS: usize = 256;

    fn refuse(&self, action: &'static str) -> TransitionError {
        TransitionError::new("refund", self.status.as_str(), action)
    }

    fn move_to(
        &mut self,
        next: RefundStatus,
        action: &'static str,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if !self.status.can_become(next) {
            return Err(self.refuse(action));
        }
        self.status = next;
        self.updated_at = now;
        if next.is_final() {
            self.completed_at = Some(now);
            self.next_sync_at = None;
        }
        Ok(())
    }

    /// # Errors
    /// The refund is not waiting for approval.
    pub fn approve(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.move_to(RefundStatus::Approved, "approve", now)
    }

    /// Rejecting releases the reserved amount.
    ///
    /// # Errors
    /// The refund is not waiting for approval.
    pub fn reject(&mut self, reason: String, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.move_to(RefundStatus::Rejected, "reject", now)?;
        self.rejection_reason = Some(reason);
        Ok(())
    }

    /// Marks the refund as sent before the gateway call, so that a crash during the call
    /// leaves it `processing` (to be queried), never `approved` (to be sent again as new).
    ///
    /// # Errors
    /// The refund is not approved.
    pub fn start_submission(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.move_to(RefundStatus::Processing, "submit", now)?;
        self.attempts += 1;
        self.submitted_at = Some(now);
        Ok(())
    }

    /// Counts a resend of a `processing` refund with its same out_request_no.
    ///
    /// # Errors
    /// The refund is not processing.
    pub fn start_resubmission(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        if self.status != RefundStatus::Processing {
            return Err(self.refuse("resend"));
        }
        self.attempts += 1;
        self.updated_at = now;
        Ok(())
    }

    /// Records that the outcome is still unknown and when to ask again.
    ///
    /// # Errors
    /// The refund is not processing.
    pub fn outcome_unknown(
        &mut self,
        why: String,
        ask_again_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if self.status != RefundStatus::Processing {
            return Err(self.refuse("record an unknown outcome for"));
        }
        self.last_error = Some(why);
        self.next_sync_at = Some(ask_again_at);
        self.updated_at = now;
        Ok(())
    }

    /// The legacy password flow: the refund waits for an operator to confirm on Alipay.
    ///
    /// # Errors
    /// The refund is not approved.
    pub fn await_operator(
        &mut self,
        batch_no: BatchNo,
        form_html: String,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.move_to(RefundStatus::AwaitingOperator, "hand to an operator", now)?;
        self.batch_no = Some(batch_no);
        self.operator_form_html = Some(form_html);
        Ok(())
    }

    /// Returns `false` when the refund had already succeeded (a repeated confirmation).
    ///
    /// # Errors
    /// The refund was never sent, or already failed or was rejected.
    pub fn succeed(
        &mut self,
        success: RefundSuccess,
        now: DateTime<Utc>,
    ) -> Result<bool, TransitionError> {
        if self.status == RefundStatus::Succeeded {
            return Ok(false);
        }
        self.move_to(RefundStatus::Succeeded, "mark succeeded", now)?;
        self.refund_fee = success.refund_fee;
        self.last_error = None;
        if let Some(at) = success.refunded_at {
            self.completed_at = Some(at);
        }
        Ok(true)
    }

    /// Records Alipay's definitive refusal; the reserved amount is released. Returns
    /// `false` when the refund had already failed.
    ///
    /// # Errors
    /// The refund was never sent, or already succeeded.
    pub fn fail(
        &mut self,
        failure: GatewayFailure,
        now: DateTime<Utc>,
    ) -> Result<bool, TransitionError> {
        if self.status == RefundStatus::Failed {
            return Ok(false);
        }
        self.move_to(RefundStatus::Failed, "mark failed", now)?;
        self.failure = Some(failure);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
    }

    pub(crate) fn refund(status: RefundStatus) -> Refund {
        NewRefund {
            refund_id: RefundId::parse("rf_1").unwrap(),
            out_trade_no: OutTradeNo::parse("o1").unwrap(),
            out_request_no: OutRequestNo::parse("r1").unwrap(),
            amount: Amount::parse("1.00").unwrap(),
            reason: None,
            gateway: RefundGatewayKind::OpenApi,
            approval: ApprovalPolicy::Auto,
            created_at: at(0),
            send_at_once: None,
        }
        .into_refund(status)
    }

    fn failure() -> GatewayFailure {
        GatewayFailure {
            code: "40004".into(),
            sub_code: Some("ACQ.TRADE_HAS_FINISHED".into()),
            message: "Business Failed".into(),
        }
    }

    /// What a person reads as a refund's last error.
    #[test]
    fn a_gateway_failure_reads_code_sub_code_and_message() {
        assert_eq!(
            failure().to_string(),
            "40004/ACQ.TRADE_HAS_FINISHED Business Failed"
        );
        let bare = GatewayFailure {
            sub_code: None,
            ..failure()
        };
        assert_eq!(bare.to_string(), "40004 Business Failed");
    }

    #[test]
    fn manual_flow_approve_submit_succeed() {
        let mut r = refund(RefundStatus::PendingApproval);
        r.approve(at(1)).unwrap();
        r.start_submission(at(2)).unwrap();
        assert_eq!((r.status, r.attempts), (RefundStatus::Processing, 1));
        let fee = Amount::parse("1.00").unwrap();
        let success = RefundSuccess {
            refund_fee: Some(fee),
            refunded_at: Some(at(3)),
        };
        assert_eq!(r.succeed(success.clone(), at(4)), Ok(true));
        assert_eq!(r.completed_at, Some(at(3)));
        assert_eq!(r.succeed(success, at(5)), Ok(false));
        assert!(r.fail(failure(), at(6)).is_err());
    }

    #[test]
    fn unknown_outcome_keeps_processing_and_the_same_number() {
        let mut r = refund(RefundStatus::Approved);
        r.start_submission(at(1)).unwrap();
        r.outcome_unknown("timeout".into(), at(11), at(1)).unwrap();
        r.start_resubmission(at(12)).unwrap();
        assert_eq!(r.status, RefundStatus::Processing);
        assert_eq!(r.attempts, 2);
        assert_eq!(r.out_request_no.as_str(), "r1");
        assert_eq!(r.next_sync_at, Some(at(11)));
    }

    #[test]
    fn a_refund_is_completed_when_it_ends_and_not_before() {
        // `completed_at` is the end the API shows; `next_sync_at` is when the worker
        // asks Alipay again, which must not stop while the outcome is open.
        let mut r = refund(RefundStatus::PendingApproval);
        r.approve(at(1)).unwrap();
        r.start_submission(at(2)).unwrap();
        r.outcome_unknown("timeout".into(), at(12), at(2)).unwrap();
        assert_eq!((r.completed_at, r.next_sync_at), (None, Some(at(12))));
        r.fail(failure(), at(13)).unwrap();
        assert_eq!((r.completed_at, r.next_sync_at), (Some(at(13)), None));
        let mut r = refund(RefundStatus::PendingApproval);
        r.reject("duplicate request".into(), at(1)).unwrap();
        assert_eq!(r.completed_at, Some(at(1)));
    }

    #[test]
    fn failure_releases_the_reservation() {
        let mut r = refund(RefundStatus::Approved);
        r.start_submission(at(1)).unwrap();
        assert_eq!(r.fail(failure(), at(2)), Ok(true));
        assert!(!r.status.holds_reservation());
        assert_eq!(r.fail(failure(), at(3)), Ok(false));
        assert!(r.succeed(RefundSuccess::default(), at(4)).is_err());
    }

    #[test]
    fn only_pending_approval_can_be_approved_or_rejected() {
        let mut r = refund(RefundStatus::Approved);
        assert_eq!(
            r.reject("no".into(), at(1)).unwrap_err().to_string(),
            "cannot reject a refund that is approved"
        );
        let mut r = refund(RefundStatus::PendingApproval);
        r.reject("duplicate request".into(), at(1)).unwrap();
        assert!(!r.status.holds_reservation());
        assert!(r.approve(at(2)).is_err());
    }

    #[test]
    fn unsent_refunds_cannot_complete() {
        for status in [RefundStatus::PendingApproval, RefundStatus::Approved] {
            assert!(refund(status)
                .succeed(RefundSuccess::default(), at(1))
                .is_err());
            assert!(refund(status).fail(failure(), at(1)).is_err());
        }
    }

    #[test]
    fn password_flow_waits_for_the_operator() {
        let mut r = refund(RefundStatus::Approved);
        r.await_operator(
            BatchNo::parse("20261121001").unwrap(),
            "<form>".into(),
            at(1),
        )
        .unwrap();
        assert_eq!(r.status, RefundStatus::AwaitingOperator);
        assert_eq!(r.succeed(RefundSuccess::default(), at(2)), Ok(true));
    }

    #[test]
    fn names_round_trip() {
        for s in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(s.as_str()), Some(s));
        }
        for k in RefundGatewayKind::ALL {
            assert_eq!(RefundGatewayKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(RefundStatus::parse("SUCCEEDED"), None);
    }
}
