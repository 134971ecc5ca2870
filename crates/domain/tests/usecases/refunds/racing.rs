//! Two requests with one out_request_no racing: both miss each other in the first
//! look-up, and the second learns of the first only from its reservation. It must
//! answer exactly as a retry after the first committed would.

use std::sync::Arc;

use super::{paid, request, succeeded};
use crate::support::*;
use payport_domain::ports::*;
use payport_domain::refund::{Refund, RefundGatewayKind};
use payport_domain::usecases::{RefundRequest, ServiceError};

/// The refund the first request stored: 2.00 through OpenAPI as "shop_r1".
async fn first_refund() -> Refund {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .returning(|_| succeeded("2.00"));
    h.build()
        .refunds
        .request(shop_r1("2.00", None))
        .await
        .unwrap()
}

fn shop_r1(amount: &str, gateway: Option<RefundGatewayKind>) -> RefundRequest {
    RefundRequest {
        out_request_no: Some(orn("shop_r1")),
        gateway,
        ..request(amount)
    }
}

/// The second request: its look-up misses `first`, its reservation finds it.
async fn race(first: &Refund, second: RefundRequest) -> Result<Refund, ServiceError> {
    let mut h = paid();
    h.mapi_nopwd = Some(MockRefundSubmitter::new());
    let mut refunds = MockRefundRepository::new();
    refunds
        .expect_get_by_out_request_no()
        .returning(|_, _| Ok(None));
    let existing = first.clone();
    refunds.expect_reserve().times(1).returning(move |_, _| {
        Err(ReserveError::DuplicateOutRequestNo(Box::new(
            existing.clone(),
        )))
    });
    h.refunds_override = Some(Arc::new(refunds));
    // Nothing is sent: the refund is the first request's.
    h.openapi.expect_submit_refund().never();
    h.build().refunds.request(second).await
}

#[tokio::test]
async fn the_same_request_racing_gets_the_first_refund_back() {
    let first = first_refund().await;
    assert_eq!(race(&first, shop_r1("2.00", None)).await.unwrap(), first);
}

#[tokio::test]
async fn a_racing_request_for_another_amount_is_refused_as_a_reused_number() {
    let first = first_refund().await;
    let err = race(&first, shop_r1("3.00", None)).await.unwrap_err();
    assert_eq!(err, ServiceError::OutRequestNoReused(first.refund_id));
}

#[tokio::test]
async fn a_racing_request_through_another_gateway_is_refused_as_a_reused_number() {
    let first = first_refund().await;
    let legacy = Some(RefundGatewayKind::MapiNoPwd);
    let err = race(&first, shop_r1("2.00", legacy)).await.unwrap_err();
    assert_eq!(err, ServiceError::OutRequestNoReused(first.refund_id));
}
