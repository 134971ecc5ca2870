use std::sync::Arc;

use super::{paid, request, rid, succeeded};
use crate::support::*;
use payport_domain::error::{GatewayError, RepoError};
use payport_domain::ids::BatchNo;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::*;
use payport_domain::refund::{RefundGatewayKind, RefundStatus};
use payport_domain::usecases::{RefundRequest, ServiceError};

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
    let pending = payport_domain::refund::NewRefund {
        refund_id: rid("rf_1"),
        out_trade_no: otn("o1"),
        out_request_no: orn("r1"),
        amount: yuan("1.00"),
        reason: None,
        gateway: RefundGatewayKind::OpenApi,
        approval: payport_domain::policy::ApprovalPolicy::Manual,
        created_at: t0(),
        send_at_once: None,
    }
    .into_refund(RefundStatus::PendingApproval);
    let mut refunds = MockRefundRepository::new();
    refunds
        .expect_get()
        .returning(move |_| Ok(Some(pending.clone())));
    // Another operator decided first: the conditional save finds a newer version.
    refunds
        .expect_update()
        .times(1)
        .returning(|_, _| Err(RepoError::Conflict("rf_1".into())));
    h.refunds_override = Some(Arc::new(refunds));
    h.openapi.expect_submit_refund().never();
    let err = h.build().refunds.approve(&rid("rf_1")).await.unwrap_err();
    assert_eq!(err, ServiceError::Conflict);
    assert_eq!(err.code(), "CONFLICT");
}

#[tokio::test]
async fn the_password_flow_hands_the_refund_to_an_operator() {
    let mut h = paid();
    let mut pwd = MockRefundSubmitter::new();
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
    let mut nopwd = MockRefundSubmitter::new();
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
    let mut pwd = MockRefundSubmitter::new();
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

async fn pending(app: &Built, order: &str, amount: &str) -> payport_domain::refund::Refund {
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
    let mut pwd = MockRefundBatches::new();
    pwd.expect_submit_batch()
        .withf(|subs| subs.len() == 2 && subs[0].out_trade_no.as_str() == "a")
        .times(1)
        .returning(|_| {
            Ok(RefundSubmitted::AwaitingOperator {
                batch_no: BatchNo::parse("20261121123").unwrap(),
                form_html: "<form>two</form>".into(),
            })
        });
    h.mapi_pwd_batches = Some(pwd);
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
    // The answer is what was stored, version included: the next save is conditional
    // on it.
    assert_eq!(batch, app.store.refund_list());
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
    let mut pwd = MockRefundBatches::new();
    pwd.expect_submit_batch().never();
    h.mapi_pwd_batches = Some(pwd);
    let mut nopwd = MockRefundSubmitter::new();
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
