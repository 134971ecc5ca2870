//! Payments whose notification never came: the check schedule, when a payment start
//! sets it, and what a check does with Alipay's answer.

use chrono::{DateTime, Duration, Utc};

use super::orders::snapshot;
use super::support::*;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::error::GatewayError;
use payport_domain::event::EventType;
use payport_domain::order::{Order, OrderStatus};
use payport_domain::payment_check::{default_offsets, first_check, next_check};
use payport_domain::ports::*;
use payport_domain::usecases::ServiceError;

fn secs(n: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(n)
}

/// Far enough that expiry plays no part.
fn never() -> DateTime<Utc> {
    t0() + Duration::days(15)
}

#[test]
fn checks_follow_the_offsets_then_repeat_the_last_gap() {
    let offsets = default_offsets();
    let next = |now: i64| next_check(&offsets, t0(), secs(now), never());
    assert_eq!(next(0), Some(secs(15)));
    assert_eq!(next(15), Some(secs(60)), "strictly after now");
    assert_eq!(next(61), Some(secs(120)));
    assert_eq!(next(300), Some(secs(600)));
    assert_eq!(next(600), Some(secs(1_800)));
    // After 30 minutes, the last gap (10 → 30 minutes) repeats.
    assert_eq!(next(1_800), Some(secs(3_000)));
    assert_eq!(next(3_000), Some(secs(4_200)));
    assert_eq!(next(4_000), Some(secs(4_200)));
    assert_eq!(next(100_000), Some(secs(100_200)));
}

#[test]
fn checks_stop_at_the_expiry_after_one_last_look() {
    let offsets = default_offsets();
    let expires = secs(100);
    assert_eq!(
        next_check(&offsets, t0(), secs(15), expires),
        Some(secs(60))
    );
    assert_eq!(
        next_check(&offsets, t0(), secs(60), expires),
        Some(expires),
        "the next point is past the expiry: one last check there"
    );
    assert_eq!(next_check(&offsets, t0(), expires, expires), None);
    assert_eq!(next_check(&offsets, t0(), secs(5_000), expires), None);
    assert_eq!(
        next_check(&[], t0(), secs(0), never()),
        None,
        "no schedule, no checks"
    );
}

#[test]
fn short_schedules_never_loop() {
    // One offset: its distance from the start repeats; zero gaps: a second apart.
    assert_eq!(
        next_check(&[Duration::seconds(10)], t0(), secs(25), never()),
        Some(secs(30))
    );
    assert_eq!(
        next_check(&[Duration::zero()], t0(), secs(0), never()),
        Some(secs(1))
    );
    let test_schedule = [Duration::zero(), Duration::seconds(1)];
    assert_eq!(
        next_check(&test_schedule, t0(), secs(7), never()),
        Some(secs(8))
    );
    assert_eq!(first_check(&test_schedule, secs(3), never()), Some(secs(3)));
    assert_eq!(
        first_check(&default_offsets(), secs(0), secs(10)),
        Some(secs(10)),
        "never after the expiry"
    );
}

fn paying(h: &mut Harness) {
    h.payments
        .expect_create_payment()
        .returning(|_| Ok(PaymentInstruction::QrCode("https://qr.alipay.com/x".into())));
}

#[tokio::test]
async fn the_first_payment_start_schedules_the_first_check_and_later_ones_keep_it() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "9.90"));
    paying(&mut h);
    let app = h.build();
    app.advance(Duration::minutes(2));
    let o1 = otn("o1");
    let start = || app.orders.start_payment(&o1, PaymentMethod::Qr, None, None);
    start().await.unwrap();
    let started = app.store.order("o1");
    let at = t0() + Duration::minutes(2);
    assert_eq!(started.payment_started_at, Some(at));
    assert_eq!(started.payment_check_at, Some(at + Duration::seconds(15)));
    assert_eq!(started.status, OrderStatus::Pending);
    assert!(app.store.events().is_empty(), "no status change, no event");

    app.advance(Duration::minutes(1));
    start().await.unwrap();
    assert_eq!(
        app.store.order("o1"),
        started,
        "a second start changes nothing"
    );

    // Checks that stopped start again with a new payment attempt.
    app.store
        .schedule_payment_check(&otn("o1"), None)
        .await
        .unwrap();
    start().await.unwrap();
    let again = app.store.order("o1");
    assert_eq!(again.payment_started_at, Some(at));
    assert_eq!(
        again.payment_check_at,
        Some(at + Duration::minutes(1) + Duration::seconds(15))
    );
}

/// A pending order whose payment started at [`t0`] and whose first check is due.
fn started_order(id: &str) -> Order {
    let mut order = pending_order(id, "5.00");
    order.payment_started_at = Some(t0());
    order.payment_check_at = Some(t0() + Duration::seconds(15));
    order
}

/// A started order checked when its first check is due, Alipay answering `answer`
/// once.
async fn first_check_answered(
    answer: Result<TradeLookup, GatewayError>,
) -> (Built, Result<Order, ServiceError>) {
    let mut h = Harness::new();
    h.store.put_order(started_order("o1"));
    h.payments
        .expect_query_trade()
        .times(1)
        .returning(move |_| answer.clone());
    let app = h.build();
    app.advance(Duration::seconds(15));
    let checked = app.orders.check_payment(&otn("o1")).await;
    (app, checked)
}

#[tokio::test]
async fn a_check_that_finds_the_payment_marks_the_order_paid_with_its_event() {
    let (app, checked) =
        first_check_answered(Ok(snapshot(AlipayTradeStatus::TradeSuccess, "5.00"))).await;
    let order = checked.unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.trade_no, Some(trade_no("2026112122001")));
    assert_eq!(order.payment_check_at, None, "no more checks");
    // Nor one scheduled after the save: the worker would ask about a paid order.
    assert_eq!(app.store.order("o1").payment_check_at, None);
    assert_eq!(app.store.order("o1"), order);
    let events = app.store.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::OrderPaid);
    assert_eq!(events[0].object_id, "o1");
}

#[tokio::test]
async fn no_trade_yet_or_no_answer_schedules_the_next_check() {
    for answer in [
        Ok(TradeLookup::NotFound),
        Ok(snapshot(AlipayTradeStatus::WaitBuyerPay, "5.00")),
        Err(GatewayError::Unknown("timeout".into())),
    ] {
        let (app, result) = first_check_answered(answer.clone()).await;
        if answer.is_err() {
            assert_eq!(result.unwrap_err().code(), "GATEWAY_UNAVAILABLE");
        }
        let order = app.store.order("o1");
        assert_eq!(order.status, OrderStatus::Pending, "{answer:?}");
        assert_eq!(
            order.payment_check_at,
            Some(t0() + Duration::minutes(1)),
            "{answer:?}"
        );
        assert!(app.store.events().is_empty());
    }
}

#[tokio::test]
async fn an_expired_order_gets_one_last_check_at_its_expiry_then_none() {
    let mut h = Harness::new();
    h.store.put_order(started_order("o1"));
    h.payments
        .expect_query_trade()
        .times(2)
        .returning(|_| Ok(TradeLookup::NotFound));
    let app = h.build();
    // The order expires at 30 minutes, the 30-minute point included.
    app.advance(Duration::minutes(29));
    app.orders.check_payment(&otn("o1")).await.unwrap();
    let expires_at = t0() + Duration::minutes(30);
    assert_eq!(app.store.order("o1").payment_check_at, Some(expires_at));
    app.advance(Duration::minutes(1));
    let order = app.orders.check_payment(&otn("o1")).await.unwrap();
    assert_eq!(
        order.status,
        OrderStatus::Pending,
        "expiry closes it, not the check"
    );
    assert_eq!(app.store.order("o1").payment_check_at, None);
}

#[tokio::test]
async fn an_amount_that_differs_stops_the_checks_and_is_reported() {
    let (app, checked) =
        first_check_answered(Ok(snapshot(AlipayTradeStatus::TradeSuccess, "0.01"))).await;
    let err = checked.unwrap_err();
    assert_eq!(err.code(), "GATEWAY_DATA_MISMATCH");
    let order = app.store.order("o1");
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.payment_check_at, None);
    assert!(app.store.events().is_empty());
}
