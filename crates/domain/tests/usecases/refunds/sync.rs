use std::sync::{Arc, Mutex};

use chrono::Duration;

use super::{paid, request, rid, succeeded};
use crate::support::*;
use payport_domain::error::{GatewayError, RepoError};
use payport_domain::event::NewEvent;
use payport_domain::ids::{OutTradeNo, TradeNo};
use payport_domain::order::Order;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::*;
use payport_domain::refund::{RefundGatewayKind, RefundStatus, RefundSuccess};

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
            payport_domain::money::Amount::ZERO
        );
    }
}

#[tokio::test]
async fn an_accepted_legacy_refund_is_looked_at_again_after_the_sync_delay() {
    let mut h = paid();
    h.mapi_nopwd = Some(accepting("20261121001"));
    let app = h.build();
    let refund = super::legacy(&app, "1.00").await;
    assert_eq!(refund.status, RefundStatus::Processing);
    assert_eq!(refund.batch_no.unwrap().as_str(), "20261121001");
    assert_eq!(refund.next_sync_at, Some(t0() + Duration::seconds(10)));
}

#[tokio::test]
async fn sync_confirms_an_unknown_refund_by_query() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    h.openapi_query
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
    h.openapi_query
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
    h.openapi_query
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
async fn a_refund_through_a_gateway_without_a_query_waits_for_its_notification() {
    // The legacy route has no refund query: sync asks nothing and resends nothing, and
    // looks again on the same schedule as an unknown outcome.
    let mut h = paid();
    let mut nopwd = MockRefundSubmitter::new();
    nopwd
        .expect_submit_refund()
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    h.mapi_nopwd = Some(nopwd);
    let app = h.build();
    let mut r = request("1.00");
    r.gateway = Some(RefundGatewayKind::MapiNoPwd);
    let refund = app.refunds.request(r).await.unwrap();
    assert_eq!(refund.next_sync_at, Some(t0() + Duration::seconds(10)));
    app.advance(Duration::seconds(30));
    let synced = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Processing);
    assert_eq!(synced.attempts, 1);
    assert_eq!(
        synced.last_error.as_deref(),
        Some("waiting for Alipay's refund notification; this gateway has no refund query")
    );
    assert_eq!(synced.next_sync_at, Some(t0() + Duration::seconds(45)));
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
    h.openapi_query
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
    h.openapi_query.expect_query_refund().never();
    h.openapi.expect_submit_refund().never();
    let app = h.build();
    let refund = app.refunds.request(request("1.00")).await.unwrap();
    let same = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(same, refund);
    let err = app.refunds.sync(&rid("rf_404")).await.unwrap_err();
    assert_eq!(err.code(), "REFUND_NOT_FOUND");
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
async fn sync_sends_a_refund_that_was_approved_but_never_sent() {
    // A crash between approval and sending leaves it approved; the worker's sync sends it.
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| succeeded("1.00"));
    let app = h.build();
    let stuck = payport_domain::refund::NewRefund {
        refund_id: rid("rf_stuck"),
        out_trade_no: otn("o1"),
        out_request_no: orn("stuck"),
        amount: yuan("1.00"),
        reason: None,
        gateway: RefundGatewayKind::OpenApi,
        approval: payport_domain::policy::ApprovalPolicy::Auto,
        created_at: t0(),
        send_at_once: None,
    };
    RefundRepository::reserve(
        app.store.as_ref(),
        &stuck,
        &payport_test_support::event_id(),
    )
    .await
    .unwrap();
    let synced = app.refunds.sync(&rid("rf_stuck")).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Succeeded);
}

/// The order repository of the store, except that a notification settles every
/// processing refund just before the order is read once `armed`: the moment between a
/// sync's read of the refund and its read of the order.
struct NotifiedBeforeOrderRead {
    store: Arc<payport_test_support::MemoryStore>,
    armed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl OrderRepository for NotifiedBeforeOrderRead {
    async fn insert(&self, order: &Order) -> Result<(), RepoError> {
        self.store.insert(order).await
    }

    async fn get(&self, out_trade_no: &OutTradeNo) -> Result<Option<Order>, RepoError> {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            let mut order = OrderRepository::get(&*self.store, out_trade_no)
                .await?
                .unwrap();
            for mut refund in self.store.refund_list() {
                if refund.status == RefundStatus::Processing {
                    refund.succeed(RefundSuccess::default(), t0()).unwrap();
                    order.record_refund(refund.amount, t0()).unwrap();
                    self.store.update_with_order(&refund, &order, &[]).await?;
                    order.version += 1;
                }
            }
        }
        OrderRepository::get(&*self.store, out_trade_no).await
    }

    async fn find_by_trade_no(&self, trade_no: &TradeNo) -> Result<Option<Order>, RepoError> {
        self.store.find_by_trade_no(trade_no).await
    }

    async fn update(&self, order: &Order, events: &[NewEvent]) -> Result<(), RepoError> {
        OrderRepository::update(&*self.store, order, events).await
    }

    async fn list(&self, filter: &OrderFilter) -> Result<Page<Order>, RepoError> {
        OrderRepository::list(&*self.store, filter).await
    }
}

#[tokio::test]
async fn a_sync_racing_the_notification_that_refunds_the_order_in_full_returns_the_refund() {
    let mut h = paid();
    let orders = Arc::new(NotifiedBeforeOrderRead {
        store: h.store.clone(),
        armed: false.into(),
    });
    h.orders_override = Some(orders.clone());
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    h.openapi_query
        .expect_query_refund()
        .returning(|_| Ok(RefundLookup::Succeeded(RefundSuccess::default())));
    let app = h.build();
    let refund = app.refunds.request(request("10.00")).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);

    orders
        .armed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let synced = app.refunds.sync(&refund.refund_id).await.unwrap();
    assert_eq!(synced.status, RefundStatus::Succeeded);
    let order = app.store.order("o1");
    assert_eq!(order.refunded_amount, yuan("10.00"));
    assert_eq!(order.status, payport_domain::order::OrderStatus::Refunded);
}

/// Alipay confirms a refund whose order, read fresh, cannot count it (stored as fully
/// refunded already, by a bug or a hand edit): a broken state, reported as it is and
/// changing nothing, not a conflict to retry (which is only for the copies a caller
/// held).
#[tokio::test]
async fn a_success_its_fresh_order_cannot_count_is_a_broken_state_not_a_conflict() {
    let mut h = paid();
    h.openapi
        .expect_submit_refund()
        .times(1)
        .returning(|_| Err(GatewayError::Unknown("timeout".into())));
    let app = h.build();
    let refund = app.refunds.request(request("3.00")).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    let mut broken = app.store.order("o1");
    broken.refunded_amount = broken.total_amount;
    broken.status = payport_domain::order::OrderStatus::Refunded;
    app.store.put_order(broken.clone());
    let err = app
        .refunds
        .apply_result(&RefundResult {
            reference: RefundReference::OutRequestNo {
                out_trade_no: otn("o1"),
                out_request_no: refund.out_request_no.clone(),
            },
            outcome: RefundResultOutcome::Succeeded(RefundSuccess::default()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_STATE", "{err:?}");
    assert_eq!(app.store.order("o1"), broken);
    let still = app.refunds.get(&refund.refund_id).await.unwrap();
    assert_eq!(still.status, RefundStatus::Processing);
}
