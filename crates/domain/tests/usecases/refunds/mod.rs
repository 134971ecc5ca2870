//! Refund use cases, by topic: requests and the policy, syncing unknown outcomes,
//! and what operators do. Helpers shared by the three live here.

mod operators;
mod racing;
mod requests;
mod sync;

use chrono::Duration;

use super::support::*;
use payport_domain::error::GatewayError;
use payport_domain::ids::RefundId;
use payport_domain::ports::*;
use payport_domain::refund::RefundSuccess;
use payport_domain::usecases::RefundRequest;

pub(crate) fn request(amount: &str) -> RefundRequest {
    RefundRequest {
        out_trade_no: otn("o1"),
        amount: yuan(amount),
        reason: Some("damaged".into()),
        out_request_no: None,
        gateway: None,
    }
}

/// [`request`] on the legacy no-password route, as requested.
pub(crate) async fn legacy(app: &Built, amount: &str) -> payport_domain::refund::Refund {
    let request = RefundRequest {
        gateway: Some(payport_domain::refund::RefundGatewayKind::MapiNoPwd),
        ..request(amount)
    };
    app.refunds.request(request).await.unwrap()
}

pub(crate) fn succeeded(fee: &str) -> Result<RefundSubmitted, GatewayError> {
    Ok(RefundSubmitted::Succeeded(RefundSuccess {
        refund_fee: Some(yuan(fee)),
        refunded_at: Some(t0() + Duration::minutes(5)),
    }))
}

fn rid(text: &str) -> RefundId {
    RefundId::parse(text).unwrap()
}

/// A harness with a paid 10.00 order "o1".
fn paid() -> Harness {
    let h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h
}
