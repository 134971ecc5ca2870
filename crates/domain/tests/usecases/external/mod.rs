//! Refunds made outside payport: recording one (`record`), and learning one from a
//! trade notification that names a refund payport does not know (`notified`).

mod notified;
mod record;

use chrono::Duration;

use super::support::*;
use payport_domain::usecases::ExternalRefund;

/// A refund of `amount` made in Alipay's console on order "o1" under `number`.
fn console(number: &str, amount: &str) -> ExternalRefund {
    ExternalRefund {
        out_trade_no: otn("o1"),
        out_request_no: orn(number),
        amount: yuan(amount),
        refunded_at: Some(t0() + Duration::minutes(4)),
    }
}

/// The type and object of every event stored, oldest first.
fn event_log(store: &MemoryStore) -> Vec<String> {
    store
        .events()
        .iter()
        .map(|e| format!("{} {}", e.event_type.as_str(), e.object_id))
        .collect()
}
