//! Refund lines of the bill: what payport does about each. The bill is not signed:
//! it settles only legacy refunds (mapi has no refund query, so it is all payport will
//! learn of them); anything else is settled or recorded only on Alipay's signed answer.

use std::collections::HashSet;

use super::rules::{self, item, RefundVerdict};
use super::{noted, Reconciliations};
use crate::ids::{OutRequestNo, OutTradeNo, RefundId};
use crate::ports::BillLine;
use crate::reconciliation::{ItemAction, ItemKind, ReconciliationItem};
use crate::refund::{Refund, RefundStatus, RefundSuccess};
use crate::usecases::{ExternalRecorded, ExternalRefund, ServiceError};

impl Reconciliations {
    /// `None` when the line matches payport's books as they were. Adds the refunds
    /// the line names to `billed`.
    pub(super) async fn refund_line(
        &self,
        line: &BillLine,
        billed: &mut HashSet<RefundId>,
    ) -> Result<Option<ReconciliationItem>, ServiceError> {
        let base = ReconciliationItem {
            out_request_no: line.out_request_no.clone(),
            alipay_amount: Some(line.amount),
            ..item(ItemKind::RefundMissingHere, &line.out_trade_no)
        };
        let no = match OutTradeNo::parse(line.out_trade_no.as_str()) {
            Ok(no) => no,
            Err(e) => return Ok(Some(noted(base, format!("not a payport order: {e}")))),
        };
        let Some(number) = &line.out_request_no else {
            return Ok(Some(noted(base, "the bill line names no refund number")));
        };
        let found = self.refunds_of_line(&no, number).await?;
        billed.extend(found.iter().map(|r| r.refund_id.clone()));
        let order = match found.is_empty() {
            true => self.ports.orders.get(&no).await?,
            false => None,
        };
        let with_payport = |base: ReconciliationItem| ReconciliationItem {
            payport_amount: Some(line.amount),
            ..base
        };
        Ok(
            match rules::refund_verdict(line.amount, &found, order.as_ref()) {
                RefundVerdict::Matched => None,
                RefundVerdict::AmountMismatch { payport } => Some(ReconciliationItem {
                    kind: ItemKind::AmountMismatch,
                    payport_amount: Some(payport),
                    ..base
                }),
                RefundVerdict::ForAPerson { payport, note } => Some(noted(
                    ReconciliationItem {
                        payport_amount: Some(payport),
                        ..base
                    },
                    note,
                )),
                RefundVerdict::Settle(ids) => {
                    Some(self.settle(line, &found, &ids, with_payport(base)).await)
                }
                RefundVerdict::Query(ids) => Some(self.query(&ids, with_payport(base)).await),
                RefundVerdict::RecordExternal => {
                    Some(self.record_external(line, no, number, base, billed).await)
                }
                RefundVerdict::UnknownOrder { note } => Some(noted(
                    base,
                    note.unwrap_or_else(|| "payport has no such order".into()),
                )),
            },
        )
    }

    /// payport's refund under the line's number, else (a legacy line carries the
    /// batch_no) the order's refunds in that batch.
    async fn refunds_of_line(
        &self,
        no: &OutTradeNo,
        number: &str,
    ) -> Result<Vec<Refund>, ServiceError> {
        if let Ok(request_no) = OutRequestNo::parse(number) {
            let refunds = &self.ports.refunds;
            if let Some(refund) = refunds.get_by_out_request_no(no, &request_no).await? {
                return Ok(vec![refund]);
            }
        }
        let all = self.ports.refunds.list_for_order(no).await?;
        Ok(all
            .into_iter()
            .filter(|r| r.batch_no.as_ref().is_some_and(|b| b.as_str() == number))
            .collect())
    }

    /// Settles the legacy refunds `ids` as the bill shows them: succeeded, when the
    /// line's time.
    async fn settle(
        &self,
        line: &BillLine,
        found: &[Refund],
        ids: &[RefundId],
        base: ReconciliationItem,
    ) -> ReconciliationItem {
        let success = RefundSuccess {
            refund_fee: None,
            refunded_at: Some(line.finished_at),
        };
        for refund in found.iter().filter(|r| ids.contains(&r.refund_id)) {
            let settled = self.refunds.complete(refund.clone(), None, success.clone());
            if let Err(e) = settled.await {
                let why = format!("refund {} could not be settled: {e}", refund.refund_id);
                return noted(base, why);
            }
        }
        settled(base)
    }

    /// Asks Alipay's signed refund query about the refunds `ids` (as a sync does):
    /// settled only when it says they succeeded.
    async fn query(&self, ids: &[RefundId], base: ReconciliationItem) -> ReconciliationItem {
        for id in ids {
            match self.refunds.sync(id).await {
                Ok(refund) if refund.status == RefundStatus::Succeeded => {}
                Ok(refund) => {
                    // A query that failed leaves the refund as it was: say why.
                    let detail = refund
                        .last_error
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default();
                    let why = format!(
                        "the bill shows refund {id} succeeded, but after asking Alipay's \
                         refund query it is {}{detail}",
                        refund.status.as_str()
                    );
                    return noted(base, why);
                }
                Err(e) => return noted(base, format!("the refund query failed: {e}")),
            }
        }
        settled(base)
    }

    /// Records a refund payport never sent, with what Alipay's signed refund query
    /// says of it: the bill alone is not believed.
    async fn record_external(
        &self,
        line: &BillLine,
        no: OutTradeNo,
        number: &str,
        base: ReconciliationItem,
        billed: &mut HashSet<RefundId>,
    ) -> ReconciliationItem {
        let out_request_no = match OutRequestNo::parse(number) {
            Ok(n) => n,
            Err(e) => return noted(base, format!("cannot be recorded: {e}")),
        };
        let Some(query) = self.refunds.external_query() else {
            return noted(
                base,
                "cannot be verified: no refund query is configured; not recorded",
            );
        };
        let found = match query.find_refund(&no, &out_request_no).await {
            Ok(Some(found)) if found.amount == line.amount => found,
            Ok(Some(found)) => {
                let why = format!(
                    "Alipay's refund query gives {} for it: not recorded",
                    found.amount
                );
                return noted(base, why);
            }
            Ok(None) => return noted(base, "Alipay's refund query does not find it"),
            Err(e) => return noted(base, format!("the refund query failed: {e}")),
        };
        let external = ExternalRefund {
            out_trade_no: no,
            out_request_no,
            amount: found.amount,
            // When the money went back is not money: the bill's time will do.
            refunded_at: found.refunded_at.or(Some(line.finished_at)),
        };
        match self.refunds.record_external(&external).await {
            Ok(ExternalRecorded::Recorded(refund)) => {
                billed.insert(refund.refund_id.clone());
                ReconciliationItem {
                    payport_amount: Some(refund.amount),
                    action: ItemAction::RecordedExternalRefund,
                    ..base
                }
            }
            // Recorded meanwhile by another path: this run did nothing, and it counts
            // only if what is stored is that external refund.
            Ok(ExternalRecorded::AlreadyKnown(refund)) => {
                billed.insert(refund.refund_id.clone());
                let same = refund.external
                    && refund.status == RefundStatus::Succeeded
                    && refund.amount == line.amount;
                let known = ReconciliationItem {
                    payport_amount: Some(refund.amount),
                    ..base
                };
                match same {
                    true => ReconciliationItem {
                        action: ItemAction::RecordedExternalRefund,
                        ..known
                    },
                    false => {
                        let why = format!(
                            "payport has refund {} under this number ({} {}{})",
                            refund.refund_id,
                            refund.status.as_str(),
                            refund.amount,
                            if refund.external { ", external" } else { "" }
                        );
                        noted(known, why)
                    }
                }
            }
            Err(e) => noted(base, format!("not recorded as external: {e}")),
        }
    }
}

fn settled(base: ReconciliationItem) -> ReconciliationItem {
    ReconciliationItem {
        action: ItemAction::SettledRefund,
        ..base
    }
}
