//! Events: every status change hands exactly its events to the save that makes it (the
//! transactional outbox), and a save that keeps the status hands none.
//!
//! The use cases run on the memory store behind a [`Recorder`], which keeps every
//! save call: which call, each object with its status before and after, the events
//! handed with it, and whether it was stored. Each test asserts the calls its action
//! made, then [`Recorder::check`] holds all of them to the rules no path may break.
//!
//! - `orders`: payments, closes, finishes, late payments, through notifications,
//!   syncs and returns.
//! - `refunds`: reservation, approval, rejection, the operator's flows, settling.
//! - `quiet`: saves that keep the status, and so hand no event.
//! - `races`: saves that conflict and are retried.

mod orders;
mod quiet;
mod races;
mod recorder;
mod refunds;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::notifications::{incoming, notice, verifies_as};
use crate::support::*;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::order::Order;
use payport_domain::refund::Refund;
pub(crate) use recorder::{record, Call, Recorder};

/// When the action under test runs: after every fixture's own dates, so that an
/// event dated anything but the clock's now shows.
fn later() -> DateTime<Utc> {
    t0() + Duration::minutes(7)
}

/// A harness with `orders` stored as they are, its saves recorded, its clock at
/// [`later`].
fn recorded(orders: impl IntoIterator<Item = Order>) -> (Harness, Arc<Recorder>) {
    let mut h = Harness::new();
    for order in orders {
        h.store.put_order(order);
    }
    *h.now.lock().unwrap() = later();
    let recorder = record(&mut h);
    (h, recorder)
}

/// What a trade notification with `status` for `order` (10.00, "o1") saves.
async fn notified(order: Order, status: AlipayTradeStatus) -> Vec<(Call, Vec<String>)> {
    let (mut h, rec) = recorded([order]);
    verifies_as(&mut h, notice(status));
    let app = h.build();
    app.notifications
        .handle_trade_notification(&incoming("n"))
        .await
        .unwrap();
    rec.check(&app);
    rec.stored_since(0)
}

/// Alipay's trade notification, verified, that refund "r1" of 1.00 succeeded.
fn notifies_refund_r1(h: &mut Harness) {
    let mut n = notice(AlipayTradeStatus::TradeSuccess);
    n.out_biz_no = Some("r1".into());
    n.refund_fee = Some(yuan("1.00"));
    verifies_as(h, n);
}

/// Order "o1" paid; Alipay answers refunds with success, and its notification says
/// refund "r1" succeeded.
fn answered_and_notified() -> (Harness, Arc<Recorder>) {
    let (mut h, rec) = recorded([paid_order("o1", "10.00")]);
    h.openapi
        .expect_submit_refund()
        .returning(|_| crate::refunds::succeeded("1.00"));
    notifies_refund_r1(&mut h);
    (h, rec)
}

/// Asks for refund "r1" of 1.00 of order "o1".
async fn request_r1(app: &Built) -> Refund {
    let mut r = crate::refunds::request("1.00");
    r.out_request_no = Some(orn("r1"));
    app.refunds.request(r).await.unwrap()
}

/// What the save that settles refund "rf_1", the first of order "o1", hands.
const FIRST_REFUND_SETTLED: [&str; 2] = ["refund.succeeded rf_1", "order.partially_refunded o1"];

fn events(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}
