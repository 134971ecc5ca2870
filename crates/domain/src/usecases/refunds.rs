//! Refund use cases: request, approve, reject, submit, sync.

use std::sync::Arc;

use super::orders::{check_text, load_order};
use super::{Ports, ServiceError, Settings};
use crate::error::GatewayError;
use crate::ids::{OutRequestNo, OutTradeNo, RefundId};
use crate::money::Amount;
use crate::order::OrderStatus;
use crate::policy::ReservationRefused;
use crate::ports::{
    Page, RefundFilter, RefundGateway, RefundLookup, RefundSubmission, RefundSubmitted,
    ReserveError,
};
use crate::refund::{NewRefund, Refund, RefundGatewayKind, RefundStatus};

/// A merchant's refund request, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub out_trade_no: OutTradeNo,
    pub amount: Amount,
    pub reason: Option<String>,
    /// The merchant's own retry key; payport chooses one when absent.
    pub out_request_no: Option<OutRequestNo>,
    /// Defaults to the policy's gateway.
    pub gateway: Option<RefundGatewayKind>,
}

#[derive(Clone)]
pub struct Refunds {
    pub(super) ports: Ports,
    pub(super) settings: Arc<Settings>,
}

impl Refunds {
    pub fn new(ports: Ports, settings: Arc<Settings>) -> Refunds {
        Refunds { ports, settings }
    }

    /// Reserves the amount (atomically, against concurrent requests), then either waits
    /// for an operator or sends the refund at once, per the approval policy.
    ///
    /// The same `out_request_no` with the same amount and gateway returns the existing
    /// refund instead of creating another.
    ///
    /// # Errors
    /// `OrderNotFound`, `OrderNotPaid`, `OrderClosed`, `OrderFinished`,
    /// `RefundWindowExpired`, `RefundExceedsRefundable`, `OutRequestNoReused`,
    /// `GatewayNotConfigured`, `Validation`: in all of these nothing changed.
    pub async fn request(&self, request: RefundRequest) -> Result<Refund, ServiceError> {
        if let Some(reason) = &request.reason {
            check_text("reason", reason, Refund::MAX_REASON_CHARS, false)?;
        }
        let policy = &self.settings.refund_policy;
        let gateway = request.gateway.unwrap_or(policy.default_gateway);
        self.gateway(gateway)?;
        let order = load_order(&self.ports, &request.out_trade_no).await?;
        // A retry of a request whose answer was lost must get that refund back, even
        // when the order has since become refunded or finished, or the window closed.
        if let Some(number) = &request.out_request_no {
            let existing = self
                .ports
                .refunds
                .get_by_out_request_no(&request.out_trade_no, number)
                .await?;
            if let Some(existing) = existing {
                return if existing.amount == request.amount && existing.gateway == gateway {
                    Ok(existing)
                } else {
                    Err(ServiceError::OutRequestNoReused(existing.refund_id))
                };
            }
        }
        let now = self.ports.clock.now();
        match order.status {
            OrderStatus::Paid | OrderStatus::PartiallyRefunded => {}
            other => return Err(ServiceError::for_unrefundable(other)),
        }
        if policy.window_expired(&order, now) {
            return Err(ServiceError::RefundWindowExpired {
                days: policy.window.num_days(),
            });
        }
        let new = NewRefund {
            refund_id: self.ports.ids.refund_id(),
            out_trade_no: request.out_trade_no,
            out_request_no: request
                .out_request_no
                .unwrap_or_else(|| self.ports.ids.out_request_no()),
            amount: request.amount,
            reason: request.reason,
            gateway,
            status: policy.approval.initial_status(request.amount),
            created_at: now,
        };
        let refund = match self.ports.refunds.reserve(&new).await {
            Ok(refund) => refund,
            Err(ReserveError::DuplicateOutRequestNo(existing)) => {
                return if existing.amount == new.amount && existing.gateway == new.gateway {
                    Ok(*existing)
                } else {
                    Err(ServiceError::OutRequestNoReused(existing.refund_id))
                };
            }
            Err(ReserveError::OrderNotFound) => {
                return Err(ServiceError::OrderNotFound(new.out_trade_no))
            }
            Err(ReserveError::Refused(ReservationRefused::ExceedsRefundable { refundable })) => {
                return Err(ServiceError::RefundExceedsRefundable { refundable })
            }
            Err(ReserveError::Refused(ReservationRefused::OrderNotRefundable(status))) => {
                return Err(ServiceError::for_unrefundable(status))
            }
            Err(ReserveError::Repo(e)) => return Err(e.into()),
        };
        if refund.status == RefundStatus::Approved {
            self.submit(refund).await
        } else {
            Ok(refund)
        }
    }

    /// # Errors
    /// `RefundNotFound`.
    pub async fn get(&self, refund_id: &RefundId) -> Result<Refund, ServiceError> {
        self.ports
            .refunds
            .get(refund_id)
            .await?
            .ok_or_else(|| ServiceError::RefundNotFound(refund_id.clone()))
    }

    /// # Errors
    /// `OrderNotFound`.
    pub async fn list_for_order(
        &self,
        out_trade_no: &OutTradeNo,
    ) -> Result<Vec<Refund>, ServiceError> {
        load_order(&self.ports, out_trade_no).await?;
        Ok(self.ports.refunds.list_for_order(out_trade_no).await?)
    }

    /// # Errors
    /// `Validation` for a cursor payport did not issue; `Storage`.
    pub async fn list(&self, filter: &RefundFilter) -> Result<Page<Refund>, ServiceError> {
        self.ports
            .refunds
            .list(filter)
            .await
            .map_err(super::orders::bad_cursor)
    }

    /// An operator approves a refund; it is sent at once.
    ///
    /// # Errors
    /// `InvalidState` unless it was pending approval; `Conflict` if another operator
    /// decided it at the same moment.
    pub async fn approve(&self, refund_id: &RefundId) -> Result<Refund, ServiceError> {
        let mut refund = self.get(refund_id).await?;
        refund.approve(self.ports.clock.now())?;
        self.save(&mut refund).await?;
        self.submit(refund).await
    }

    /// An operator rejects a refund; its amount is released.
    ///
    /// # Errors
    /// `InvalidState` unless it was pending approval; `Validation` for a bad reason.
    pub async fn reject(
        &self,
        refund_id: &RefundId,
        reason: String,
    ) -> Result<Refund, ServiceError> {
        check_text("reason", &reason, Refund::MAX_REASON_CHARS, true)?;
        let mut refund = self.get(refund_id).await?;
        refund.reject(reason, self.ports.clock.now())?;
        self.save(&mut refund).await?;
        Ok(refund)
    }

    /// Sends an approved refund. It is marked `processing` and saved BEFORE the call,
    /// so a crash mid-call leaves it to be queried, never sent again as new.
    ///
    /// # Errors
    /// `InvalidState` unless approved; `Conflict` when another process is sending it.
    /// Gateway trouble is not an error: it is recorded on the refund.
    pub async fn submit(&self, mut refund: Refund) -> Result<Refund, ServiceError> {
        let gateway = self.gateway(refund.gateway)?.clone();
        let mut submission = self.submission(&refund).await?;
        let now = self.ports.clock.now();
        if refund.gateway == RefundGatewayKind::MapiPwd {
            // Building the operator's form sends nothing: no `processing` step.
            return match gateway.submit_refund(&submission).await {
                Ok(RefundSubmitted::AwaitingOperator {
                    batch_no,
                    form_html,
                }) => {
                    refund.await_operator(batch_no, form_html, now)?;
                    self.save(&mut refund).await?;
                    Ok(refund)
                }
                Ok(other) => Err(ServiceError::GatewayDataMismatch(format!(
                    "the password flow answered {other:?} instead of a form"
                ))),
                Err(e) => Err(e.into()),
            };
        }
        if refund.batch_no.is_none() {
            if let Some(batch_no) = gateway.next_batch_no()? {
                refund.batch_no = Some(batch_no.clone());
                submission.batch_no = Some(batch_no);
            }
        }
        // Saved with its batch number before the call: see `next_batch_no`.
        refund.start_submission(now)?;
        self.save(&mut refund).await?;
        let outcome = gateway.submit_refund(&submission).await;
        self.apply_submit_outcome(refund, outcome).await
    }

    /// An operator sends several legacy password-flow refunds (`mapi_pwd`, pending
    /// approval or approved) as ONE batch: they are approved, and all move to
    /// `awaiting_operator` with the same batch and form in one transaction, so a form
    /// never covers a refund payport has not recorded. Nothing is sent to Alipay here.
    ///
    /// # Errors
    /// `Validation` for an empty list, other gateways, or two refunds of one order
    /// (a trade appears once per batch); `InvalidState` for refunds past approval;
    /// `Conflict` if one changed meanwhile. Nothing changes on error.
    pub async fn batch_for_operator(&self, ids: &[RefundId]) -> Result<Vec<Refund>, ServiceError> {
        const MAX_BATCH: usize = 1000;
        if ids.is_empty() || ids.len() > MAX_BATCH {
            return Err(ServiceError::Validation(format!(
                "a batch holds 1 to {MAX_BATCH} refunds"
            )));
        }
        let gateway = self.gateway(RefundGatewayKind::MapiPwd)?.clone();
        let mut refunds = Vec::with_capacity(ids.len());
        let mut submissions = Vec::with_capacity(ids.len());
        for id in ids {
            let refund = self.get(id).await?;
            if refund.gateway != RefundGatewayKind::MapiPwd {
                return Err(ServiceError::Validation(format!(
                    "refund {id} goes through {}; only mapi_pwd refunds are batched",
                    refund.gateway.as_str()
                )));
            }
            if !matches!(
                refund.status,
                RefundStatus::PendingApproval | RefundStatus::Approved
            ) {
                return Err(crate::error::TransitionError::new(
                    "refund",
                    refund.status.as_str(),
                    "put in an operator batch",
                )
                .into());
            }
            if refunds
                .iter()
                .any(|r: &Refund| r.out_trade_no == refund.out_trade_no)
            {
                return Err(ServiceError::Validation(format!(
                    "order {} appears twice; a trade can be in a batch once",
                    refund.out_trade_no
                )));
            }
            submissions.push(self.submission(&refund).await?);
            refunds.push(refund);
        }
        let (batch_no, form_html) = match gateway.submit_batch(&submissions).await? {
            RefundSubmitted::AwaitingOperator {
                batch_no,
                form_html,
            } => (batch_no, form_html),
            other => {
                return Err(ServiceError::GatewayDataMismatch(format!(
                    "the password flow answered {other:?} instead of a form"
                )))
            }
        };
        let now = self.ports.clock.now();
        for refund in &mut refunds {
            if refund.status == RefundStatus::PendingApproval {
                refund.approve(now)?;
            }
            refund.await_operator(batch_no.clone(), form_html.clone(), now)?;
        }
        self.ports.refunds.update_all(&refunds).await?;
        for refund in &mut refunds {
            refund.version += 1;
        }
        Ok(refunds)
    }

    /// Finds out what happened to a refund: sends it if approved, asks Alipay if
    /// processing, and re-sends it with the SAME out_request_no if Alipay never got it.
    ///
    /// # Errors
    /// `RefundNotFound`; storage errors. Gateway trouble is recorded on the refund.
    pub async fn sync(&self, refund_id: &RefundId) -> Result<Refund, ServiceError> {
        let mut refund = self.get(refund_id).await?;
        match refund.status {
            RefundStatus::Approved => return self.submit(refund).await,
            RefundStatus::Processing => {}
            RefundStatus::PendingApproval
            | RefundStatus::Rejected
            | RefundStatus::AwaitingOperator
            | RefundStatus::Succeeded
            | RefundStatus::Failed => return Ok(refund),
        }
        let gateway = self.gateway(refund.gateway)?.clone();
        let submission = self.submission(&refund).await?;
        match gateway.query_refund(&submission).await {
            Ok(RefundLookup::Succeeded(success)) => self.complete(refund, success).await,
            Ok(RefundLookup::NotRefunded) => {
                refund.start_resubmission(self.ports.clock.now())?;
                self.save(&mut refund).await?;
                let outcome = gateway.submit_refund(&submission).await;
                self.apply_submit_outcome(refund, outcome).await
            }
            // A failed query says nothing about the refund itself: it stays unknown
            // (unless another path settled it meanwhile).
            Err(e) => {
                let refund_id = refund.refund_id.clone();
                match self.still_unknown(refund, &e).await {
                    Err(ServiceError::Conflict) => self.get(&refund_id).await,
                    other => other,
                }
            }
        }
    }

    /// Records what the gateway answered. A conflicting save means another path (a
    /// notification, another sync) recorded the outcome while the call was under way:
    /// what is stored then is the answer, not an error.
    async fn apply_submit_outcome(
        &self,
        refund: Refund,
        outcome: Result<RefundSubmitted, GatewayError>,
    ) -> Result<Refund, ServiceError> {
        let refund_id = refund.refund_id.clone();
        match self.record_submit_outcome(refund, outcome).await {
            Err(ServiceError::Conflict) => self.get(&refund_id).await,
            other => other,
        }
    }

    async fn record_submit_outcome(
        &self,
        mut refund: Refund,
        outcome: Result<RefundSubmitted, GatewayError>,
    ) -> Result<Refund, ServiceError> {
        match outcome {
            Ok(RefundSubmitted::Succeeded(success)) => self.complete(refund, success).await,
            Ok(RefundSubmitted::Accepted { batch_no }) => {
                let now = self.ports.clock.now();
                refund.batch_no = batch_no.or(refund.batch_no);
                refund.outcome_unknown(
                    "accepted by the gateway; waiting for its notification".into(),
                    now + self.settings.refund_sync_delay,
                    now,
                )?;
                self.save(&mut refund).await?;
                Ok(refund)
            }
            Ok(RefundSubmitted::AwaitingOperator { .. }) => {
                let e = GatewayError::Unknown("unexpected operator form for a sent refund".into());
                self.still_unknown(refund, &e).await
            }
            Err(GatewayError::Rejected(failure)) => {
                refund.fail(failure, self.ports.clock.now())?;
                self.save(&mut refund).await?;
                Ok(refund)
            }
            Err(
                e @ (GatewayError::Unknown(_)
                | GatewayError::BadSignature(_)
                | GatewayError::Config(_)),
            ) => self.still_unknown(refund, &e).await,
        }
    }

    async fn still_unknown(
        &self,
        mut refund: Refund,
        error: &GatewayError,
    ) -> Result<Refund, ServiceError> {
        let now = self.ports.clock.now();
        let ask_again_at = now + self.ask_again_after(&refund, now);
        refund.outcome_unknown(error.to_string(), ask_again_at, now)?;
        self.save(&mut refund).await?;
        Ok(refund)
    }

    /// First after `refund_sync_delay` (Alipay: query at least 10 s after refunding),
    /// then half the time since it was sent, at most an hour: a refund whose answer
    /// only a notification can bring (legacy mapi has no query) is not asked about
    /// every few seconds forever.
    fn ask_again_after(
        &self,
        refund: &Refund,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::Duration {
        let first = self.settings.refund_sync_delay;
        let cap = chrono::Duration::hours(1).max(first);
        let since_sent = now - refund.submitted_at.unwrap_or(now);
        (since_sent / 2).max(first).min(cap)
    }

    fn gateway(&self, kind: RefundGatewayKind) -> Result<&Arc<dyn RefundGateway>, ServiceError> {
        self.ports
            .refund_gateways
            .get(kind)
            .ok_or(ServiceError::GatewayNotConfigured(kind))
    }

    async fn submission(&self, refund: &Refund) -> Result<RefundSubmission, ServiceError> {
        let order = load_order(&self.ports, &refund.out_trade_no).await?;
        Ok(RefundSubmission {
            refund_id: refund.refund_id.clone(),
            out_trade_no: refund.out_trade_no.clone(),
            trade_no: order.trade_no,
            out_request_no: refund.out_request_no.clone(),
            amount: refund.amount,
            reason: refund.reason.clone(),
            batch_no: refund.batch_no.clone(),
        })
    }

    pub(super) async fn save(&self, refund: &mut Refund) -> Result<(), ServiceError> {
        self.ports.refunds.update(refund).await?;
        refund.version += 1;
        Ok(())
    }
}
