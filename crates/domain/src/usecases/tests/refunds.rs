use std::sync::{Arc, Mutex};

use chrono::Duration;

use super::support::*;
use crate::error::{GatewayError, RepoError};
use crate::ids::{BatchNo, RefundId};
use crate::order::OrderStatus;
use crate::policy::ApprovalPolicy;
use crate::ports::*;
use crate::refund::{RefundGatewayKind, RefundStatus, RefundSuccess};
use crate::usecases::{RefundRequest, ServiceError};

fn request(amount: &str) -> RefundRequest {
    RefundRequest {
        out_trade_no: otn("o1"),
        amount: yuan(amount),
        reason: Some("damaged".into()),
        out_request_no: None,
        gateway: None,
    }
}

fn succeeded(fee: &str) -> Result<RefundSubmitted, GatewayError> {
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
async fn unknown_outcomes_stay_processing_and_are_asked_about_later() {
    for error in [
        GatewayError::Unknown("timeout after 15s".into()),
        GatewayError::Unknown("ACQ.SYSTEM_ERROR".into()),
        GatewayError::BadSignature("response signature".into()),
        GatewayError::Config("no private key".into()),
    ] {
        let mut h = paid();
        let answer = error.clone();
        h.openapi
            .expect_submit_refund()
            .times(1)
            .returning(move |_| Err(answer.clone()));
        let app = h.build();
        let refund = app.refunds.request(request("1.00")).await.unwrap();
        assert_eq!(refund.status, RefundStatus::Processing);
        assert_eq!(refund.last_error, Some(error.to_string()));
        assert_eq!(refund.next_sync_at, Some(t0() + Duration::seconds(10)));
        assert_eq!(
            app.store.order("o1").refunded_amount,
            crate::money::Amount::ZERO
        );
    }
}

#[tokio::test]
async fn sync_confirms_an_unknown_refund_by_query() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    h.openapi
        .expect_query_refund()
        .withf(|s| s.out_request_no.as_str() == "rq2")
        .times(1)
        .returning(|_| {
            Ok(RefundLookup::Succeeded(RefundSuccess {
                refund_fee: Some(yuan("1.00")),
                refunded_at: None,
            }))
        });
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let synced = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Succeeded);
    assert_eq!(synced.attempts, 1);
    assert_eq!(app.store.order("o1").refunded_amount, yuan("1.00"));
}

#[tokio::test]
async fn sync_resends_with_the_same_out_request_no_when_alipay_never_got_it() {
    let mut h = paid();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    let mut seq = mockall::Sequence::new();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |s| {
            log.lock().unwrap().push(s.clone());
            Err(GatewayError::Unknown("connection reset".into()))
        });
    h.openapi
        .expect_query_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(RefundLookup::NotRefunded));
    let log = sent.clone();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |s| {
            log.lock().unwrap().push(s.clone());
            succeeded("1.00")
        });
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let synced = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Succeeded);
    assert_eq!(synced.attempts, 2);
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0], sent[1],
        "a resend is byte-for-byte the same refund"
    );
}

#[tokio::test]
async fn sync_with_no_answer_keeps_processing() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    h.openapi
        .expect_query_refund()
        .returning(|_| Err(GatewayError::Unknown("HTTP 503".into())));
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    app.advance(Duration::seconds(30));
    let synced = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Processing);
    assert_eq!(
        synced.last_error.as_deref(),
        Some("outcome unknown: HTTP 503")
    );
    // Asked again after half the time since it was sent (30 s), at least 10 s.
    assert_eq!(synced.next_sync_at, Some(t0() + Duration::seconds(45)));
    app.advance(Duration::hours(5));
    let much_later = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(
        much_later.next_sync_at,
        Some(t0() + Duration::seconds(30) + Duration::hours(6)),
        "at most an hour between questions"
    );
}

#[tokio::test]
async fn a_resend_that_alipay_rejects_fails_the_refund() {
    let mut h = paid();
    let mut seq = mockall::Sequence::new();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    h.openapi
        .expect_query_refund()
        .returning(|_| Ok(RefundLookup::NotRefunded));
    h.openapi
        .expect_submit_refund()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(rejected("ACQ.TRADE_HAS_FINISHED")));
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let synced = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Failed);
}

#[tokio::test]
async fn sync_of_settled_or_waiting_refunds_asks_nothing() {
    let mut h = paid();
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    h.openapi.expect_query_refund().never();
    h.openapi.expect_submit_refund().never();
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let same = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(same, refund);
    let err = app.refunds.sync(&rid("rf_404")).await.unwrap_err();
    assert_eq!(err.code(), "REFUND_NOT_FOUND");
}

#[tokio::test]
async fn approve_sends_the_refund() {
    let mut h = paid();
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| succeeded("1.00"));
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let approved = app.refunds.approve(&refund.refund_id).await.unwrap();
    assert_eq!(approved.status, RefundStatus::Succeeded);
    let history = app.store.history.lock().unwrap()[&refund.refund_id].clone();
    assert_eq!(
        history,
        vec![
            RefundStatus::PendingApproval,
            RefundStatus::Approved,
            RefundStatus::Processing,
            RefundStatus::Succeeded
        ]
    );
    let err = app.refunds.approve(&refund.refund_id).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_STATE");
    let err = app.refunds.approve(&rid("rf_404")).await.unwrap_err();
    assert_eq!(err.code(), "REFUND_NOT_FOUND");
}

#[tokio::test]
async fn reject_releases_the_amount() {
    let mut h = paid();
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    h.openapi.expect_submit_refund().never();
    let app = h.build();
    let refund = app.refunds.request(request("10.00")).await.unwrap();
    let err = app
        .refunds
        .reject(&refund.refund_id, " ".into())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_FAILED");
    let rejected = app
        .refunds
        .reject(&refund.refund_id, "not eligible".into())
        .await
        .unwrap();
    assert_eq!(rejected.status, RefundStatus::Rejected);
    assert_eq!(rejected.rejection_reason.as_deref(), Some("not eligible"));
    assert!(app.refunds.request(request("10.00")).await.is_ok());
    let err = app
        .refunds
        .reject(&refund.refund_id, "again".into())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_STATE");
}

#[tokio::test]
async fn an_approval_that_loses_a_race_is_refused_and_sends_nothing() {
    let mut h = paid();
    let pending = crate::refund::NewRefund {
        refund_id: rid("rf_1"),
        out_trade_no: otn("o1"),
        out_request_no: orn("r1"),
        amount: yuan("1.00"),
        reason: None,
        gateway: RefundGatewayKind::OpenApi,
        status: RefundStatus::PendingApproval,
        created_at: t0(),
    }
    .into_refund();
    let mut refunds = MockRefundRepository::new();
    refunds
        .expect_get()
        .returning(move |_| Ok(Some(pending.clone())));
    // Another operator decided first: the conditional save finds a newer version.
    refunds
        .expect_update()
        .times(1)
        .returning(|_| Err(RepoError::Conflict("rf_1".into())));
    h.refunds_override = Some(Arc::new(refunds));
    h.openapi.expect_submit_refund().never();
    let err = h.build().refunds.approve(&rid("rf_1")).await.unwrap_err();
    assert_eq!(err, ServiceError::Conflict);
    assert_eq!(err.code(), "CONFLICT");
}

#[tokio::test]
async fn storage_failure_while_reserving_is_reported_and_nothing_is_sent() {
    let mut h = paid();
    let mut refunds = MockRefundRepository::new();
    refunds.expect_reserve().returning(|_| {
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
async fn the_password_flow_hands_the_refund_to_an_operator() {
    let mut h = paid();
    let mut pwd = MockRefundGateway::new();
    pwd.expect_submit_refund().times(1).returning(|_| {
        Ok(RefundSubmitted::AwaitingOperator {
            batch_no: BatchNo::parse("20261121001").unwrap(),
            form_html: "<form name=\"punchout_form\">".into(),
        })
    });
    h.mapi_pwd = Some(pwd);
    let app = h.build();
    let mut r = request("1.00");
    r.gateway = Some(RefundGatewayKind::MapiPwd);
    let refund = app.refunds.request(r).await.unwrap();
    assert_eq!(refund.status, RefundStatus::AwaitingOperator);
    assert_eq!(refund.attempts, 0, "nothing was sent to Alipay yet");
    assert!(refund.operator_form_html.unwrap().contains("punchout_form"));
    assert_eq!(refund.batch_no.unwrap().as_str(), "20261121001");
}

#[tokio::test]
async fn the_no_password_flow_waits_for_the_notification() {
    let mut h = paid();
    let mut nopwd = MockRefundGateway::new();
    nopwd.expect_submit_refund().times(1).returning(|_| {
        Ok(RefundSubmitted::Accepted {
            batch_no: Some(BatchNo::parse("20261121002").unwrap()),
        })
    });
    h.mapi_nopwd = Some(nopwd);
    let app = h.build();
    let mut r = request("1.00");
    r.gateway = Some(RefundGatewayKind::MapiNoPwd);
    let refund = app.refunds.request(r).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    assert_eq!(refund.batch_no.unwrap().as_str(), "20261121002");
}

#[tokio::test]
async fn a_password_flow_that_cannot_build_its_form_leaves_the_refund_approved() {
    let mut h = paid();
    let mut pwd = MockRefundGateway::new();
    pwd.expect_submit_refund()
        .returning(|_| Err(GatewayError::Config("no MD5 key".into())));
    h.mapi_pwd = Some(pwd);
    let app = h.build();
    let mut r = request("1.00");
    r.gateway = Some(RefundGatewayKind::MapiPwd);
    let err = app.refunds.request(r).await.unwrap_err();
    assert_eq!(err.code(), "GATEWAY_UNAVAILABLE");
    assert_eq!(app.store.refund_list()[0].status, RefundStatus::Approved);
}

fn batch_harness() -> Harness {
    let mut h = Harness::new();
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    h.settings.refund_policy.default_gateway = RefundGatewayKind::MapiPwd;
    for id in ["a", "b"] {
        h.store.put_order(paid_order(id, "10.00"));
    }
    h
}

async fn pending(app: &super::support::Built, order: &str, amount: &str) -> crate::refund::Refund {
    app.refunds
        .request(RefundRequest {
            out_trade_no: otn(order),
            amount: yuan(amount),
            reason: None,
            out_request_no: None,
            gateway: None,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_operator_batch_moves_every_refund_to_the_same_form_at_once() {
    let mut h = batch_harness();
    let mut pwd = MockRefundGateway::new();
    pwd.expect_submit_batch()
        .withf(|subs| subs.len() == 2 && subs[0].out_trade_no.as_str() == "a")
        .times(1)
        .returning(|_| {
            Ok(RefundSubmitted::AwaitingOperator {
                batch_no: BatchNo::parse("20261121123").unwrap(),
                form_html: "<form>two</form>".into(),
            })
        });
    h.mapi_pwd = Some(pwd);
    let app = h.build();
    let a = pending(&app, "a", "1.00").await;
    let b = pending(&app, "b", "2.00").await;
    let batch = app
        .refunds
        .batch_for_operator(&[a.refund_id.clone(), b.refund_id.clone()])
        .await
        .unwrap();
    for refund in app.store.refund_list() {
        assert_eq!(refund.status, RefundStatus::AwaitingOperator);
        assert_eq!(refund.batch_no.as_ref().unwrap().as_str(), "20261121123");
        assert_eq!(
            refund.operator_form_html.as_deref(),
            Some("<form>two</form>")
        );
    }
    assert_eq!(batch.len(), 2);
    let history = app.store.history.lock().unwrap()[&a.refund_id].clone();
    assert_eq!(
        history,
        vec![
            RefundStatus::PendingApproval,
            RefundStatus::AwaitingOperator
        ]
    );
}

#[tokio::test]
async fn an_operator_batch_refuses_mixed_or_settled_refunds_and_changes_nothing() {
    let mut h = batch_harness();
    let mut pwd = MockRefundGateway::new();
    pwd.expect_submit_batch().never();
    h.mapi_pwd = Some(pwd);
    let mut nopwd = MockRefundGateway::new();
    nopwd.expect_submit_refund().never();
    h.mapi_nopwd = Some(nopwd);
    let app = h.build();
    let a = pending(&app, "a", "1.00").await;
    let a2 = pending(&app, "a", "2.00").await;
    let err = app
        .refunds
        .batch_for_operator(&[a.refund_id.clone(), a2.refund_id.clone()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_FAILED", "{err}");
    let mut other = RefundRequest {
        out_trade_no: otn("b"),
        amount: yuan("1.00"),
        reason: None,
        out_request_no: None,
        gateway: Some(RefundGatewayKind::MapiNoPwd),
    };
    let nopwd_refund = app.refunds.request(other.clone()).await.unwrap();
    let err = app
        .refunds
        .batch_for_operator(&[a.refund_id.clone(), nopwd_refund.refund_id])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_FAILED", "{err}");
    other.gateway = None;
    let b = app.refunds.request(other).await.unwrap();
    app.refunds.reject(&b.refund_id, "no".into()).await.unwrap();
    let err = app
        .refunds
        .batch_for_operator(&[a.refund_id.clone(), b.refund_id])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_STATE", "{err}");
    assert_eq!(
        app.refunds
            .batch_for_operator(&[])
            .await
            .unwrap_err()
            .code(),
        "VALIDATION_FAILED"
    );
    assert!(app.store.refund_list().iter().all(|r| r.batch_no.is_none()));
}

#[tokio::test]
async fn an_outcome_recorded_meanwhile_is_the_answer_not_a_conflict() {
    // While the refund call is under way, a notification completes the refund; the
    // call then times out. The caller gets the stored success, not a 409.
    let mut h = paid();
    let store = h.store.clone();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(move |s| {
            let mut refunds = store.refunds.lock().unwrap();
            let stored = refunds
                .iter_mut()
                .find(|r| r.out_request_no == s.out_request_no)
                .unwrap();
            stored.status = RefundStatus::Succeeded;
            stored.version += 1;
            Err(GatewayError::Unknown("timeout".into()))
        });
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Succeeded);
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
async fn sync_sends_a_refund_that_was_approved_but_never_sent() {
    // A crash between approval and sending leaves it approved; the worker's sync sends it.
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| succeeded("1.00"));
    let app = h.build();
    let stuck = crate::refund::NewRefund {
        refund_id: rid("rf_stuck"),
        out_trade_no: otn("o1"),
        out_request_no: orn("stuck"),
        amount: yuan("1.00"),
        reason: None,
        gateway: RefundGatewayKind::OpenApi,
        status: RefundStatus::Approved,
        created_at: t0(),
    };
    RefundRepository::reserve(app.store.as_ref(), &stuck)
        .await
        .unwrap();
    let synced = app.refunds.sync(&rid("rf_stuck")).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Succeeded);
}
