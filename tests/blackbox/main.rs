//! payport as a shop, an operator, a buyer and Alipay see it: over real HTTP, against
//! the in-process simulator, on SQLite and on PostgreSQL.
//!
//! Each module runs its scenarios on both backends (`both_backends!`). A scenario that
//! shows a payport bug is `#[ignore = "BUG: ..."]` until the server is fixed.

#![allow(clippy::unwrap_used)]

mod callbacks;
mod catch_up;
mod certificate_mode;
mod concurrency;
mod errors;
mod external_refunds;
mod flows;
mod idempotency;
mod journey;
mod late_payment;
mod legacy;
mod limits;
mod observability;
mod reconciliation;
mod refusals;
mod replays;
mod roles;
mod service;
mod takeover;
mod transactions;
mod unknown_outcomes;
mod webhooks;
