//! A reconciliation: one Beijing day of payport's books checked against Alipay's
//! trade bill, what differed, and what payport did about each difference.
//!
//! The report never invents money: where payport cannot prove what happened (an order
//! it does not know, an amount that differs, a legacy refund nobody settled), the item
//! says `none` and waits for a person.

use chrono::{DateTime, NaiveDate, Utc};

use crate::money::Amount;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconciliationStatus {
    /// The bill is not available yet, or its download failed: asked again later.
    /// A pending report never says "all matched".
    Pending,
    /// Every bill line was compared.
    Completed,
}

impl ReconciliationStatus {
    pub const ALL: [ReconciliationStatus; 2] = [Self::Pending, Self::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What differed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// Alipay has the payment; payport has the order unpaid, or not at all.
    PaymentMissingHere,
    /// Alipay has a refund that payport does not have as succeeded.
    RefundMissingHere,
    /// payport has a payment or a succeeded refund that the bill does not.
    MissingAtAlipay,
    /// Both have it, with different amounts.
    AmountMismatch,
    /// A legacy refund still not settled long after its batch was sent: for a person.
    Unresolved,
}

impl ItemKind {
    pub const ALL: [ItemKind; 5] = [
        Self::PaymentMissingHere,
        Self::RefundMissingHere,
        Self::MissingAtAlipay,
        Self::AmountMismatch,
        Self::Unresolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaymentMissingHere => "payment_missing_here",
            Self::RefundMissingHere => "refund_missing_here",
            Self::MissingAtAlipay => "missing_at_alipay",
            Self::AmountMismatch => "amount_mismatch",
            Self::Unresolved => "unresolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// What payport did about a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemAction {
    /// The order was queried at Alipay and updated (e.g. marked paid).
    Synced,
    /// The refund was recorded as external ([`crate::Refund::external`]).
    RecordedExternalRefund,
    /// A `processing` or `awaiting_operator` refund was settled by what the bill shows.
    SettledRefund,
    /// Nothing: a person must look.
    None,
}

impl ItemAction {
    pub const ALL: [ItemAction; 4] = [
        Self::Synced,
        Self::RecordedExternalRefund,
        Self::SettledRefund,
        Self::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::RecordedExternalRefund => "recorded_external_refund",
            Self::SettledRefund => "settled_refund",
            Self::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// One difference. Ids are kept as Alipay or payport wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationItem {
    pub kind: ItemKind,
    pub out_trade_no: String,
    /// Refund items: the refund's out_request_no (or a legacy batch_no).
    pub out_request_no: Option<String>,
    pub alipay_amount: Option<Amount>,
    pub payport_amount: Option<Amount>,
    pub action: ItemAction,
    /// Why, for a person (e.g. the error that stopped an action).
    pub note: Option<String>,
}

/// What one run compared. Items kept from an earlier run (actions that must not
/// vanish from the record) are not counted: they follow the run's own items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReconciliationCounts {
    /// Payment lines in Alipay's bill.
    pub alipay_payments: u32,
    /// Refund lines in Alipay's bill.
    pub alipay_refunds: u32,
    /// Payments payport recorded for the day.
    pub payport_payments: u32,
    /// Refunds payport recorded as succeeded for the day.
    pub payport_refunds: u32,
    /// Bill lines that matched payport's books as they were.
    pub matched: u32,
    /// This run's items of every kind but `unresolved`.
    pub mismatches: u32,
    /// This run's `unresolved` items.
    pub unresolved: u32,
}

/// The stored report of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    /// A Beijing date.
    pub date: NaiveDate,
    pub status: ReconciliationStatus,
    pub counts: ReconciliationCounts,
    pub items: Vec<ReconciliationItem>,
    /// Why the report is pending (bill not ready, download failed).
    pub last_error: Option<String>,
    /// How many times the bill was asked for.
    pub attempts: u32,
    /// When a pending report is next tried by the daily worker.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reconciliation {
    /// The report of a date before any run compared anything: `pending`, no items
    /// (what a daily run's claim stores first).
    pub fn not_run(date: NaiveDate, now: DateTime<Utc>) -> Reconciliation {
        Reconciliation {
            date,
            status: ReconciliationStatus::Pending,
            counts: ReconciliationCounts::default(),
            items: Vec::new(),
            last_error: None,
            attempts: 0,
            next_attempt_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// These names are stored and shown by the API: they must not drift.
    #[test]
    fn every_name_is_the_documented_one_and_parses_back() {
        let statuses: Vec<&str> = ReconciliationStatus::ALL.map(|s| s.as_str()).to_vec();
        assert_eq!(statuses, ["pending", "completed"]);
        let kinds: Vec<&str> = ItemKind::ALL.map(|k| k.as_str()).to_vec();
        assert_eq!(
            kinds,
            [
                "payment_missing_here",
                "refund_missing_here",
                "missing_at_alipay",
                "amount_mismatch",
                "unresolved"
            ]
        );
        let actions: Vec<&str> = ItemAction::ALL.map(|a| a.as_str()).to_vec();
        assert_eq!(
            actions,
            [
                "synced",
                "recorded_external_refund",
                "settled_refund",
                "none"
            ]
        );
        for s in ReconciliationStatus::ALL {
            assert_eq!(ReconciliationStatus::parse(s.as_str()), Some(s));
        }
        for k in ItemKind::ALL {
            assert_eq!(ItemKind::parse(k.as_str()), Some(k));
        }
        for a in ItemAction::ALL {
            assert_eq!(ItemAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(ReconciliationStatus::parse("done"), None);
        assert_eq!(ItemKind::parse("other"), None);
        assert_eq!(ItemAction::parse(""), None);
    }
}
