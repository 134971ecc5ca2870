//! The rules of a reconciliation, without IO: what a bill line means given what
//! payport has, what payport has that the bill lacks, how a re-run keeps the record
//! of earlier actions, and the Beijing day and daily schedule.

use std::collections::HashSet;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};

use crate::ids::RefundId;
use crate::money::Amount;
use crate::order::{Order, OrderStatus};
use crate::reconciliation::{ItemAction, ItemKind, ReconciliationCounts, ReconciliationItem};
use crate::refund::{Refund, RefundStatus};

/// Alipay's bills are by Beijing day (PROTOCOL.md D: UTC+8, no daylight saving).
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("UTC+8 is in range"))
}

/// `[date 00:00+08:00, next day 00:00+08:00)` in UTC.
pub fn beijing_day(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = (date.and_time(NaiveTime::MIN) - Duration::hours(8)).and_utc();
    (start, start + Duration::days(1))
}

/// The Beijing date of `now`.
pub fn beijing_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&beijing()).date_naive()
}

/// The day the daily run checks at `now`: yesterday (Beijing), once Beijing time of
/// day reached `daily_at` (Alipay makes the bills in the morning); before, none.
pub fn due_date(now: DateTime<Utc>, daily_at: NaiveTime) -> Option<NaiveDate> {
    let local = now.with_timezone(&beijing());
    (local.time() >= daily_at).then(|| local.date_naive() - Duration::days(1))
}

/// What a payment line means, given the order payport has under its out_trade_no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentVerdict {
    Matched,
    /// payport has no such order.
    UnknownOrder,
    AmountMismatch {
        payport: Amount,
    },
    /// payport has the order unpaid: ask Alipay.
    Sync,
}

pub fn payment_verdict(amount: Amount, order: Option<&Order>) -> PaymentVerdict {
    let Some(order) = order else {
        return PaymentVerdict::UnknownOrder;
    };
    if order.total_amount != amount {
        return PaymentVerdict::AmountMismatch {
            payport: order.total_amount,
        };
    }
    match order.status {
        OrderStatus::Pending | OrderStatus::Closed => PaymentVerdict::Sync,
        OrderStatus::Paid
        | OrderStatus::PartiallyRefunded
        | OrderStatus::Refunded
        | OrderStatus::Finished => PaymentVerdict::Matched,
    }
}

/// What a refund line means, given the refunds payport has for it (by out_request_no,
/// or a legacy batch's refunds of the trade) and the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundVerdict {
    Matched,
    AmountMismatch {
        payport: Amount,
    },
    /// Legacy refunds sent and not settled: the bill shows they succeeded, and it is
    /// all payport will ever learn of them (mapi has no refund query).
    Settle(Vec<RefundId>),
    /// Sent and not settled on a route that has a refund query: the bill is not
    /// signed, so only Alipay's signed answer may settle them.
    Query(Vec<RefundId>),
    /// payport has them in a status the bill contradicts: for a person.
    ForAPerson {
        payport: Amount,
        note: String,
    },
    /// A refund payport never sent, of an order it has paid.
    RecordExternal,
    /// payport has no such order, or has it unpaid: for a person.
    UnknownOrder {
        note: Option<String>,
    },
}

pub fn refund_verdict(amount: Amount, found: &[Refund], order: Option<&Order>) -> RefundVerdict {
    if found.is_empty() {
        return match order {
            None => RefundVerdict::UnknownOrder { note: None },
            Some(order) if order.paid_at.is_none() => RefundVerdict::UnknownOrder {
                note: Some(format!("the order is {} here", order.status.as_str())),
            },
            Some(_) => RefundVerdict::RecordExternal,
        };
    }
    let payport = Amount::sum(found.iter().map(|r| r.amount)).unwrap_or(Amount::MAX);
    // Alipay told payport something about it that does not add up: never settled by
    // the bill, whatever the amounts.
    if let Some(flagged) = found.iter().find(|r| r.has_anomaly()) {
        return RefundVerdict::ForAPerson {
            payport,
            note: format!(
                "refund {} is flagged for a person: {}",
                flagged.refund_id,
                flagged.last_error.as_deref().unwrap_or("an anomaly")
            ),
        };
    }
    if payport != amount {
        return RefundVerdict::AmountMismatch { payport };
    }
    let unsettled: Vec<&Refund> = found
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                RefundStatus::Processing | RefundStatus::AwaitingOperator
            )
        })
        .collect();
    if let Some(other) = found.iter().find(|r| {
        !matches!(
            r.status,
            RefundStatus::Succeeded | RefundStatus::Processing | RefundStatus::AwaitingOperator
        )
    }) {
        return RefundVerdict::ForAPerson {
            payport,
            note: format!(
                "Alipay refunded it; payport has refund {} as {}",
                other.refund_id,
                other.status.as_str()
            ),
        };
    }
    let legacy = unsettled.iter().all(|r| r.gateway.is_legacy());
    let ids = unsettled.iter().map(|r| r.refund_id.clone()).collect();
    match (unsettled.is_empty(), legacy) {
        (true, _) => RefundVerdict::Matched,
        (false, true) => RefundVerdict::Settle(ids),
        (false, false) => RefundVerdict::Query(ids),
    }
}

/// payport's payments and succeeded refunds of the day that no bill line named.
pub fn missing_at_alipay(
    paid: &[Order],
    billed_payments: &HashSet<String>,
    succeeded: &[Refund],
    billed_refunds: &HashSet<RefundId>,
) -> Vec<ReconciliationItem> {
    let payments = paid
        .iter()
        .filter(|o| !billed_payments.contains(o.out_trade_no.as_str()))
        .map(|o| ReconciliationItem {
            payport_amount: Some(o.total_amount),
            ..item(ItemKind::MissingAtAlipay, o.out_trade_no.as_str())
        });
    let refunds = succeeded
        .iter()
        .filter(|r| !billed_refunds.contains(&r.refund_id))
        .map(|r| ReconciliationItem {
            out_request_no: Some(r.out_request_no.to_string()),
            payport_amount: Some(r.amount),
            ..item(ItemKind::MissingAtAlipay, r.out_trade_no.as_str())
        });
    payments.chain(refunds).collect()
}

/// A legacy refund nobody settled, long after it was sent: for a person.
pub fn unresolved(refund: &Refund) -> ReconciliationItem {
    let batch = refund.batch_no.as_ref().map_or("none", |b| b.as_str());
    ReconciliationItem {
        out_request_no: Some(refund.out_request_no.to_string()),
        payport_amount: Some(refund.amount),
        note: Some(format!(
            "{} {} refund still {} (batch {batch}); Alipay's bill does not settle it",
            refund.refund_id,
            refund.gateway.as_str(),
            refund.status.as_str()
        )),
        ..item(ItemKind::Unresolved, refund.out_trade_no.as_str())
    }
}

/// An item with nothing done and no amounts yet.
pub fn item(kind: ItemKind, out_trade_no: &str) -> ReconciliationItem {
    ReconciliationItem {
        kind,
        out_trade_no: out_trade_no.to_owned(),
        out_request_no: None,
        alipay_amount: None,
        payport_amount: None,
        action: ItemAction::None,
        note: None,
    }
}

/// The items of a re-run: the new ones, then each earlier item whose action was not
/// `none` and that the new run does not list again (same out_trade_no and
/// out_request_no): what payport did must not vanish from the record.
pub fn merge_earlier(
    earlier: &[ReconciliationItem],
    new: Vec<ReconciliationItem>,
) -> Vec<ReconciliationItem> {
    let key = |i: &ReconciliationItem| (i.out_trade_no.clone(), i.out_request_no.clone());
    let listed: HashSet<_> = new.iter().map(key).collect();
    let kept: Vec<_> = earlier
        .iter()
        .filter(|i| i.action != ItemAction::None && !listed.contains(&key(i)))
        .cloned()
        .collect();
    new.into_iter().chain(kept).collect()
}

/// The counts of a completed run; `mismatches` and `unresolved` from its own items
/// (before the earlier ones are kept: those are about an earlier run).
pub fn counts(
    lines: (usize, usize),
    payport: (usize, usize),
    matched: usize,
    items: &[ReconciliationItem],
) -> ReconciliationCounts {
    let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    let unresolved = items
        .iter()
        .filter(|i| i.kind == ItemKind::Unresolved)
        .count();
    ReconciliationCounts {
        alipay_payments: n(lines.0),
        alipay_refunds: n(lines.1),
        payport_payments: n(payport.0),
        payport_refunds: n(payport.1),
        matched: n(matched),
        mismatches: n(items.len() - unresolved),
        unresolved: n(unresolved),
    }
}

#[cfg(test)]
mod tests;
