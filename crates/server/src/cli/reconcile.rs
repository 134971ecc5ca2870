//! `payport reconcile --date D`: one day's reconciliation for a configured instance,
//! without serving HTTP, printed as the API's report.
//!
//! Exit codes: 0 the report is `completed` (read its items), 3 it is `pending` (the
//! bill is not available yet; try later), 1 it could not run (database, wiring),
//! 2 the configuration or the date is unusable.

use std::process::ExitCode;

use chrono::NaiveDate;
use payport_domain::reconciliation::{Reconciliation, ReconciliationStatus};
use poem_openapi::types::ToJSON;

use crate::api::reconciliations::{parse_date, Reconciliation as ApiReconciliation};
use crate::config::Config;
use crate::wiring::Payport;

/// The exit code of a report that is still pending.
pub const PENDING: u8 = 3;

/// `YYYY-MM-DD`, as the API takes it.
///
/// # Errors
/// One sentence naming `--date`.
pub fn parse(text: &str) -> Result<NaiveDate, String> {
    parse_date("--date", text).map_err(|e| e.body().message.clone())
}

/// Wires payport from `config` (the database is migrated, as at every start) and runs
/// the reconciliation of `date`, unless another run of it is under way. Alipay is
/// reached as `serve` reaches it: in simulator mode, through the simulator of the
/// instance at `public_url`.
///
/// # Errors
/// Wiring (configuration, database) or the run's storage failed.
pub async fn run(config: &Config, date: NaiveDate) -> anyhow::Result<Reconciliation> {
    let wired = Payport::builder(config.clone()).build().await?;
    Ok(wired.state.reconciliations.run_by_hand(date).await?)
}

/// The report as JSON on stdout, and its exit code.
pub fn finish(report: Reconciliation) -> ExitCode {
    let code = match report.status {
        ReconciliationStatus::Completed => ExitCode::SUCCESS,
        ReconciliationStatus::Pending => ExitCode::from(PENDING),
    };
    let json = ApiReconciliation::from(report)
        .to_json()
        .unwrap_or_default();
    super::print_answer(&format!("{json:#}")).unwrap_or(code)
}
