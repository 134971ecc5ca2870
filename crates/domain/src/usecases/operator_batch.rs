//! The operator's batch: several legacy password-flow refunds confirmed together on
//! Alipay's page, through the `mapi_pwd` route's [`RefundBatches`](crate::ports::RefundBatches).

use super::refunds::submission;
use super::shared::load_order;
use super::{Refunds, ServiceError};
use crate::error::TransitionError;
use crate::event::refund_event;
use crate::ids::RefundId;
use crate::ports::RefundSubmitted;
use crate::refund::{Refund, RefundGatewayKind, RefundStatus};

/// Alipay's limit on the refunds in one batch (`batch_num`).
const MAX_BATCH: usize = 1000;

impl Refunds {
    /// An operator sends several legacy password-flow refunds (`mapi_pwd`, pending
    /// approval or approved) as ONE batch: they are approved, and all move to
    /// `awaiting_operator` with the same batch and form in one transaction, so a form
    /// never covers a refund payport has not recorded. Nothing is sent to Alipay here.
    ///
    /// # Errors
    /// `Validation` for an empty list, other gateways, or two refunds of one order
    /// (a trade appears once per batch); `InvalidState` for refunds past approval;
    /// `Conflict` if one changed meanwhile; `GatewayNotConfigured` without a
    /// `mapi_pwd` route that makes batches. Nothing changes on error.
    pub async fn batch_for_operator(&self, ids: &[RefundId]) -> Result<Vec<Refund>, ServiceError> {
        if ids.is_empty() || ids.len() > MAX_BATCH {
            return Err(ServiceError::Validation(format!(
                "a batch holds 1 to {MAX_BATCH} refunds"
            )));
        }
        let kind = RefundGatewayKind::MapiPwd;
        let batches = self
            .route(kind)?
            .batches
            .clone()
            .ok_or(ServiceError::GatewayNotConfigured(kind))?;
        let mut refunds = Vec::with_capacity(ids.len());
        let mut submissions = Vec::with_capacity(ids.len());
        for id in ids {
            let refund = self.get(id).await?;
            if refund.gateway != kind {
                return Err(ServiceError::Validation(format!(
                    "refund {id} goes through {}; only mapi_pwd refunds are batched",
                    refund.gateway.as_str()
                )));
            }
            if !matches!(
                refund.status,
                RefundStatus::PendingApproval | RefundStatus::Approved
            ) {
                return Err(TransitionError::new(
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
            let order = load_order(&self.ports, &refund.out_trade_no).await?;
            submissions.push(submission(&refund, &order));
            refunds.push(refund);
        }
        let (batch_no, form_html) = match batches.submit_batch(&submissions).await? {
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
        let mut events = Vec::new();
        for refund in &mut refunds {
            let before = refund.status;
            if refund.status == RefundStatus::PendingApproval {
                refund.approve(now)?;
                events.extend(refund_event(
                    Some(before),
                    refund,
                    || self.ports.ids.event_id(),
                    now,
                ));
            }
            let before = refund.status;
            refund.await_operator(batch_no.clone(), form_html.clone(), now)?;
            events.extend(refund_event(
                Some(before),
                refund,
                || self.ports.ids.event_id(),
                now,
            ));
        }
        self.ports.refunds.update_all(&refunds, &events).await?;
        for refund in &mut refunds {
            refund.version += 1;
        }
        Ok(refunds)
    }
}
