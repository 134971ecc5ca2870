use std::sync::Arc;

use chrono::Duration;

use super::{paid, request, succeeded};
use crate::support::*;
use payport_domain::error::{GatewayError, RepoError};
use payport_domain::order::OrderStatus;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::*;
use payport_domain::refund::{RefundGatewayKind, RefundStatus};
use payport_domain::usecases::ServiceError;

#[tokio::test]
async fn auto_approved_refund_is_sent_and_succeeds() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .withf(|s| {
            s.out_trade_no.as_str() == "o1"
                && s.trade_no.as_ref().map(|t| t.as_str()) == Some("To1")
                && s.out_request_no.as_str() == "rq2"
                && s.amount.to_string() == "4.00"
                && s.reason.as_deref() == Some("damaged")
        })
        .times(1)
        .returning(|_| succeeded("4.00"));
    let app = h.build();
    let refund = app.refunds.request(request("4.00")).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert_eq!(refund.refund_fee, Some(yuan("4.00")));
    assert_eq!(refund.attempts, 1);
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::PartiallyRefunded);
    assert_eq!(order.refunded_amount, yuan("4.00"));
    assert_eq!(app.store.refund_list(), vec![refund]);
}

#[tokio::test]
async fn refunding_the_rest_leaves_the_order_refunded() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(2)
        .returning(|s| succeeded(&s.amount.to_string()));
    let app = h.build();
    app.refunds.request(request("4.00")).await.unwrap();
    app.refunds.request(request("6.00")).await.unwrap();
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::Refunded);
    assert_eq!(order.refunded_amount, yuan("10.00"));
}

#[tokio::test]
async fn over_refund_is_refused_without_calling_alipay_or_storing_anything() {
    let mut h = paid();
    h.openapi.expect_submit_refund().never();
    let app = h.build();
    let err = app.refunds.request(request("10.01")).await.unwrap_err();
    assert_eq!(
        err,
        ServiceError::RefundExceedsRefundable {
            refundable: yuan("10.00")
        }
    );
    assert_eq!(err.code(), "REFUND_EXCEEDS_REFUNDABLE");
    assert!(app.store.refund_list().is_empty());
}

#[tokio::test]
async fn in_flight_refunds_count_against_the_total() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    let app = h.build();
    let first = app.refunds.request(request("7.00")).await.unwrap();
    assert_eq!(first.status, RefundStatus::Processing);
    let err = app.refunds.request(request("3.01")).await.unwrap_err();
    assert_eq!(
        err,
        ServiceError::RefundExceedsRefundable {
            refundable: yuan("3.00")
        }
    );
}

#[tokio::test]
async fn orders_that_cannot_be_refunded_are_refused() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("pending", "1.00"));
    let mut closed = pending_order("closed", "1.00");
    closed.close(t0()).unwrap();
    h.store.put_order(closed);
    let mut finished = paid_order("finished", "1.00");
    finished.finish(t0()).unwrap();
    h.store.put_order(finished);
    let mut refunded = paid_order("refunded", "1.00");
    refunded.record_refund(yuan("1.00"), t0()).unwrap();
    h.store.put_order(refunded);
    h.openapi.expect_submit_refund().never();
    let app = h.build();
    for (id, code) in [
        ("pending", "ORDER_NOT_PAID"),
        ("closed", "ORDER_CLOSED"),
        ("finished", "ORDER_FINISHED"),
        ("refunded", "REFUND_EXCEEDS_REFUNDABLE"),
        ("missing", "ORDER_NOT_FOUND"),
    ] {
        let mut r = request("0.01");
        r.out_trade_no = otn(id);
        assert_eq!(
            app.refunds.request(r).await.unwrap_err().code(),
            code,
            "{id}"
        );
    }
    assert!(app.store.refund_list().is_empty());
}

#[tokio::test]
async fn the_refund_window_is_enforced_to_the_second() {
    let mut h = paid();
    h.settings.refund_policy.window = Duration::days(90);
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| succeeded("1.00"));
    let app = h.build();
    let paid_at = app.store.order("o1").paid_at.unwrap();
    app.advance(paid_at + Duration::days(90) - t0());
    app.refunds.request(request("1.00")).await.unwrap();
    app.advance(Duration::seconds(1));
    let err = app.refunds.request(request("1.00")).await.unwrap_err();
    assert_eq!(err, ServiceError::RefundWindowExpired { days: 90 });
    assert_eq!(err.code(), "REFUND_WINDOW_EXPIRED");
}

#[tokio::test]
async fn manual_policy_waits_for_an_operator() {
    let mut h = paid();
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    h.openapi.expect_submit_refund().never();
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    assert_eq!(refund.status, RefundStatus::PendingApproval);
}

#[tokio::test]
async fn manual_above_an_amount_only_holds_larger_refunds() {
    let mut h = paid();
    h.settings.refund_policy.approval = ApprovalPolicy::ManualAbove(yuan("4.00"));
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| succeeded("4.00"));
    let app = h.build();
    let at_limit = app.refunds.request(request("4.00")).await.unwrap();
    assert_eq!(at_limit.status, RefundStatus::Succeeded);
    let above = app.refunds.request(request("4.01")).await.unwrap();
    assert_eq!(above.status, RefundStatus::PendingApproval);
}

#[tokio::test]
async fn a_repeated_out_request_no_returns_the_same_refund_and_sends_nothing_new() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| succeeded("2.00"));
    let app = h.build();
    let mut r = request("2.00");
    r.out_request_no = Some(orn("shop_r1"));
    let first = app.refunds.request(r.clone()).await.unwrap();
    let again = app.refunds.request(r.clone()).await.unwrap();
    assert_eq!(first, again);
    r.amount = yuan("3.00");
    let err = app.refunds.request(r).await.unwrap_err();
    assert_eq!(err, ServiceError::OutRequestNoReused(first.refund_id));
    assert_eq!(app.store.refund_list().len(), 1);
}

#[tokio::test]
async fn an_unconfigured_gateway_is_refused_before_anything_is_reserved() {
    let app = paid().build();
    let mut r = request("1.00");
    r.gateway = Some(RefundGatewayKind::MapiNoPwd);
    let err = app.refunds.request(r).await.unwrap_err();
    assert_eq!(err.code(), "GATEWAY_NOT_CONFIGURED");
    assert!(app.store.refund_list().is_empty());
}

#[tokio::test]
async fn a_bad_reason_is_refused() {
    let app = paid().build();
    let mut r = request("1.00");
    r.reason = Some("x".repeat(257));
    assert_eq!(
        app.refunds.request(r).await.unwrap_err().code(),
        "VALIDATION_FAILED"
    );
}

#[tokio::test]
async fn a_definitive_rejection_fails_the_refund_and_releases_its_amount() {
    let mut h = paid();
    let mut seq = mockall::Sequence::new();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(rejected("ACQ.SELLER_BALANCE_NOT_ENOUGH")));
    h.openapi
        .expect_submit_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| succeeded("10.00"));
    let app = h.build();
    let failed = app.refunds.request(request("10.00")).await.unwrap();
    assert_eq!(failed.status, RefundStatus::Failed);
    let failure = failed.failure.unwrap();
    assert_eq!(
        failure.sub_code.as_deref(),
        Some("ACQ.SELLER_BALANCE_NOT_ENOUGH")
    );
    // The full amount is refundable again, under a new refund.
    let retried = app.refunds.request(request("10.00")).await.unwrap();
    assert_eq!(retried.status, RefundStatus::Succeeded);
    assert_ne!(retried.out_request_no, failed.out_request_no);
}

#[tokio::test]
async fn storage_failure_while_reserving_is_reported_and_nothing_is_sent() {
    let mut h = paid();
    let mut refunds = MockRefundRepository::new();
    refunds.expect_reserve().returning(|_, _| {
        Err(ReserveError::Repo(RepoError::Unavailable(
            "pool timeout".into(),
        )))
    });
    h.refunds_override = Some(Arc::new(refunds));
    h.openapi.expect_submit_refund().never();
    let err = h
        .build()
        .refunds
        .request(request("1.00"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "STORAGE_UNAVAILABLE");
}

#[tokio::test]
async fn a_retry_after_a_full_refund_gets_the_refund_back_not_a_refusal() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| succeeded("10.00"));
    let app = h.build();
    let mut r = request("10.00");
    r.out_request_no = Some(orn("shop_full"));
    let first = app.refunds.request(r.clone()).await.unwrap();
    assert_eq!(app.store.order("o1").status, OrderStatus::Refunded);
    // The answer was lost; the shop retries with the same number.
    assert_eq!(app.refunds.request(r).await.unwrap(), first);
}

#[tokio::test]
async fn a_refund_sent_at_once_is_stored_as_sent_with_its_batch_before_the_call() {
    // The reservation is the only write before the call, so it must already say
    // `processing`, with the batch number and date the call carries: a crash during
    // the call leaves what the worker queries and resends under the same numbers,
    // never an approved refund it would send again as new.
    let mut h = paid();
    let mut batches = MockRefundBatches::new();
    batches
        .expect_next_batch_no()
        .times(1)
        .returning(|_| Ok(payport_domain::ids::BatchNo::parse("20261121007").unwrap()));
    h.mapi_nopwd_batches = Some(batches);
    let store = h.store.clone();
    let mut nopwd = MockRefundSubmitter::new();
    nopwd
        .expect_submit_refund()
        .times(1)
        .returning(move |sent| {
            let stored = store.refund_list();
            let [refund] = stored.as_slice() else {
                panic!("one refund stored: {stored:?}")
            };
            assert_eq!(
                (refund.status, refund.attempts),
                (RefundStatus::Processing, 1)
            );
            assert_eq!(refund.out_request_no, sent.out_request_no);
            assert_eq!(refund.batch_no.as_ref().unwrap().as_str(), "20261121007");
            assert_eq!(refund.batch_no, sent.batch_no);
            assert_eq!(refund.submitted_at, Some(t0()));
            assert_eq!(refund.submitted_at, sent.submitted_at);
            Err(GatewayError::Unknown("the process died here".into()))
        });
    h.mapi_nopwd = Some(nopwd);
    let app = h.build();
    let refund = super::legacy(&app, "1.00").await;
    assert_eq!(refund.status, RefundStatus::Processing);
    assert_eq!(refund.batch_no.unwrap().as_str(), "20261121007");
}

#[tokio::test]
async fn a_refund_held_for_approval_takes_no_batch_number_and_sends_nothing() {
    let mut h = paid();
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    let mut batches = MockRefundBatches::new();
    batches.expect_next_batch_no().never();
    h.mapi_nopwd_batches = Some(batches);
    let mut nopwd = MockRefundSubmitter::new();
    nopwd.expect_submit_refund().never();
    h.mapi_nopwd = Some(nopwd);
    let app = h.build();
    let refund = super::legacy(&app, "1.00").await;
    assert_eq!(refund.status, RefundStatus::PendingApproval);
    assert_eq!((refund.batch_no, refund.submitted_at), (None, None));
}

#[tokio::test]
async fn a_page_of_orders_gets_all_their_refunds_each_orders_oldest_first() {
    let mut h = paid();
    h.store.put_order(paid_order("o2", "10.00"));
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    let app = h.build();
    let first = app.refunds.request(request("1.00")).await.unwrap();
    app.advance(Duration::minutes(1));
    let mut r = request("2.00");
    r.out_trade_no = otn("o2");
    let other = app.refunds.request(r).await.unwrap();
    app.advance(Duration::minutes(1));
    let second = app.refunds.request(request("3.00")).await.unwrap();
    let listed = app
        .refunds
        .list_for_orders(&[otn("o1"), otn("o2"), otn("unknown")])
        .await
        .unwrap();
    let of = |order: &str| -> Vec<_> {
        listed
            .iter()
            .filter(|r| r.out_trade_no.as_str() == order)
            .cloned()
            .collect()
    };
    assert_eq!(listed.len(), 3);
    assert_eq!(of("o1"), vec![first, second]);
    assert_eq!(of("o2"), vec![other]);
}
