//! Refund events: the reservation writes the first (for a refund sent at once, the
//! first two: approved, processing), each later status change hands its own to the
//! save that makes it, and a refund that succeeds hands the order's
//! event to the same save.

use super::recorder::Call::{RefundUpdate, Reserve, UpdateAll, UpdateWithOrder};
use super::*;
use crate::notifications::{a_paid_b_refused, batch_notice};
use crate::refunds::{request, succeeded};
use payport_domain::error::GatewayError;
use payport_domain::ids::BatchNo;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::*;
use payport_domain::refund::{NewRefund, RefundGatewayKind, RefundStatus, RefundSuccess};
use payport_domain::usecases::RefundRequest;

fn paid() -> (Harness, Arc<Recorder>) {
    recorded([paid_order("o1", "10.00")])
}

fn manual() -> (Harness, Arc<Recorder>) {
    let (mut h, rec) = paid();
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    (h, rec)
}

fn form(batch: &str) -> Result<RefundSubmitted, GatewayError> {
    Ok(RefundSubmitted::AwaitingOperator {
        batch_no: BatchNo::parse(batch).unwrap(),
        form_html: format!("<form>{batch}</form>"),
    })
}

/// The two saves of a refund sent at once that succeeds (reserved already sent, with
/// both steps' events; then settled), and what it does to "o1".
fn sent_and_succeeded(id: &str, order_event: Option<&str>) -> Vec<(Call, Vec<String>)> {
    let mut settled = vec![format!("refund.succeeded {id}")];
    settled.extend(order_event.map(|e| format!("order.{e} o1")));
    vec![
        (
            Reserve,
            vec![
                format!("refund.approved {id}"),
                format!("refund.processing {id}"),
            ],
        ),
        (UpdateWithOrder, settled),
    ]
}

#[tokio::test]
async fn a_refund_that_waits_for_approval_is_reserved_with_refund_pending_approval() {
    let (mut h, rec) = manual();
    h.openapi.expect_submit_refund().never();
    let app = h.build();
    app.refunds.request(request("1.00")).await.unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(0),
        [(Reserve, events(&["refund.pending_approval rf_1"]))]
    );
}

#[tokio::test]
async fn a_refund_sent_at_once_emits_approved_processing_then_succeeded_with_the_order() {
    let (mut h, rec) = paid();
    h.openapi
        .expect_submit_refund()
        .returning(|_| succeeded("1.00"));
    let app = h.build();
    app.refunds.request(request("1.00")).await.unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(0),
        sent_and_succeeded("rf_1", Some("partially_refunded"))
    );
}

#[tokio::test]
async fn only_a_change_of_the_orders_status_is_announced_with_its_refunds() {
    // 3.00 makes it partially refunded, 3.00 more keeps it so, the last 4.00 refunds it.
    let (mut h, rec) = paid();
    h.openapi
        .expect_submit_refund()
        .returning(|s| succeeded(&s.amount.to_string()));
    let app = h.build();
    let mut expected = Vec::new();
    for (amount, order_event) in [
        ("3.00", Some("partially_refunded")),
        ("3.00", None),
        ("4.00", Some("refunded")),
    ] {
        let refund = app.refunds.request(request(amount)).await.unwrap();
        expected.extend(sent_and_succeeded(refund.refund_id.as_str(), order_event));
    }
    rec.check(&app);
    assert_eq!(rec.stored_since(0), expected);
}

#[tokio::test]
async fn approving_emits_refund_approved_in_a_save_of_its_own() {
    let (mut h, rec) = manual();
    h.openapi
        .expect_submit_refund()
        .returning(|_| succeeded("1.00"));
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let mark = rec.mark();
    app.refunds.approve(&refund.refund_id).await.unwrap();
    rec.check(&app);
    let mut expected = sent_and_succeeded("rf_1", Some("partially_refunded"));
    // An operator's approval, then the send: a save each, as before the reservation
    // learnt to store a refund already sent.
    expected.splice(
        0..1,
        [
            (RefundUpdate, events(&["refund.approved rf_1"])),
            (RefundUpdate, events(&["refund.processing rf_1"])),
        ],
    );
    assert_eq!(rec.stored_since(mark), expected);
}

#[tokio::test]
async fn rejecting_emits_refund_rejected() {
    let (h, rec) = manual();
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let mark = rec.mark();
    app.refunds
        .reject(&refund.refund_id, "not eligible".into())
        .await
        .unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(mark),
        [(RefundUpdate, events(&["refund.rejected rf_1"]))]
    );
}

#[tokio::test]
async fn a_refund_alipay_refuses_emits_refund_failed() {
    let (mut h, rec) = paid();
    h.openapi
        .expect_submit_refund()
        .returning(|_| Err(rejected("ACQ.SELLER_BALANCE_NOT_ENOUGH")));
    let app = h.build();
    app.refunds.request(request("1.00")).await.unwrap();
    rec.check(&app);
    let mut expected = sent_and_succeeded("rf_1", None);
    expected[1] = (RefundUpdate, events(&["refund.failed rf_1"]));
    assert_eq!(rec.stored_since(0), expected);
}

/// A harness whose refund of 1.00 ("rf_1", out_request_no "r1") timed out: processing.
async fn processing(mut h: Harness) -> Built {
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    let app = h.build();
    assert_eq!(request_r1(&app).await.status, RefundStatus::Processing);
    app
}

#[tokio::test]
async fn a_sync_that_finds_the_refund_done_emits_refund_succeeded_with_the_order() {
    let (mut h, rec) = paid();
    h.openapi_query
        .expect_query_refund()
        .returning(|_| Ok(RefundLookup::Succeeded(RefundSuccess::default())));
    let app = processing(h).await;
    let mark = rec.mark();
    app.refunds.sync(&rid("rf_1")).await.unwrap();
    rec.check(&app);
    let settled = (UpdateWithOrder, events(&FIRST_REFUND_SETTLED));
    assert_eq!(rec.stored_since(mark), [settled]);
}

#[tokio::test]
async fn a_refund_notification_emits_refund_succeeded_with_the_order() {
    let (mut h, rec) = paid();
    notifies_refund_r1(&mut h);
    let app = processing(h).await;
    let mark = rec.mark();
    app.notifications
        .handle_trade_notification(&incoming("refund"))
        .await
        .unwrap();
    rec.check(&app);
    let settled = (UpdateWithOrder, events(&FIRST_REFUND_SETTLED));
    assert_eq!(rec.stored_since(mark), [settled]);
}

#[tokio::test]
async fn a_refund_that_succeeds_after_trade_finished_leaves_the_order_finished_and_silent() {
    let (mut h, rec) = paid();
    verifies_as(&mut h, notice(AlipayTradeStatus::TradeFinished));
    h.openapi_query
        .expect_query_refund()
        .returning(|_| Ok(RefundLookup::Succeeded(RefundSuccess::default())));
    let app = processing(h).await;
    let mark = rec.mark();
    app.notifications
        .handle_trade_notification(&incoming("finished"))
        .await
        .unwrap();
    app.refunds.sync(&rid("rf_1")).await.unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(mark),
        [
            (
                super::recorder::Call::OrderUpdate,
                events(&["order.finished o1"])
            ),
            (UpdateWithOrder, events(&["refund.succeeded rf_1"])),
        ]
    );
}

#[tokio::test]
async fn the_password_flow_emits_refund_awaiting_operator() {
    let (mut h, rec) = paid();
    let mut pwd = MockRefundSubmitter::new();
    pwd.expect_submit_refund()
        .returning(|_| form("20261121001"));
    h.mapi_pwd = Some(pwd);
    let app = h.build();
    let mut r = request("1.00");
    r.gateway = Some(RefundGatewayKind::MapiPwd);
    app.refunds.request(r).await.unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(0),
        [
            (Reserve, events(&["refund.approved rf_1"])),
            (RefundUpdate, events(&["refund.awaiting_operator rf_1"])),
        ]
    );
}

#[tokio::test]
async fn an_operator_batch_hands_every_step_of_every_refund_to_one_save() {
    // "a" waits for approval; "b" was approved but never handed to an operator.
    let (mut h, rec) = recorded([paid_order("a", "10.00"), paid_order("b", "10.00")]);
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    let mut batches = MockRefundBatches::new();
    batches
        .expect_submit_batch()
        .returning(|_| form("20261121123"));
    h.mapi_pwd_batches = Some(batches);
    let app = h.build();
    let mut r = request("1.00");
    r.out_trade_no = otn("a");
    r.gateway = Some(RefundGatewayKind::MapiPwd);
    let a = app.refunds.request(r).await.unwrap();
    let b = NewRefund {
        refund_id: payport_domain::ids::RefundId::parse("rf_b").unwrap(),
        out_trade_no: otn("b"),
        out_request_no: orn("rb"),
        amount: yuan("2.00"),
        reason: None,
        gateway: RefundGatewayKind::MapiPwd,
        approval: ApprovalPolicy::Auto,
        created_at: t0(),
        send_at_once: None,
    };
    let event = payport_test_support::event_id();
    RefundRepository::reserve(app.store.as_ref(), &b, &event)
        .await
        .unwrap();
    let mark = rec.mark();
    app.refunds
        .batch_for_operator(&[a.refund_id.clone(), b.refund_id.clone()])
        .await
        .unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(mark),
        [(
            UpdateAll,
            events(&[
                "refund.approved rf_1",
                "refund.awaiting_operator rf_1",
                "refund.awaiting_operator rf_b"
            ])
        )]
    );
}

#[tokio::test]
async fn a_legacy_batch_notification_settles_each_refund_with_its_own_event() {
    // "a" went through the password flow (awaiting_operator), "b" through the
    // no-password flow (processing); Alipay's batch notice pays one, refuses the other.
    let (mut h, rec) = recorded([paid_order("a", "10.00"), paid_order("b", "10.00")]);
    let mut pwd = MockRefundSubmitter::new();
    pwd.expect_submit_refund()
        .returning(|_| form("20261121001"));
    h.mapi_pwd = Some(pwd);
    h.mapi_nopwd = Some(accepting("20261121001"));
    h.refund_notifications = Some(batch_notice(a_paid_b_refused()));
    let app = h.build();
    for (order, gateway) in [
        ("a", RefundGatewayKind::MapiPwd),
        ("b", RefundGatewayKind::MapiNoPwd),
    ] {
        app.refunds
            .request(RefundRequest {
                out_trade_no: otn(order),
                amount: yuan("2.00"),
                reason: None,
                out_request_no: None,
                gateway: Some(gateway),
            })
            .await
            .unwrap();
    }
    let (a, b) = (
        app.store.refund_list()[0].refund_id.clone(),
        app.store.refund_list()[1].refund_id.clone(),
    );
    let mark = rec.mark();
    app.notifications
        .handle_refund_notification(&incoming("batch"))
        .await
        .unwrap();
    rec.check(&app);
    assert_eq!(
        rec.stored_since(mark),
        [
            (
                UpdateWithOrder,
                vec![
                    format!("refund.succeeded {a}"),
                    "order.partially_refunded a".into()
                ]
            ),
            (RefundUpdate, vec![format!("refund.failed {b}")]),
        ]
    );
}

fn rid(text: &str) -> payport_domain::ids::RefundId {
    payport_domain::ids::RefundId::parse(text).unwrap()
}
