//! Reconciliation: one Beijing day of payport's books checked against Alipay's trade
//! bill (PROTOCOL.md A10), and what payport can safely do about each difference.
//!
//! The bill is not signed: payport acts on it only through Alipay's signed answers,
//! with actions it already knows how to take. A payment the bill shows is synced with
//! a trade query; a sent refund the bill shows is synced with the refund query; a
//! refund payport never sent is recorded as external once the refund query confirms
//! it. Only a legacy refund, which has no query, is settled by the bill itself.
//! Everything else (an unknown order, another amount, a refund payport has as failed
//! or flagged) is an item with action `none`, for a person. A bill that is not
//! available leaves the report `pending`, never "all matched".
//!
//! The decisions themselves are in `rules`, without IO.

mod refund_lines;
mod rules;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};

pub use rules::{beijing_date, beijing_day, due_date};
use rules::{item, PaymentVerdict};

use super::{Orders, Ports, Refunds, ServiceError, Settings};
use crate::ids::{OutTradeNo, RefundId};
use crate::ports::{BillLine, BillLineKind, ReconciliationStore, TradeBill, TradeBills};
use crate::reconciliation::{
    ItemAction, ItemKind, Reconciliation, ReconciliationItem, ReconciliationStatus,
};

/// How long a pending report waits before the daily run asks for the bill again.
pub const PENDING_RETRY: Duration = Duration::minutes(30);

/// How long a run's claim on its day holds: a bill of many thousand lines, each maybe
/// a query to Alipay, takes a while. Another run of the day waits this long for one
/// that died.
pub const RUN_LEASE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

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

    /// A run a person asked for: claims `date` for [`RUN_LEASE`], a completed day too,
    /// so that it never runs beside the daily run or another person's, then runs it.
    ///
    /// # Errors
    /// `ReconciliationRunning` while another run holds the day; as
    /// [`Reconciliations::run`].
    pub async fn run_by_hand(&self, date: NaiveDate) -> Result<Reconciliation, ServiceError> {
        let now = self.ports.clock.now();
        if !self
            .store
            .claim_reconciliation_by_hand(date, now, RUN_LEASE)
            .await?
        {
            return Err(ServiceError::ReconciliationRunning(date));
        }
        self.run(date).await
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
        // Payments first: a refund line of an order whose payment notification was
        // lost must find the order synced.
        let (payment_lines, refund_lines): (Vec<&BillLine>, Vec<&BillLine>) =
            lines.iter().partition(|l| l.kind == BillLineKind::Payment);
        for line in payment_lines.iter().chain(&refund_lines) {
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
        // Counted before the earlier items are kept: the counts are about this run.
        let counts = rules::counts(
            (payment_lines.len(), refund_lines.len()),
            (paid.len(), succeeded.len()),
            compared.matched,
            &items,
        );
        let (earlier_items, created_at, attempts) = match earlier {
            Some(e) => (e.items, e.created_at, e.attempts),
            None => (Vec::new(), started, 0),
        };
        let items = rules::merge_earlier(&earlier_items, items);
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
}

fn noted(item: ReconciliationItem, note: impl Into<String>) -> ReconciliationItem {
    ReconciliationItem {
        note: Some(note.into()),
        ..item
    }
}
