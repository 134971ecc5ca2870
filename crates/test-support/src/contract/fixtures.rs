//! Orders and refunds for the storage tests, at fixed instants in whole seconds (the
//! stores keep microseconds).

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use payport_domain::order::PaymentConfirmation;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::{OrderRepository, RefundRepository};
use payport_domain::refund::NewRefund;
use payport_domain::{
    Amount, Order, OutRequestNo, OutTradeNo, Refund, RefundGatewayKind, RefundId, TradeNo,
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

pub fn paid_order(out_trade_no: &str, total_fen: i64) -> Order {
    let mut order = pending_order(out_trade_no, total_fen);
    order
        .confirm_payment(
            PaymentConfirmation {
                trade_no: TradeNo::parse(format!("T{}", out_trade_no.replace('_', "")))
                    .expect("trade_no"),
                paid_at: at(60),
                buyer_id: Some("2088000000000001".into()),
                buyer_logon_id: Some("b***@example.com".into()),
            },
            at(60),
        )
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
    }
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
