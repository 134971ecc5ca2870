//! `/v1/reconciliations` (operators): a Beijing day of payport's books checked
//! against Alipay's trade bill, run now or read back.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use payport_domain::reconciliation as domain;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object, OpenApi};

use super::auth::BearerAuth;
use super::body::JsonBody;
use super::error::ApiError;
use super::text::DateText;
use super::ApiTags;
use crate::state::AppState;

pub struct ReconciliationsApi;

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct RunReconciliation {
    /// A Beijing date, `YYYY-MM-DD`. Today or a later day is accepted, and stays
    /// `pending` until Alipay has its bill.
    pub date: DateText,
}

/// `pending`: the bill is not available yet or could not be fetched; it is asked
/// for again, and a pending report never says everything matched. `completed`: every
/// bill line was compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(
    rename_all = "snake_case",
    remote = "payport_domain::reconciliation::ReconciliationStatus"
)]
pub enum ReconciliationStatus {
    Pending,
    Completed,
}

/// What differed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(
    rename_all = "snake_case",
    remote = "payport_domain::reconciliation::ItemKind"
)]
pub enum ItemKind {
    /// Alipay has the payment; payport has the order unpaid, or not at all.
    PaymentMissingHere,
    /// Alipay has a refund that payport does not have as succeeded.
    RefundMissingHere,
    /// payport has a payment or a succeeded refund that the bill does not.
    MissingAtAlipay,
    /// Both have it, with different amounts.
    AmountMismatch,
    /// A legacy refund still not settled long after it was sent.
    Unresolved,
}

/// What payport did: `none` means a person must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(
    rename_all = "snake_case",
    remote = "payport_domain::reconciliation::ItemAction"
)]
pub enum ItemAction {
    /// The order was queried at Alipay and updated.
    Synced,
    /// The refund was recorded as an external refund.
    RecordedExternalRefund,
    /// A sent refund was settled as succeeded by what the bill shows.
    SettledRefund,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReconciliationItem {
    pub kind: ItemKind,
    pub out_trade_no: String,
    /// Refunds: the refund's out_request_no, or a legacy batch_no.
    pub out_request_no: Option<String>,
    pub alipay_amount: Option<String>,
    pub payport_amount: Option<String>,
    pub action: ItemAction,
    /// Why, for a person.
    pub note: Option<String>,
}

/// What the latest run compared. Items kept from an earlier run (actions payport took
/// then) are listed but not counted.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct ReconciliationCounts {
    /// Payment lines in Alipay's bill.
    pub alipay_payments: u32,
    /// Refund lines in Alipay's bill.
    pub alipay_refunds: u32,
    /// Payments payport has for the day.
    pub payport_payments: u32,
    /// Refunds payport has as succeeded for the day.
    pub payport_refunds: u32,
    /// Bill lines that matched payport's books as they were.
    pub matched: u32,
    /// This run's items of every kind but `unresolved`.
    pub mismatches: u32,
    /// This run's `unresolved` items: legacy refunds long unsettled.
    pub unresolved: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Reconciliation {
    /// The Beijing date checked.
    pub date: NaiveDate,
    pub status: ReconciliationStatus,
    /// Absent while `pending`: no bill was compared, so nothing is counted (zeros
    /// would read as a clean day).
    pub counts: Option<ReconciliationCounts>,
    pub items: Vec<ReconciliationItem>,
    /// Why it is pending.
    pub last_error: Option<String>,
    /// How many times the bill was asked for.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<domain::Reconciliation> for Reconciliation {
    fn from(r: domain::Reconciliation) -> Self {
        let c = r.counts;
        let completed = r.status == domain::ReconciliationStatus::Completed;
        Reconciliation {
            date: r.date,
            status: r.status.into(),
            counts: completed.then_some(ReconciliationCounts {
                alipay_payments: c.alipay_payments,
                alipay_refunds: c.alipay_refunds,
                payport_payments: c.payport_payments,
                payport_refunds: c.payport_refunds,
                matched: c.matched,
                mismatches: c.mismatches,
                unresolved: c.unresolved,
            }),
            items: r
                .items
                .into_iter()
                .map(|i| ReconciliationItem {
                    kind: i.kind.into(),
                    out_trade_no: i.out_trade_no,
                    out_request_no: i.out_request_no,
                    alipay_amount: i.alipay_amount.map(|a| a.to_string()),
                    payport_amount: i.payport_amount.map(|a| a.to_string()),
                    action: i.action.into(),
                    note: i.note,
                })
                .collect(),
            last_error: r.last_error,
            attempts: r.attempts,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// `YYYY-MM-DD` exactly.
///
/// # Errors
/// VALIDATION_FAILED naming the field.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == text)
        .ok_or_else(|| {
            let got: String = text.chars().take(40).collect();
            ApiError::invalid(
                field,
                format!("{field} must be a date YYYY-MM-DD; got {got:?}"),
            )
        })
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Reconciliations")]
impl ReconciliationsApi {
    /// Reconcile a day now (operator)
    ///
    /// Downloads Alipay's trade bill of the Beijing `date`, compares every line with
    /// payport's orders and refunds, acts where the bill proves what happened (syncs
    /// a paid order, settles a sent refund, records a refund made outside payport),
    /// and stores the report in place of the day's earlier one. A bill that is not
    /// available yet gives a `pending` report (answered 200 too). While another run of
    /// the day is under way (the daily run, or another operator's, on any instance):
    /// 409 RECONCILIATION_RUNNING.
    #[oai(
        path = "/reconciliations",
        method = "post",
        operation_id = "runReconciliation"
    )]
    async fn run(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: JsonBody<RunReconciliation>,
    ) -> Result<Json<Reconciliation>, ApiError> {
        auth.require_operator()?;
        let date = parse_date("date", &body.0.date.0)?;
        let report = state.reconciliations.run_by_hand(date).await?;
        Ok(Json(report.into()))
    }

    /// Read a day's reconciliation (operator)
    #[oai(
        path = "/reconciliations/:date",
        method = "get",
        operation_id = "getReconciliation"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// A Beijing date, `YYYY-MM-DD`.
        date: Path<DateText>,
    ) -> Result<Json<Reconciliation>, ApiError> {
        auth.require_operator()?;
        let date = parse_date("date", &date.0 .0)?;
        Ok(Json(state.reconciliations.get(date).await?.into()))
    }
}

impl Example for RunReconciliation {
    fn example() -> Self {
        RunReconciliation {
            date: DateText("2026-11-20".into()),
        }
    }
}

impl Example for Reconciliation {
    fn example() -> Self {
        let at = |hour| {
            chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 21, hour, 0, 0)
                .single()
                .unwrap_or_default()
        };
        Reconciliation {
            date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
            status: ReconciliationStatus::Completed,
            counts: Some(ReconciliationCounts {
                alipay_payments: 41,
                alipay_refunds: 3,
                payport_payments: 41,
                payport_refunds: 2,
                matched: 43,
                mismatches: 1,
                unresolved: 0,
            }),
            items: vec![ReconciliationItem {
                kind: ItemKind::RefundMissingHere,
                out_trade_no: "shop_20261120_0007".into(),
                out_request_no: Some("console1".into()),
                alipay_amount: Some("3.00".into()),
                payport_amount: Some("3.00".into()),
                action: ItemAction::RecordedExternalRefund,
                note: None,
            }],
            last_error: None,
            attempts: 1,
            created_at: at(1),
            updated_at: at(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        assert_eq!(
            parse_date("date", "2026-11-20").ok(),
            NaiveDate::from_ymd_opt(2026, 11, 20)
        );
        for bad in [
            "2026-11-31",
            "2026-1-5",
            "20261120",
            "2026-11-20T00:00",
            "",
            "yesterday",
        ] {
            let e = parse_date("date", bad).err().map(|e| e.body().code.clone());
            assert_eq!(e.as_deref(), Some("VALIDATION_FAILED"), "{bad}");
        }
    }
}
