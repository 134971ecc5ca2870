//! Settling refunds: recording what the gateway answered to a submission, what a query
//! or notification said, and how long to wait when the outcome is still unknown.

use crate::crash_points::{self, crash_point};
use crate::event::{order_events, refund_event, NewEvent};
use chrono::{DateTime, Duration, Utc};

use super::shared::load_order;
use super::{retry_on_conflict, Refunds, ServiceError};
use crate::error::GatewayError;
use crate::ids::RefundId;
use crate::money::Amount;
use crate::order::Order;
use crate::ports::{RefundReference, RefundResult, RefundResultOutcome, RefundSubmitted};
use crate::refund::{GatewayFailure, Refund, RefundSuccess};

/// What a processing refund on a route without a refund query waits for.
const WAITING_FOR_NOTIFICATION: &str =
    "waiting for Alipay's refund notification; this gateway has no refund query";

impl Refunds {
    /// Records what the gateway answered. A conflicting save means another path (a
    /// notification, another sync) recorded the outcome while the call was under way:
    /// what is stored then is the answer, not an error. `order` is the refund's order
    /// as the caller read it.
    pub(super) async fn apply_submit_outcome(
        &self,
        refund: Refund,
        order: Order,
        outcome: Result<RefundSubmitted, GatewayError>,
    ) -> Result<Refund, ServiceError> {
        crash_point(crash_points::REFUND_BEFORE_OUTCOME);
        let refund_id = refund.refund_id.clone();
        let recorded = self.record_submit_outcome(refund, order, outcome).await;
        self.or_as_stored(&refund_id, recorded).await
    }

    async fn record_submit_outcome(
        &self,
        mut refund: Refund,
        order: Order,
        outcome: Result<RefundSubmitted, GatewayError>,
    ) -> Result<Refund, ServiceError> {
        let before = refund.status;
        match outcome {
            Ok(RefundSubmitted::Succeeded(success)) => {
                self.complete(refund, Some(order), success).await
            }
            Ok(RefundSubmitted::Accepted { batch_no }) => {
                let now = self.ports.clock.now();
                refund.batch_no = batch_no.or(refund.batch_no);
                refund.outcome_unknown(
                    "accepted by the gateway; waiting for its notification".into(),
                    now + self.settings.refund_sync_delay,
                    now,
                )?;
                self.save(&mut refund, before).await?;
                Ok(refund)
            }
            Ok(RefundSubmitted::AwaitingOperator { .. }) => {
                let e = GatewayError::Unknown("unexpected operator form for a sent refund".into());
                self.still_unknown(refund, e.to_string()).await
            }
            Err(GatewayError::Rejected(failure)) => {
                refund.fail(failure, self.ports.clock.now())?;
                self.save(&mut refund, before).await?;
                Ok(refund)
            }
            Err(
                e @ (GatewayError::Unknown(_)
                | GatewayError::BadSignature(_)
                | GatewayError::Config(_)),
            ) => self.still_unknown(refund, e.to_string()).await,
        }
    }

    /// A processing refund whose route has no refund query: only Alipay's notification
    /// settles it. It is looked at again on the same schedule as an unknown outcome.
    pub(super) async fn wait_for_notification(
        &self,
        refund: Refund,
    ) -> Result<Refund, ServiceError> {
        // An anomaly stays visible until a person acts: waiting longer changes nothing.
        let why = match &refund.last_error {
            Some(anomaly) if refund.has_anomaly() => anomaly.clone(),
            _ => WAITING_FOR_NOTIFICATION.into(),
        };
        self.unknown_unless_settled(refund, why).await
    }

    /// [`Self::still_unknown`], except that a refund another path saved meanwhile
    /// (typically a notification that settled it) is returned as stored.
    pub(super) async fn unknown_unless_settled(
        &self,
        refund: Refund,
        why: String,
    ) -> Result<Refund, ServiceError> {
        let refund_id = refund.refund_id.clone();
        let recorded = self.still_unknown(refund, why).await;
        self.or_as_stored(&refund_id, recorded).await
    }

    /// A save that conflicted lost to another path (a notification, another sync)
    /// that recorded the refund meanwhile: what is stored is then the answer.
    async fn or_as_stored(
        &self,
        refund_id: &RefundId,
        recorded: Result<Refund, ServiceError>,
    ) -> Result<Refund, ServiceError> {
        match recorded {
            Err(ServiceError::Conflict) => self.get(refund_id).await,
            other => other,
        }
    }

    async fn still_unknown(&self, mut refund: Refund, why: String) -> Result<Refund, ServiceError> {
        let now = self.ports.clock.now();
        let ask_again_at = now + self.ask_again_after(&refund, now);
        let before = refund.status;
        refund.outcome_unknown(why, ask_again_at, now)?;
        self.save(&mut refund, before).await?;
        Ok(refund)
    }

    /// First after `refund_sync_delay` (Alipay: query at least 10 s after refunding),
    /// then half the time since it was sent, at most an hour: a refund whose answer
    /// only a notification can bring (a route without a query) is not looked at every
    /// few seconds forever.
    fn ask_again_after(&self, refund: &Refund, now: DateTime<Utc>) -> Duration {
        let first = self.settings.refund_sync_delay;
        let cap = Duration::hours(1).max(first);
        let since_sent = now - refund.submitted_at.unwrap_or(now);
        (since_sent / 2).max(first).min(cap)
    }

    /// Marks the refund succeeded and adds its amount to the order, in one atomic save.
    /// A refund that already succeeded is returned unchanged. `order`, when the caller
    /// read it already, is the refund's order; if it and `refund` turn out to be out
    /// of step, the first attempt is a conflict and the retry reads both afresh.
    pub(super) async fn complete(
        &self,
        refund: Refund,
        order: Option<Order>,
        success: RefundSuccess,
    ) -> Result<Refund, ServiceError> {
        let (refund_id, out_trade_no) = (refund.refund_id.clone(), refund.out_trade_no.clone());
        let mut held = order.map(|order| (order, refund));
        retry_on_conflict(|| {
            // Only the first attempt may use the caller's copies: the save is
            // conditional on both versions, so a stale copy fails it as a Conflict with
            // nothing written, and a retry that reused it would fail again. A retry
            // re-reads the order BEFORE the refund: whoever completed the refund
            // meanwhile also changed the order, so a fresher refund is seen as already
            // succeeded, and a staler order fails the save as a conflict and is retried
            // (never an order that looks refunded next to a refund that looks pending).
            let held = held.take();
            let (refund_id, out_trade_no, success) = (&refund_id, &out_trade_no, &success);
            async move {
                let from_caller = held.is_some();
                let (mut order, mut refund) = match held {
                    Some(pair) => pair,
                    None => {
                        let order = load_order(&self.ports, out_trade_no).await?;
                        (order, self.get(refund_id).await?)
                    }
                };
                let now = self.ports.clock.now();
                let (refund_before, order_before) = (refund.status, order.status);
                if !refund.succeed(success.clone(), now)? {
                    return Ok(refund);
                }
                // The caller's copies may be out of step (an order that already counts
                // this refund, settled by a notification meanwhile): that is a
                // conflict to retry on fresh reads, not a broken state machine.
                match order.record_refund(refund.amount, now) {
                    Err(_) if from_caller => return Err(ServiceError::Conflict),
                    other => other?,
                }
                let next_id = || self.ports.ids.event_id();
                let mut events: Vec<NewEvent> =
                    refund_event(Some(refund_before), &refund, next_id, now)
                        .into_iter()
                        .collect();
                events.extend(order_events(order_before, &order, next_id, now));
                self.ports
                    .refunds
                    .update_with_order(&refund, &order, &events)
                    .await?;
                refund.version += 1;
                Ok(refund)
            }
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
            let before = refund.status;
            if refund.fail(failure.clone(), self.ports.clock.now())? {
                self.save(&mut refund, before).await?;
            }
            Ok(refund)
        })
        .await
    }

    /// Applies one notified result to the refunds it names. Refunds payport does not
    /// know (made elsewhere, e.g. in Alipay's merchant console) are not found here: a
    /// trade notification's caller records them (`learn_external`); a legacy batch
    /// line's are left to the reconciliation's bill. A legacy
    /// batch line whose amount is not the refund's settles nothing: it is recorded on
    /// the refund as an anomaly for a person ([`crate::anomaly`]), since either side
    /// may be wrong and a guess could pay out twice or lose a refund.
    ///
    /// # Errors
    /// `InvalidState` when the result contradicts a final status (e.g. success for a
    /// refund recorded as failed): that needs a person, so it is not swallowed.
    pub async fn apply_result(&self, result: &RefundResult) -> Result<Vec<Refund>, ServiceError> {
        let (targets, reported): (Vec<Refund>, Option<Amount>) = match &result.reference {
            RefundReference::OutRequestNo {
                out_trade_no,
                out_request_no,
            } => (
                self.ports
                    .refunds
                    .get_by_out_request_no(out_trade_no, out_request_no)
                    .await?
                    .into_iter()
                    .collect(),
                None,
            ),
            RefundReference::Batch {
                batch_no,
                trade_no,
                amount,
            } => match self.ports.orders.find_by_trade_no(trade_no).await? {
                None => (Vec::new(), None),
                Some(order) => (
                    self.ports
                        .refunds
                        .list_for_order(&order.out_trade_no)
                        .await?
                        .into_iter()
                        .filter(|r| r.batch_no.as_ref() == Some(batch_no))
                        .collect(),
                    Some(*amount),
                ),
            },
        };
        let mut applied = Vec::with_capacity(targets.len());
        for refund in targets {
            if let Some(reported) = reported.filter(|a| *a != refund.amount) {
                applied.push(self.anomaly(&refund.refund_id, reported).await?);
                continue;
            }
            applied.push(match &result.outcome {
                RefundResultOutcome::Succeeded(success) => {
                    self.complete(refund, None, success.clone()).await?
                }
                RefundResultOutcome::Failed(failure) => {
                    self.fail(&refund.refund_id, failure.clone()).await?
                }
            });
        }
        Ok(applied)
    }

    /// Records that Alipay reported `reported` for this refund of another amount. A
    /// refund already final is left as it is (and returned): the contradiction then
    /// is with a settled record, which `InvalidState` reports elsewhere.
    async fn anomaly(
        &self,
        refund_id: &RefundId,
        reported: Amount,
    ) -> Result<Refund, ServiceError> {
        retry_on_conflict(|| async {
            let mut refund = self.get(refund_id).await?;
            if refund.status.is_final() {
                return Ok(refund);
            }
            let what = format!(
                "Alipay reported {reported} for a refund of {} (batch {})",
                refund.amount,
                refund.batch_no.as_ref().map_or("none", |b| b.as_str())
            );
            let before = refund.status;
            refund.record_anomaly(&what, self.ports.clock.now())?;
            self.save(&mut refund, before).await?;
            Ok(refund)
        })
        .await
    }
}
