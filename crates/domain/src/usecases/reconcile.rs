//! Reconciliation: one Beijing day of payport's books checked against Alipay's trade
//! bill (PROTOCOL.md A10), and what payport can safely do about each difference.
//!
//! payport acts only where the bill proves what happened and the action is one it
//! already knows how to take: a payment the bill shows is synced with a trade query, a
//! sent refund the bill shows is settled as succeeded, a refund payport never sent is
//! recorded as external. Everything else (an unknown order, another amount, a refund
//! payport has as failed) is an item with action `none`, for a person. A bill that is
//! not available leaves the report `pending`, never "all matched".
//!
//! The decisions themselves are in `rules`, without IO.

mod rules;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};

pub use rules::{beijing_date, beijing_day, due_date};
use rules::{item, PaymentVerdict, RefundVerdict};

use super::{ExternalRecorded, ExternalRefund, Orders, Ports, Refunds, ServiceError, Settings};
use crate::ids::{OutRequestNo, OutTradeNo, RefundId};
use crate::ports::{BillLine, BillLineKind, ReconciliationStore, TradeBill, TradeBills};
use crate::reconciliation::{
    ItemAction, ItemKind, Reconciliation, ReconciliationItem, ReconciliationStatus,
};
use crate::refund::{Refund, RefundSuccess};

/// How long a pending report waits before the daily run asks for the bill again.
pub const PENDING_RETRY: Duration = Duration::minutes(30);

#[derive(Clone)]
pub struct Reconciliations {
    ports: Ports,
    settings: Arc<Settings>,
    store: Arc<dyn ReconciliationStore>,
    bills: Arc<dyn TradeBills>,
    orders: Orders,
    refunds: Refunds,
}

/// What the bill lines gave: the items, how many lines matched, and which of
/// payport's payments and refunds they named.
#[derive(Default)]
struct Compared {
    items: Vec<ReconciliationItem>,
    matched: usize,
    payments: HashSet<String>,
    refunds: HashSet<RefundId>,
}

impl Reconciliations {
    pub fn new(
        ports: Ports,
        settings: Arc<Settings>,
        store: Arc<dyn ReconciliationStore>,
        bills: Arc<dyn TradeBills>,
    ) -> Reconciliations {
        Reconciliations {
            orders: Orders::new(ports.clone(), settings.clone()),
            refunds: Refunds::new(ports.clone(), settings.clone()),
            ports,
            settings,
            store,
            bills,
        }
    }

    /// # Errors
    /// `ReconciliationNotFound`; storage errors.
    pub async fn get(&self, date: NaiveDate) -> Result<Reconciliation, ServiceError> {
        self.store
            .get_reconciliation(date)
            .await?
            .ok_or(ServiceError::ReconciliationNotFound(date))
    }

    /// The daily run: claims `date` for `lease` (so that one instance runs it) and
    /// runs it when the claim was granted; `None` when it was not (done already,
    /// pending and not due yet, or another instance has it). A day that is done or
    /// not due is seen by a read first, so that looking back over past days writes
    /// nothing for them.
    ///
    /// # Errors
    /// As [`Reconciliations::run`].
    pub async fn run_claimed(
        &self,
        date: NaiveDate,
        lease: std::time::Duration,
    ) -> Result<Option<Reconciliation>, ServiceError> {
        let now = self.ports.clock.now();
        if let Some(stored) = self.store.get_reconciliation(date).await? {
            let due = stored.status == ReconciliationStatus::Pending
                && stored.next_attempt_at.is_none_or(|at| at <= now);
            if !due {
                return Ok(None);
            }
        }
        if !self.store.claim_reconciliation(date, now, lease).await? {
            return Ok(None);
        }
        self.run(date).await.map(Some)
    }

    /// Fetches the bill of `date` (a Beijing date), compares it with payport's books,
    /// acts where it safely can, and stores the report in place of any earlier one
    /// (keeping the earlier items that recorded an action and are not listed again).
    /// A bill that is not ready or cannot be fetched gives a `pending` report, to be
    /// tried again after [`PENDING_RETRY`], with the earlier items kept.
    ///
    /// # Errors
    /// Storage errors (nothing is stored then).
    pub async fn run(&self, date: NaiveDate) -> Result<Reconciliation, ServiceError> {
        let earlier = self.store.get_reconciliation(date).await?;
        let report = match self.bills.trade_bill(date).await {
            Ok(TradeBill::Ready(lines)) => self.completed(date, &lines, earlier).await?,
            Ok(TradeBill::NotReady) => self.pending(
                date,
                earlier,
                format!("Alipay's bill for {date} is not available yet"),
            ),
            Err(e) => self.pending(date, earlier, format!("the bill could not be fetched: {e}")),
        };
        self.store.save_reconciliation(&report).await?;
        Ok(report)
    }

    fn pending(
        &self,
        date: NaiveDate,
        earlier: Option<Reconciliation>,
        why: String,
    ) -> Reconciliation {
        let now = self.ports.clock.now();
        let mut report = earlier.unwrap_or_else(|| Reconciliation::not_run(date, now));
        report.status = ReconciliationStatus::Pending;
        report.last_error = Some(why);
        report.attempts = report.attempts.saturating_add(1);
        report.next_attempt_at = Some(now + PENDING_RETRY);
        report.updated_at = now;
        report
    }

    async fn completed(
        &self,
        date: NaiveDate,
        lines: &[BillLine],
        earlier: Option<Reconciliation>,
    ) -> Result<Reconciliation, ServiceError> {
        let started = self.ports.clock.now();
        let mut compared = Compared::default();
        for line in lines {
            let differs = match line.kind {
                BillLineKind::Payment => {
                    compared.payments.insert(line.out_trade_no.clone());
                    self.payment_line(line).await?
                }
                BillLineKind::Refund => self.refund_line(line, &mut compared.refunds).await?,
            };
            match differs {
                Some(item) => compared.items.push(item),
                None => compared.matched += 1,
            }
        }
        // Read after the lines were acted on: a payment just synced is in the bill.
        let (from, to) = beijing_day(date);
        let paid = self.store.orders_paid_between(from, to).await?;
        let succeeded = self.store.refunds_succeeded_between(from, to).await?;
        let mut items = compared.items;
        items.extend(rules::missing_at_alipay(
            &paid,
            &compared.payments,
            &succeeded,
            &compared.refunds,
        ));
        let stranded_before = started - self.settings.stranded_after;
        for refund in self.store.unsettled_legacy_refunds(stranded_before).await? {
            if !compared.refunds.contains(&refund.refund_id) {
                items.push(rules::unresolved(&refund));
            }
        }
        let (earlier_items, created_at, attempts) = match earlier {
            Some(e) => (e.items, e.created_at, e.attempts),
            None => (Vec::new(), started, 0),
        };
        let items = rules::merge_earlier(&earlier_items, items);
        let payments = lines
            .iter()
            .filter(|l| l.kind == BillLineKind::Payment)
            .count();
        let counts = rules::counts(
            (payments, lines.len() - payments),
            (paid.len(), succeeded.len()),
            compared.matched,
            &items,
        );
        Ok(Reconciliation {
            date,
            status: ReconciliationStatus::Completed,
            counts,
            items,
            last_error: None,
            attempts: attempts.saturating_add(1),
            next_attempt_at: None,
            created_at,
            updated_at: self.ports.clock.now(),
        })
    }

    /// `None` when the line matches payport's books as they were.
    async fn payment_line(
        &self,
        line: &BillLine,
    ) -> Result<Option<ReconciliationItem>, ServiceError> {
        let base = ReconciliationItem {
            alipay_amount: Some(line.amount),
            ..item(ItemKind::PaymentMissingHere, &line.out_trade_no)
        };
        let no = match OutTradeNo::parse(line.out_trade_no.as_str()) {
            Ok(no) => no,
            Err(e) => return Ok(Some(noted(base, format!("not a payport order: {e}")))),
        };
        let order = self.ports.orders.get(&no).await?;
        Ok(match rules::payment_verdict(line.amount, order.as_ref()) {
            PaymentVerdict::Matched => None,
            PaymentVerdict::UnknownOrder => Some(noted(base, "payport has no such order")),
            PaymentVerdict::AmountMismatch { payport } => Some(ReconciliationItem {
                kind: ItemKind::AmountMismatch,
                payport_amount: Some(payport),
                ..base
            }),
            PaymentVerdict::Sync => {
                let base = ReconciliationItem {
                    payport_amount: Some(line.amount),
                    ..base
                };
                Some(match self.orders.sync(&no).await {
                    Ok(order) if order.paid_at.is_some() => ReconciliationItem {
                        action: ItemAction::Synced,
                        ..base
                    },
                    Ok(order) => noted(
                        base,
                        format!(
                            "Alipay's trade query leaves the order {}",
                            order.status.as_str()
                        ),
                    ),
                    Err(e) => noted(base, format!("the trade query failed: {e}")),
                })
            }
        })
    }

    /// `None` when the line matches payport's books as they were. Adds the refunds
    /// the line names to `billed`.
    async fn refund_line(
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
                RefundVerdict::Settle(ids) => Some(self.settle(line, &found, &ids, base).await),
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

    /// Settles the sent refunds `ids` as the bill shows them: succeeded, when the
    /// line's time.
    async fn settle(
        &self,
        line: &BillLine,
        found: &[Refund],
        ids: &[RefundId],
        base: ReconciliationItem,
    ) -> ReconciliationItem {
        let base = ReconciliationItem {
            payport_amount: Some(line.amount),
            ..base
        };
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
        ReconciliationItem {
            action: ItemAction::SettledRefund,
            ..base
        }
    }

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
        let external = ExternalRefund {
            out_trade_no: no,
            out_request_no,
            amount: line.amount,
            refunded_at: Some(line.finished_at),
        };
        match self.refunds.record_external(&external).await {
            Ok(ExternalRecorded::Recorded(refund) | ExternalRecorded::AlreadyKnown(refund)) => {
                billed.insert(refund.refund_id);
                ReconciliationItem {
                    payport_amount: Some(refund.amount),
                    action: ItemAction::RecordedExternalRefund,
                    ..base
                }
            }
            Err(e) => noted(base, format!("not recorded as external: {e}")),
        }
    }
}

fn noted(item: ReconciliationItem, note: impl Into<String>) -> ReconciliationItem {
    ReconciliationItem {
        note: Some(note.into()),
        ..item
    }
}
