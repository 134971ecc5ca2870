//! Refund use cases: request, approve, reject, submit, sync.
//!
//! `impl Refunds` continues in `settle` (recording what Alipay answered or notified)
//! and `operator_batch` (legacy password-flow batches). One request reads the order
//! once and hands it down to sending and settling.

use crate::crash_points::{self, crash_point};
use crate::event::refund_event;
use std::sync::Arc;

use super::shared::{bad_cursor, check_text, load_order};
use super::{Ports, ServiceError, Settings};
use crate::ids::{OutRequestNo, OutTradeNo, RefundId};
use crate::money::Amount;
use crate::order::{Order, OrderStatus};
use crate::policy::{ApprovalPolicy, ReservationRefused};
use crate::ports::{
    Page, RefundFilter, RefundLookup, RefundRoute, RefundSubmission, RefundSubmitted, ReserveError,
};
use crate::refund::{NewRefund, Refund, RefundGatewayKind, RefundStatus, SendAtOnce};

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
    /// for an operator or sends the refund at once, per the approval policy. A refund
    /// sent at once is reserved already `processing` (see [`NewRefund::send_at_once`]),
    /// so the request writes twice: the reservation before the call, the outcome after.
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
        let route = self.route(gateway)?.clone();
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
            approval: policy.approval,
            created_at: now,
            send_at_once: None,
        };
        let event_id = self.ports.ids.event_id();
        let new = NewRefund {
            send_at_once: self.send_at_once(&route, &new)?,
            ..new
        };
        let refund = match self.ports.refunds.reserve(&new, &event_id).await {
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
        match refund.status {
            // Reserved as sent (`send_at_once`): the reservation was its only write
            // before the call.
            RefundStatus::Processing => {
                crash_point(crash_points::REFUND_AFTER_RESERVATION);
                let outcome = route
                    .submit
                    .submit_refund(&submission(&refund, &order))
                    .await;
                self.apply_submit_outcome(refund, order, outcome).await
            }
            RefundStatus::Approved => self.send(&route, refund, order).await,
            _ => Ok(refund),
        }
    }

    /// What lets the reservation store a refund the policy approves straight as
    /// `processing` (one write before the call instead of two): its `refund.processing`
    /// event id, and on a legacy route its batch number, chosen now because it must be
    /// stored before the call. `None` for the password flow, which sends nothing (it
    /// builds an operator's form), and when every refund waits for an operator. A
    /// refund the policy holds for approval leaves them unused: batch numbers need
    /// not be consecutive.
    ///
    /// # Errors
    /// `GatewayUnavailable` when no batch number can be made; nothing is reserved.
    fn send_at_once(
        &self,
        route: &RefundRoute,
        new: &NewRefund,
    ) -> Result<Option<SendAtOnce>, ServiceError> {
        if new.gateway == RefundGatewayKind::MapiPwd || new.approval == ApprovalPolicy::Manual {
            return Ok(None);
        }
        let batch_no = match &route.batches {
            Some(batches) => Some(batches.next_batch_no(new.created_at)?),
            None => None,
        };
        Ok(Some(SendAtOnce {
            event_id: self.ports.ids.event_id(),
            batch_no,
        }))
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

    /// The refunds of a page of orders in one read, each order's oldest first. Unknown
    /// orders have none: the caller already holds the orders.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn list_for_orders(
        &self,
        out_trade_nos: &[OutTradeNo],
    ) -> Result<Vec<Refund>, ServiceError> {
        Ok(self.ports.refunds.list_for_orders(out_trade_nos).await?)
    }

    /// # Errors
    /// `Validation` for a cursor payport did not issue; `Storage`.
    pub async fn list(&self, filter: &RefundFilter) -> Result<Page<Refund>, ServiceError> {
        self.ports.refunds.list(filter).await.map_err(bad_cursor)
    }

    /// An operator approves a refund; it is sent at once.
    ///
    /// # Errors
    /// `InvalidState` unless it was pending approval; `Conflict` if another operator
    /// decided it at the same moment.
    pub async fn approve(&self, refund_id: &RefundId) -> Result<Refund, ServiceError> {
        let mut refund = self.get(refund_id).await?;
        let before = refund.status;
        refund.approve(self.ports.clock.now())?;
        self.save(&mut refund, before).await?;
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
        let before = refund.status;
        refund.reject(reason, self.ports.clock.now())?;
        self.save(&mut refund, before).await?;
        Ok(refund)
    }

    /// Sends an approved refund. It is marked `processing` and saved BEFORE the call,
    /// so a crash mid-call leaves it to be queried, never sent again as new.
    ///
    /// # Errors
    /// `InvalidState` unless approved; `Conflict` when another process is sending it.
    /// Gateway trouble is not an error: it is recorded on the refund.
    pub async fn submit(&self, refund: Refund) -> Result<Refund, ServiceError> {
        let route = self.route(refund.gateway)?.clone();
        let order = load_order(&self.ports, &refund.out_trade_no).await?;
        self.send(&route, refund, order).await
    }

    /// [`Refunds::submit`] with the refund's order as the caller already read it.
    async fn send(
        &self,
        route: &RefundRoute,
        mut refund: Refund,
        order: Order,
    ) -> Result<Refund, ServiceError> {
        let mut submission = submission(&refund, &order);
        let now = self.ports.clock.now();
        let before = refund.status;
        if refund.gateway == RefundGatewayKind::MapiPwd {
            // Building the operator's form sends nothing: no `processing` step.
            return match route.submit.submit_refund(&submission).await {
                Ok(RefundSubmitted::AwaitingOperator {
                    batch_no,
                    form_html,
                }) => {
                    refund.await_operator(batch_no, form_html, now)?;
                    self.save(&mut refund, before).await?;
                    Ok(refund)
                }
                Ok(other) => Err(ServiceError::GatewayDataMismatch(format!(
                    "the password flow answered {other:?} instead of a form"
                ))),
                Err(e) => Err(e.into()),
            };
        }
        if let (None, Some(batches)) = (&refund.batch_no, &route.batches) {
            let batch_no = batches.next_batch_no(now)?;
            refund.batch_no = Some(batch_no.clone());
            submission.batch_no = Some(batch_no);
        }
        // Saved with its batch number before the call: see `RefundBatches::next_batch_no`.
        refund.start_submission(now)?;
        submission.submitted_at = refund.submitted_at;
        self.save(&mut refund, before).await?;
        let outcome = route.submit.submit_refund(&submission).await;
        self.apply_submit_outcome(refund, order, outcome).await
    }

    /// Finds out what happened to a refund: sends it if approved; if processing, asks
    /// Alipay where the gateway has a refund query, and re-sends it with the SAME
    /// out_request_no if Alipay never got it; where it has none, keeps waiting for
    /// Alipay's notification.
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
        let route = self.route(refund.gateway)?.clone();
        let Some(query) = &route.query else {
            return self.wait_for_notification(refund).await;
        };
        let order = load_order(&self.ports, &refund.out_trade_no).await?;
        let submission = submission(&refund, &order);
        match query.query_refund(&submission).await {
            Ok(RefundLookup::Succeeded(success)) => {
                self.complete(refund, Some(order), success).await
            }
            Ok(RefundLookup::NotRefunded) => {
                let before = refund.status;
                refund.start_resubmission(self.ports.clock.now())?;
                self.save(&mut refund, before).await?;
                let outcome = route.submit.submit_refund(&submission).await;
                self.apply_submit_outcome(refund, order, outcome).await
            }
            // A failed query says nothing about the refund itself: it stays unknown
            // (unless another path settled it meanwhile).
            Err(e) => self.unknown_unless_settled(refund, e.to_string()).await,
        }
    }

    pub(super) fn route(&self, kind: RefundGatewayKind) -> Result<&RefundRoute, ServiceError> {
        self.ports
            .refund_gateways
            .get(kind)
            .ok_or(ServiceError::GatewayNotConfigured(kind))
    }

    /// Saves a refund that was `before`, with the event its new status makes (if it
    /// has a new one), then tracks the stored version.
    pub(super) async fn save(
        &self,
        refund: &mut Refund,
        before: RefundStatus,
    ) -> Result<(), ServiceError> {
        let now = self.ports.clock.now();
        let event = refund_event(Some(before), refund, || self.ports.ids.event_id(), now);
        self.ports.refunds.update(refund, event.as_slice()).await?;
        refund.version += 1;
        Ok(())
    }
}

/// The refund as sent (and re-sent, identically) to the gateway.
pub(super) fn submission(refund: &Refund, order: &Order) -> RefundSubmission {
    RefundSubmission {
        refund_id: refund.refund_id.clone(),
        out_trade_no: refund.out_trade_no.clone(),
        trade_no: order.trade_no.clone(),
        out_request_no: refund.out_request_no.clone(),
        amount: refund.amount,
        reason: refund.reason.clone(),
        batch_no: refund.batch_no.clone(),
        submitted_at: refund.submitted_at,
    }
}
