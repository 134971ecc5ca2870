//! Orders and refunds for the storage tests, at fixed instants in whole seconds (the
//! stores keep microseconds).

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use payport_domain::event::{EventSubject, EventType, NewEvent};
use payport_domain::order::PaymentConfirmation;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::{
    EventFilter, EventLog, EventObject, EventRenderer, OrderRepository, RefundRepository,
    StoredEvent,
};
use payport_domain::refund::NewRefund;
use payport_domain::{
    Amount, EventId, Order, OutRequestNo, OutTradeNo, Refund, RefundGatewayKind, RefundId, TradeNo,
};

/// A store seen through its two main ports (their method names overlap).
pub fn repos<S: OrderRepository + RefundRepository>(
    store: &S,
) -> (&dyn OrderRepository, &dyn RefundRepository) {
    (store, store)
}

/// A fixed instant plus `secs`.
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000 + secs, 0).expect("time")
}

pub fn fen(n: i64) -> Amount {
    Amount::from_fen(n).expect("amount")
}

pub fn no(text: &str) -> OutTradeNo {
    OutTradeNo::parse(text).expect("out_trade_no")
}

/// A pending order created at `at(0)`, paying window 30 minutes.
pub fn pending_order(out_trade_no: &str, total_fen: i64) -> Order {
    Order::new(
        no(out_trade_no),
        "Tea".into(),
        None,
        fen(total_fen),
        at(0),
        chrono::Duration::minutes(30),
    )
}

/// Alipay's word that the order was paid, at `at(60)`.
pub fn payment(out_trade_no: &str) -> PaymentConfirmation {
    PaymentConfirmation {
        trade_no: TradeNo::parse(format!("T{}", out_trade_no.replace('_', ""))).expect("trade_no"),
        paid_at: at(60),
        buyer_id: Some("2088000000000001".into()),
        buyer_logon_id: Some("b***@example.com".into()),
    }
}

pub fn paid_order(out_trade_no: &str, total_fen: i64) -> Order {
    let mut order = pending_order(out_trade_no, total_fen);
    order
        .confirm_payment(payment(out_trade_no), at(60))
        .expect("pay");
    order
}

/// Inserts a paid order and returns it as stored.
pub async fn insert_paid(
    orders: &dyn OrderRepository,
    out_trade_no: &str,
    total_fen: i64,
) -> Order {
    let order = paid_order(out_trade_no, total_fen);
    orders.insert(&order).await.expect("insert order");
    order
}

pub fn new_refund(out_trade_no: &str, out_request_no: &str, amount_fen: i64) -> NewRefund {
    NewRefund {
        refund_id: RefundId::parse(format!("rf_{out_trade_no}_{out_request_no}"))
            .expect("refund_id"),
        out_trade_no: no(out_trade_no),
        out_request_no: OutRequestNo::parse(out_request_no).expect("out_request_no"),
        amount: fen(amount_fen),
        reason: Some("damaged".into()),
        gateway: RefundGatewayKind::OpenApi,
        approval: ApprovalPolicy::Auto,
        created_at: at(100),
        send_at_once: None,
    }
}

/// Reserves 1 fen per `(order, request)`, one second apart from `at(100)` in the given
/// order; the requests named in `manual` wait for approval.
pub async fn reserve_in_turn(
    refunds: &dyn RefundRepository,
    requests: &[(&str, &str)],
    manual: &[&str],
) -> Vec<Refund> {
    let mut made = Vec::new();
    for (secs, (order, request)) in (100..).zip(requests) {
        let mut new = new_refund(order, request, 100);
        new.created_at = at(secs);
        if manual.contains(request) {
            new.approval = ApprovalPolicy::Manual;
        }
        made.push(refunds.reserve(&new, &crate::event_id()).await.unwrap());
    }
    made
}

/// Reserves a refund and moves it to `processing` with the given `next_sync_at`.
pub async fn processing_refund(
    refunds: &dyn RefundRepository,
    out_trade_no: &str,
    out_request_no: &str,
    next_sync_at: Option<DateTime<Utc>>,
) -> Refund {
    let mut refund = refunds
        .reserve(
            &new_refund(out_trade_no, out_request_no, 1),
            &crate::event_id(),
        )
        .await
        .expect("reserve");
    refund.start_submission(at(110)).expect("submit");
    refund.next_sync_at = next_sync_at;
    refunds.update(&refund, &[]).await.expect("save processing");
    refund.version += 1;
    refund
}

/// Renders what the store showed it: `<type> <object_id> <status> v<version>`, and
/// for an order ` refunds=<how many>`, so a test can see that the body was made from
/// the object as stored after the change.
pub struct TestRenderer;

impl EventRenderer for TestRenderer {
    fn render(&self, event: &NewEvent, object: EventObject<'_>) -> String {
        let head = format!(
            "{} {}",
            event.event_type.as_str(),
            event.subject.object_id()
        );
        match object {
            EventObject::Order { order, refunds } => format!(
                "{head} {} v{} refunds={}",
                order.status.as_str(),
                order.version,
                refunds.len()
            ),
            EventObject::Refund(refund) => {
                format!("{head} {} v{}", refund.status.as_str(), refund.version)
            }
        }
    }
}

/// An event about the order or refund `object_id`, at `at(500)`.
pub fn event(event_type: EventType, object_id: &str) -> NewEvent {
    let subject = if event_type.is_about_orders() {
        EventSubject::Order(no(object_id))
    } else {
        EventSubject::Refund(RefundId::parse(object_id).expect("refund_id"))
    };
    NewEvent {
        id: crate::event_id(),
        event_type,
        subject,
        created_at: at(500),
    }
}

/// Closes a new order `no` with an `order.closed` event (written at `at(500)`); its id.
pub async fn close_order<S: OrderRepository + ?Sized>(store: &S, no: &str) -> EventId {
    let pending = pending_order(no, 100);
    store.insert(&pending).await.expect("insert order");
    let mut closed = pending;
    closed.close(at(10)).expect("close");
    let closed_event = event(EventType::OrderClosed, no);
    store
        .update(&closed, std::slice::from_ref(&closed_event))
        .await
        .expect("save closed order");
    closed_event.id
}

/// Pays the order `no` that [`close_order`] closed, with an `order.paid` event.
pub async fn pay_closed_order<S: OrderRepository + ?Sized>(store: &S, no: &str) -> EventId {
    let mut paid = store
        .get(&self::no(no))
        .await
        .expect("read order")
        .expect("the order");
    paid.confirm_payment(payment(no), at(20)).expect("pay");
    let paid_event = event(EventType::OrderPaid, no);
    store
        .update(&paid, std::slice::from_ref(&paid_event))
        .await
        .expect("save paid order");
    paid_event.id
}

/// Every stored event, oldest first.
///
/// Read until two reads a moment apart agree. PostgreSQL lists only events older
/// than every transaction that may still write one, and a transaction of another
/// database (another test's) that ends just as the list is read can hold that bound
/// back for that read: the events are listed a moment later, as documented, but a
/// test that lists right after writing would see them missing.
pub async fn all_events<S: EventLog + ?Sized>(store: &S) -> Vec<StoredEvent> {
    let filter = EventFilter {
        limit: 500,
        ..EventFilter::default()
    };
    let list = async || store.list_events(&filter).await.expect("list events").items;
    let mut listed = list().await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let again = list().await;
        if again == listed {
            return listed;
        }
        listed = again;
    }
}

/// The bodies of every stored event, oldest first.
pub async fn bodies<S: EventLog + ?Sized>(store: &S) -> Vec<String> {
    all_events(store)
        .await
        .into_iter()
        .map(|e| e.body)
        .collect()
}

/// A small xorshift generator, seeded per run (the seed is printed).
pub struct Rng(u64);

impl Rng {
    pub fn from_time() -> Rng {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(1))
            .unwrap_or(1)
            | 1;
        eprintln!("rng seed {seed}");
        Rng(seed)
    }

    /// Uniform enough in `1..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max + 1
    }
}
