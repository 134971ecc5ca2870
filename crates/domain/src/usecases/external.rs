//! Refunds made outside payport (Alipay's merchant console, another system), recorded
//! once payport learns of them: from a trade notification, a refund query, or the bill.
//!
//! Such a refund is not checked against reservations: Alipay paid the money back
//! already, so refusing it would only hide it. Recorded, it holds its amount like any
//! succeeded refund, and later reservations see that much less room.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::shared::load_order;
use super::{retry_on_conflict, Refunds, ServiceError};
use crate::error::RepoError;
use crate::event::{order_events, refund_event, NewEvent};
use crate::ids::{OutRequestNo, OutTradeNo};
use crate::money::Amount;
use crate::policy::ApprovalPolicy;
use crate::ports::RefundQuery;
use crate::refund::{NewRefund, Refund, RefundGatewayKind, RefundStatus};

/// A refund Alipay made that payport did not send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRefund {
    pub out_trade_no: OutTradeNo,
    /// As Alipay has it: the console's number, or a legacy batch_no.
    pub out_request_no: OutRequestNo,
    pub amount: Amount,
    /// When Alipay says the money went back, if it says.
    pub refunded_at: Option<DateTime<Utc>>,
}

/// What recording an external refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalRecorded {
    /// Stored as a new `succeeded` refund with `external = true`; the order's refunded
    /// amount includes it, and its events were written.
    Recorded(Refund),
    /// The order already has a refund under this out_request_no (payport's own, or this
    /// external one recorded before): returned as stored, nothing changed.
    AlreadyKnown(Refund),
}

/// What trying to learn an unknown refund from a notification came to.
pub(super) enum Learned {
    /// Recorded now, or known already.
    Done,
    /// Not learned now, for the reason given (for the log): the daily reconciliation
    /// finds it in the bill.
    Deferred(String),
    /// Alipay's answer contradicts payport's records: for a person.
    Contradiction(String),
}

impl Refunds {
    /// Records a refund Alipay made outside payport. Idempotent by out_trade_no and
    /// out_request_no. A legacy mapi refund is known to Alipay by its batch_no: one
    /// of payport's own under that batch is the same refund, `AlreadyKnown`.
    ///
    /// # Errors
    /// `OrderNotFound`; `InvalidState` when the order was never paid or the amount is
    /// more than it has left to refund (a contradiction for a person, never forced);
    /// `GatewayDataMismatch` while the refund may be one of payport's own under way
    /// (`may_be_ours`); `Validation` for a zero amount; storage errors.
    pub async fn record_external(
        &self,
        external: &ExternalRefund,
    ) -> Result<ExternalRecorded, ServiceError> {
        if external.amount.is_zero() {
            return Err(ServiceError::Validation(
                "an external refund's amount must be more than zero".into(),
            ));
        }
        retry_on_conflict(|| self.try_record_external(external)).await
    }

    async fn try_record_external(
        &self,
        external: &ExternalRefund,
    ) -> Result<ExternalRecorded, ServiceError> {
        let mut order = load_order(&self.ports, &external.out_trade_no).await?;
        let (no, number) = (&external.out_trade_no, &external.out_request_no);
        let refunds = self.ports.refunds.list_for_order(no).await?;
        if let Some(known) = known_in(&refunds, number) {
            return Ok(ExternalRecorded::AlreadyKnown(known.clone()));
        }
        if let Some(ours) = refunds.iter().find(|r| may_be_ours(r, external.amount)) {
            return Err(ServiceError::GatewayDataMismatch(format!(
                "refund {number} may be payport's own refund {} ({} {}, {}): not recorded \
                 as external",
                ours.refund_id,
                ours.gateway.as_str(),
                ours.status.as_str(),
                ours.amount
            )));
        }
        let now = self.ports.clock.now();
        let before = order.status;
        order.record_refund(external.amount, now)?;
        let new = NewRefund {
            refund_id: self.ports.ids.refund_id(),
            out_trade_no: external.out_trade_no.clone(),
            out_request_no: external.out_request_no.clone(),
            amount: external.amount,
            reason: None,
            // Alipay's own channel; payport never sends it anywhere.
            gateway: RefundGatewayKind::OpenApi,
            // Never asked for, so never approved: no policy applies.
            approval: ApprovalPolicy::Auto,
            created_at: now,
            send_at_once: None,
        };
        let refund = Refund {
            completed_at: Some(external.refunded_at.unwrap_or(now)),
            external: true,
            ..new.into_refund(RefundStatus::Succeeded)
        };
        let next_id = || self.ports.ids.event_id();
        let mut events: Vec<NewEvent> = refund_event(None, &refund, next_id, now)
            .into_iter()
            .collect();
        events.extend(order_events(before, &order, next_id, now));
        match self
            .ports
            .refunds
            .insert_external(&refund, &order, &events)
            .await
        {
            Ok(()) => Ok(ExternalRecorded::Recorded(refund)),
            // Recorded meanwhile by another path (a redelivery, the reconciliation).
            Err(RepoError::Duplicate(what)) => match self.known_refund(no, number).await? {
                Some(known) => Ok(ExternalRecorded::AlreadyKnown(known)),
                None => Err(ServiceError::Duplicate(what)),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The order's refund Alipay knows by this number: by out_request_no, or a
    /// legacy refund by its batch_no.
    async fn known_refund(
        &self,
        no: &OutTradeNo,
        number: &OutRequestNo,
    ) -> Result<Option<Refund>, ServiceError> {
        let refunds = self.ports.refunds.list_for_order(no).await?;
        Ok(known_in(&refunds, number).cloned())
    }

    /// The refund query that can find a refund payport did not send (OpenAPI's), if
    /// one is configured: Alipay's signed word on it.
    pub(super) fn external_query(&self) -> Option<Arc<dyn RefundQuery>> {
        let route = self.ports.refund_gateways.get(RefundGatewayKind::OpenApi)?;
        route.query.clone()
    }

    /// A trade notification reported a refund under a number payport does not know.
    /// Its `refund_fee` is the trade's cumulative total, not this refund's amount (and
    /// notifications arrive in any order), so Alipay's refund query is asked for the
    /// amount; without a query, or when it fails, the refund is left for the daily
    /// reconciliation.
    ///
    /// # Errors
    /// Storage errors only: the notification is answered `failure` and sent again.
    pub(super) async fn learn_external(
        &self,
        out_trade_no: &OutTradeNo,
        out_request_no: &OutRequestNo,
        notified_at: Option<DateTime<Utc>>,
    ) -> Result<Learned, ServiceError> {
        let which =
            format!("refund {out_request_no} of order {out_trade_no}, made outside payport");
        if self
            .known_refund(out_trade_no, out_request_no)
            .await?
            .is_some()
        {
            return Ok(Learned::Done);
        }
        let Some(query) = self.external_query() else {
            return Ok(Learned::Deferred(format!(
                "{which}: no refund query is configured to learn its amount"
            )));
        };
        let found = match query.find_refund(out_trade_no, out_request_no).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Ok(Learned::Deferred(format!(
                    "{which}: Alipay's refund query does not find it yet"
                )))
            }
            Err(e) => {
                return Ok(Learned::Deferred(format!(
                    "{which}: the refund query failed ({e})"
                )))
            }
        };
        let external = ExternalRefund {
            out_trade_no: out_trade_no.clone(),
            out_request_no: out_request_no.clone(),
            amount: found.amount,
            refunded_at: found.refunded_at.or(notified_at),
        };
        match self.record_external(&external).await {
            Ok(_) => Ok(Learned::Done),
            Err(
                e @ (ServiceError::InvalidState(_)
                | ServiceError::Validation(_)
                | ServiceError::GatewayDataMismatch(_)),
            ) => Ok(Learned::Contradiction(format!(
                "{which}: Alipay refunded {}, but {e}",
                found.amount
            ))),
            Err(e) => Err(e),
        }
    }
}

/// Whether `refund`, payport's own and not settled, may be the one Alipay reports under
/// another number, so that recording an external twin could count the money twice.
/// payport tells its legacy refunds from outside ones only by number (the batch_no in
/// `out_biz_no` or the bill's 退款批次号), an assumption about what Alipay writes there:
/// while a legacy refund is under way, or any refund of the same amount, a person
/// decides.
fn may_be_ours(refund: &Refund, amount: Amount) -> bool {
    !refund.status.is_final() && (refund.gateway.is_legacy() || refund.amount == amount)
}

/// Among an order's refunds, the one Alipay knows by `number`: by out_request_no, or a
/// legacy refund by its batch_no.
fn known_in<'a>(refunds: &'a [Refund], number: &OutRequestNo) -> Option<&'a Refund> {
    refunds
        .iter()
        .find(|r| &r.out_request_no == number)
        .or_else(|| {
            refunds.iter().find(|r| {
                r.batch_no
                    .as_ref()
                    .is_some_and(|b| b.as_str() == number.as_str())
            })
        })
}
