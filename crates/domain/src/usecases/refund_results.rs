//! Applying definitive refund results (responses, queries, notifications) to refunds
//! and their orders.

use super::orders::load_order;
use super::{retry_on_conflict, Refunds, ServiceError};
use crate::ids::RefundId;
use crate::ports::{RefundReference, RefundResult, RefundResultOutcome};
use crate::refund::{GatewayFailure, Refund, RefundSuccess};

impl Refunds {
    /// Marks the refund succeeded and adds its amount to the order, in one atomic save.
    /// A refund that already succeeded is returned unchanged.
    pub(super) async fn complete(
        &self,
        refund: Refund,
        success: RefundSuccess,
    ) -> Result<Refund, ServiceError> {
        let (refund_id, out_trade_no) = (refund.refund_id, refund.out_trade_no);
        retry_on_conflict(|| async {
            // The order is read BEFORE the refund: whoever completed the refund
            // meanwhile also changed the order, so a fresher refund is seen as already
            // succeeded, and a staler order fails the save as a conflict and is retried
            // (never an order that looks refunded next to a refund that looks pending).
            let mut order = load_order(&self.ports, &out_trade_no).await?;
            let mut refund = self.get(&refund_id).await?;
            let now = self.ports.clock.now();
            if !refund.succeed(success.clone(), now)? {
                return Ok(refund);
            }
            order.record_refund(refund.amount, now)?;
            self.ports
                .refunds
                .update_with_order(&refund, &order)
                .await?;
            refund.version += 1;
            Ok(refund)
        })
        .await
    }

    /// Records Alipay's definitive refusal; the amount is released.
    async fn fail(
        &self,
        refund_id: &RefundId,
        failure: GatewayFailure,
    ) -> Result<Refund, ServiceError> {
        retry_on_conflict(|| async {
            let mut refund = self.get(refund_id).await?;
            if refund.fail(failure.clone(), self.ports.clock.now())? {
                self.save(&mut refund).await?;
            }
            Ok(refund)
        })
        .await
    }

    /// Applies one notified result to the refunds it names. Refunds payport does not
    /// know (made elsewhere, e.g. in Alipay's merchant portal) are left alone.
    ///
    /// # Errors
    /// `InvalidState` when the result contradicts a final status (e.g. success for a
    /// refund recorded as failed): that needs a person, so it is not swallowed.
    pub async fn apply_result(&self, result: &RefundResult) -> Result<Vec<Refund>, ServiceError> {
        let targets: Vec<Refund> = match &result.reference {
            RefundReference::OutRequestNo {
                out_trade_no,
                out_request_no,
            } => self
                .ports
                .refunds
                .get_by_out_request_no(out_trade_no, out_request_no)
                .await?
                .into_iter()
                .collect(),
            RefundReference::Batch { batch_no, trade_no } => {
                match self.ports.orders.find_by_trade_no(trade_no).await? {
                    None => Vec::new(),
                    Some(order) => self
                        .ports
                        .refunds
                        .list_for_order(&order.out_trade_no)
                        .await?
                        .into_iter()
                        .filter(|r| r.batch_no.as_ref() == Some(batch_no))
                        .collect(),
                }
            }
        };
        let mut applied = Vec::with_capacity(targets.len());
        for refund in targets {
            applied.push(match &result.outcome {
                RefundResultOutcome::Succeeded(success) => {
                    self.complete(refund, success.clone()).await?
                }
                RefundResultOutcome::Failed(failure) => {
                    self.fail(&refund.refund_id, failure.clone()).await?
                }
            });
        }
        Ok(applied)
    }
}
