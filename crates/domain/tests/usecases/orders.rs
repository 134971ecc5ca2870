use std::sync::Arc;

use chrono::Duration;

use super::support::*;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::error::{GatewayError, RepoError};
use payport_domain::order::OrderStatus;
use payport_domain::ports::*;
use payport_domain::usecases::{NewOrder, ServiceError};

fn new_order(subject: &str) -> NewOrder {
    NewOrder {
        out_trade_no: None,
        subject: subject.into(),
        body: None,
        total_amount: yuan("88.88"),
        time_to_pay: None,
    }
}

pub(crate) fn snapshot(status: AlipayTradeStatus, total: &str) -> TradeLookup {
    TradeLookup::Found(TradeSnapshot {
        status,
        trade_no: trade_no("2026112122001"),
        total_amount: yuan(total),
        buyer_id: Some("2088000000000009".into()),
        buyer_logon_id: Some("b***@example.com".into()),
        paid_at: Some(t0() + Duration::minutes(2)),
    })
}

#[tokio::test]
async fn create_makes_a_pending_order_with_a_fresh_number_and_expiry() {
    let app = Harness::new().build();
    let order = app.orders.create(new_order("Green tea")).await.unwrap();
    assert_eq!(order.out_trade_no.as_str(), "pp1");
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.total_amount.to_string(), "88.88");
    assert_eq!(order.expires_at, t0() + Duration::minutes(30));
    assert_eq!(app.store.order("pp1"), order);
}

#[tokio::test]
async fn create_keeps_the_merchants_number_and_refuses_it_twice() {
    let app = Harness::new().build();
    let mut request = new_order("Tea");
    request.out_trade_no = Some(otn("shop_1"));
    request.time_to_pay = Some(Duration::hours(2));
    let order = app.orders.create(request.clone()).await.unwrap();
    assert_eq!(order.expires_at, t0() + Duration::hours(2));
    let err = app.orders.create(request).await.unwrap_err();
    assert_eq!(err.code(), "ORDER_ALREADY_EXISTS");
}

#[tokio::test]
async fn create_validates_and_stores_nothing_on_bad_input() {
    let app = Harness::new().build();
    let too_long = "x".repeat(257);
    for (subject, body, time) in [
        ("  ", None, None),
        (too_long.as_str(), None, None),
        ("tab\there", None, None),
        ("ok", Some("y".repeat(129)), None),
        ("ok", None, Some(Duration::seconds(30))),
        ("ok", None, Some(Duration::days(16))),
    ] {
        let mut request = new_order(subject);
        request.body = body;
        request.time_to_pay = time;
        let err = app.orders.create(request).await.unwrap_err();
        assert_eq!(err.code(), "VALIDATION_FAILED", "{err}");
    }
    assert!(app.store.orders.lock().unwrap().is_empty());
}

#[tokio::test]
async fn create_reports_storage_failure() {
    let mut h = Harness::new();
    let mut orders = MockOrderRepository::new();
    orders
        .expect_insert()
        .returning(|_| Err(RepoError::Unavailable("disk full".into())));
    h.orders_override = Some(Arc::new(orders));
    let err = h.build().orders.create(new_order("Tea")).await.unwrap_err();
    assert_eq!(err.code(), "STORAGE_UNAVAILABLE");
}

#[tokio::test]
async fn get_unknown_order_is_not_found() {
    let app = Harness::new().build();
    let err = app.orders.get(&otn("nope")).await.unwrap_err();
    assert_eq!(err, ServiceError::OrderNotFound(otn("nope")));
    assert_eq!(err.code(), "ORDER_NOT_FOUND");
}

#[tokio::test]
async fn start_payment_asks_the_gateway_and_remembers_the_return_url() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "9.90"));
    h.payments
        .expect_create_payment()
        .withf(|r| {
            r.method == PaymentMethod::Qr
                && r.out_trade_no.as_str() == "o1"
                && r.total_amount.to_string() == "9.90"
                && r.subject == "Green tea"
                && r.expires_at == t0() + Duration::minutes(30)
                && r.return_url.as_deref() == Some("https://shop.example/done")
        })
        .times(1)
        .returning(|_| Ok(PaymentInstruction::QrCode("https://qr.alipay.com/x".into())));
    let app = h.build();
    let got = app
        .orders
        .start_payment(
            &otn("o1"),
            PaymentMethod::Qr,
            Some("https://shop.example/done".into()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        got,
        PaymentInstruction::QrCode("https://qr.alipay.com/x".into())
    );
    assert_eq!(
        app.store.order("o1").return_url.as_deref(),
        Some("https://shop.example/done")
    );
}

#[tokio::test]
async fn start_payment_refuses_orders_that_cannot_be_paid_without_calling_alipay() {
    let mut h = Harness::new();
    let mut closed = pending_order("closed", "1.00");
    closed.close(t0()).unwrap();
    h.store.put_order(closed);
    h.store.put_order(paid_order("paid", "1.00"));
    h.store.put_order(pending_order("late", "1.00"));
    h.payments.expect_create_payment().never();
    let app = h.build();
    app.advance(Duration::minutes(31));
    for (id, code) in [
        ("closed", "ORDER_CLOSED"),
        ("paid", "INVALID_STATE"),
        ("late", "ORDER_EXPIRED"),
        ("missing", "ORDER_NOT_FOUND"),
    ] {
        let err = app
            .orders
            .start_payment(&otn(id), PaymentMethod::Page, None, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{id}");
    }
}

#[tokio::test]
async fn start_payment_passes_gateway_failures_on() {
    for (error, code) in [
        (
            GatewayError::Unknown("timeout".into()),
            "GATEWAY_UNAVAILABLE",
        ),
        (rejected("ACQ.TRADE_HAS_CLOSE"), "GATEWAY_REJECTED"),
        (GatewayError::Config("no key".into()), "GATEWAY_UNAVAILABLE"),
    ] {
        let mut h = Harness::new();
        h.store.put_order(pending_order("o1", "1.00"));
        h.payments
            .expect_create_payment()
            .returning(move |_| Err(error.clone()));
        let err = h
            .build()
            .orders
            .start_payment(&otn("o1"), PaymentMethod::Wap, None, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), code);
    }
}

#[tokio::test]
async fn sync_records_a_payment_alipay_confirms() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "5.00"));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(snapshot(AlipayTradeStatus::TradeSuccess, "5.00")));
    let order = h.build().orders.sync(&otn("o1")).await.unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.trade_no, Some(trade_no("2026112122001")));
    assert_eq!(order.paid_at, Some(t0() + Duration::minutes(2)));
    assert_eq!(order.buyer_id.as_deref(), Some("2088000000000009"));
}

#[tokio::test]
async fn sync_maps_every_trade_status() {
    for (status, expected) in [
        (AlipayTradeStatus::WaitBuyerPay, OrderStatus::Pending),
        (AlipayTradeStatus::TradeSuccess, OrderStatus::Paid),
        (AlipayTradeStatus::TradeClosed, OrderStatus::Closed),
        (AlipayTradeStatus::TradeFinished, OrderStatus::Finished),
    ] {
        let mut h = Harness::new();
        h.store.put_order(pending_order("o1", "5.00"));
        h.payments
            .expect_query_trade()
            .returning(move |_| Ok(snapshot(status, "5.00")));
        let app = h.build();
        let order = app.orders.sync(&otn("o1")).await.unwrap();
        assert_eq!(order.status, expected, "{status:?}");
        assert_eq!(app.store.order("o1"), order);
    }
}

#[tokio::test]
async fn sync_never_closes_a_paid_order_on_trade_closed() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "5.00"));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(snapshot(AlipayTradeStatus::TradeClosed, "5.00")));
    let order = h.build().orders.sync(&otn("o1")).await.unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
}

#[tokio::test]
async fn sync_records_a_payment_after_a_local_close_and_flags_it() {
    let mut h = Harness::new();
    let mut order = pending_order("o1", "5.00");
    order.close(t0()).unwrap();
    h.store.put_order(order);
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(snapshot(AlipayTradeStatus::TradeSuccess, "5.00")));
    let order = h.build().orders.sync(&otn("o1")).await.unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    assert!(order.paid_after_close);
}

#[tokio::test]
async fn sync_leaves_the_order_alone_when_alipay_has_no_trade_or_no_answer() {
    for lookup in [
        Ok(TradeLookup::NotFound),
        Err(GatewayError::Unknown("timeout".into())),
        Err(GatewayError::BadSignature("forged".into())),
    ] {
        let mut h = Harness::new();
        h.store.put_order(pending_order("o1", "5.00"));
        let answer = lookup.clone();
        h.payments
            .expect_query_trade()
            .returning(move |_| answer.clone());
        let app = h.build();
        let result = app.orders.sync(&otn("o1")).await;
        if lookup.is_err() {
            assert_eq!(result.unwrap_err().code(), "GATEWAY_UNAVAILABLE");
        }
        assert_eq!(app.store.order("o1"), pending_order("o1", "5.00"));
    }
}

#[tokio::test]
async fn sync_refuses_a_trade_whose_amount_differs() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "5.00"));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(snapshot(AlipayTradeStatus::TradeSuccess, "0.01")));
    let app = h.build();
    let err = app.orders.sync(&otn("o1")).await.unwrap_err();
    assert_eq!(err.code(), "GATEWAY_DATA_MISMATCH");
    assert_eq!(app.store.order("o1").status, OrderStatus::Pending);
}

#[tokio::test]
async fn close_closes_at_alipay_then_locally() {
    for outcome in [CloseOutcome::Closed, CloseOutcome::NeverOpened] {
        let mut h = Harness::new();
        h.store.put_order(pending_order("o1", "5.00"));
        h.payments
            .expect_close_trade()
            .times(1)
            .returning(move |_| Ok(outcome));
        let order = h.build().orders.close(&otn("o1")).await.unwrap();
        assert_eq!(order.status, OrderStatus::Closed);
        assert_eq!(order.closed_at, Some(t0()));
    }
}

#[tokio::test]
async fn close_is_a_no_op_when_closed_and_refused_when_paid() {
    let mut h = Harness::new();
    let mut closed = pending_order("closed", "1.00");
    closed.close(t0()).unwrap();
    h.store.put_order(closed);
    h.store.put_order(paid_order("paid", "1.00"));
    h.payments.expect_close_trade().never();
    let app = h.build();
    assert_eq!(
        app.orders.close(&otn("closed")).await.unwrap().status,
        OrderStatus::Closed
    );
    let err = app.orders.close(&otn("paid")).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_STATE");
}

#[tokio::test]
async fn close_refused_by_alipay_because_paid_records_the_payment() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "5.00"));
    h.payments
        .expect_close_trade()
        .returning(|_| Err(rejected("ACQ.TRADE_STATUS_ERROR")));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(snapshot(AlipayTradeStatus::TradeSuccess, "5.00")));
    let app = h.build();
    let err = app.orders.close(&otn("o1")).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_STATE");
    assert_eq!(app.store.order("o1").status, OrderStatus::Paid);
}

#[tokio::test]
async fn close_refused_by_alipay_for_another_reason_changes_nothing() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "5.00"));
    h.payments
        .expect_close_trade()
        .returning(|_| Err(rejected("ACQ.INVALID_PARAMETER")));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(TradeLookup::NotFound));
    let app = h.build();
    let err = app.orders.close(&otn("o1")).await.unwrap_err();
    assert_eq!(err.code(), "GATEWAY_REJECTED");
    assert_eq!(app.store.order("o1").status, OrderStatus::Pending);
}

#[tokio::test]
async fn close_with_an_unknown_outcome_changes_nothing() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "5.00"));
    h.payments
        .expect_close_trade()
        .returning(|_| Err(GatewayError::Unknown("HTTP 502".into())));
    let app = h.build();
    let err = app.orders.close(&otn("o1")).await.unwrap_err();
    assert_eq!(err.code(), "GATEWAY_UNAVAILABLE");
    assert_eq!(app.store.order("o1").status, OrderStatus::Pending);
}

#[tokio::test]
async fn concurrent_update_conflicts_are_retried() {
    // The first save hits a conflict (another writer); the retry reloads and succeeds.
    let mut h = Harness::new();
    let store = h.store.clone();
    store.put_order(pending_order("o1", "5.00"));
    let mut orders = MockOrderRepository::new();
    let reader = store.clone();
    orders
        .expect_get()
        .returning(move |id| Ok(reader.orders.lock().unwrap().get(id).cloned()));
    let mut seq = mockall::Sequence::new();
    orders
        .expect_update()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Err(RepoError::Conflict("o1".into())));
    let writer = store.clone();
    orders
        .expect_update()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |o, _| {
            writer.put_order(o.clone());
            Ok(())
        });
    h.orders_override = Some(Arc::new(orders));
    h.payments
        .expect_query_trade()
        .returning(|_| Ok(snapshot(AlipayTradeStatus::TradeSuccess, "5.00")));
    let order = h.build().orders.sync(&otn("o1")).await.unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(store.order("o1").status, OrderStatus::Paid);
}

#[tokio::test]
async fn return_and_quit_urls_must_be_http_urls() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "1.00"));
    h.payments.expect_create_payment().never();
    let app = h.build();
    for (ret, quit) in [
        (Some("javascript:alert(1)"), None),
        (Some("data:text/html,hi"), None),
        (Some("//evil.example/"), None),
        (Some("https://"), None),
        (Some("https://shop.example/a b"), None),
        (None, Some("ftp://shop.example/")),
    ] {
        let err = app
            .orders
            .start_payment(
                &otn("o1"),
                PaymentMethod::Wap,
                ret.map(Into::into),
                quit.map(Into::into),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_FAILED", "{ret:?} {quit:?}");
    }
    assert_eq!(app.store.order("o1").return_url, None);
}

/// A payment started again without a return URL keeps the one given before: the
/// buyer still comes back to the shop.
#[tokio::test]
async fn start_payment_without_a_return_url_keeps_the_stored_one() {
    let mut h = Harness::new();
    let mut order = pending_order("o1", "9.90");
    order.return_url = Some("https://shop.example/done".into());
    h.store.put_order(order);
    h.payments
        .expect_create_payment()
        .returning(|_| Ok(PaymentInstruction::QrCode("https://qr.alipay.com/x".into())));
    let app = h.build();
    app.orders
        .start_payment(&otn("o1"), PaymentMethod::Qr, None, None)
        .await
        .unwrap();
    assert_eq!(
        app.store.order("o1").return_url.as_deref(),
        Some("https://shop.example/done")
    );
}
