//! Test doubles: mockall mocks for gateways, clock and ids, and the shared in-memory
//! store (`payport_test_support::MemoryStore`, held to the same contract suite as the
//! Diesel store), which also records every status a refund is saved with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};

use payport_domain::ids::{AppId, EventId, OutRequestNo, OutTradeNo, RefundId, SellerId, TradeNo};
use payport_domain::money::Amount;
use payport_domain::order::{Order, PaymentConfirmation};
use payport_domain::ports::*;
use payport_domain::usecases::{
    MerchantIdentity, Notifications, Orders, Ports, Reconciliations, Refunds, Settings,
};
pub use payport_test_support::MemoryStore;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap()
}

pub fn yuan(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

pub fn otn(text: &str) -> OutTradeNo {
    OutTradeNo::parse(text).unwrap()
}

pub fn orn(text: &str) -> OutRequestNo {
    OutRequestNo::parse(text).unwrap()
}

pub const APP_ID: &str = "2021000000000001";
pub const SELLER_ID: &str = "2088000000000001";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Mocks plus the memory store, assembled into use cases by [`Harness::build`].
pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub payments: MockPaymentGateway,
    /// The OpenAPI route: it sends refunds and queries them.
    pub openapi: MockRefundSubmitter,
    pub openapi_query: MockRefundQuery,
    /// A legacy route is configured when either of its parts is set; a part left
    /// unset is a mock that expects nothing.
    pub mapi_nopwd: Option<MockRefundSubmitter>,
    pub mapi_nopwd_batches: Option<MockRefundBatches>,
    pub mapi_pwd: Option<MockRefundSubmitter>,
    pub mapi_pwd_batches: Option<MockRefundBatches>,
    /// The verifier of legacy refund notifications.
    pub refund_notifications: Option<MockRefundNotificationVerifier>,
    pub now: Arc<Mutex<DateTime<Utc>>>,
    pub settings: Settings,
    /// Replaces the store's order repository (for storage failure tests).
    pub orders_override: Option<Arc<dyn OrderRepository>>,
    pub refunds_override: Option<Arc<dyn RefundRepository>>,
    pub inbox_override: Option<Arc<dyn NotificationInbox>>,
    /// Replaces the mocked OpenAPI route (for stateful fakes).
    pub openapi_override: Option<RefundRoute>,
    /// Alipay's daily bills, for reconciliation.
    pub bills: MockTradeBills,
}

pub struct Built {
    pub orders: Orders,
    pub refunds: Refunds,
    pub notifications: Notifications,
    pub reconciliations: Reconciliations,
    pub store: Arc<MemoryStore>,
    pub now: Arc<Mutex<DateTime<Utc>>>,
    /// Every event id the id source issued, in order.
    pub event_ids: Arc<Mutex<Vec<EventId>>>,
}

impl Built {
    pub fn advance(&self, by: Duration) {
        let mut now = lock(&self.now);
        *now += by;
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness {
            store: Arc::new(MemoryStore::default()),
            payments: MockPaymentGateway::new(),
            openapi: MockRefundSubmitter::new(),
            openapi_query: MockRefundQuery::new(),
            mapi_nopwd: None,
            mapi_nopwd_batches: None,
            mapi_pwd: None,
            mapi_pwd_batches: None,
            refund_notifications: None,
            now: Arc::new(Mutex::new(t0())),
            settings: Settings::new(MerchantIdentity {
                app_id: AppId::parse(APP_ID).unwrap(),
                seller_id: Some(SellerId::parse(SELLER_ID).unwrap()),
            }),
            orders_override: None,
            refunds_override: None,
            inbox_override: None,
            openapi_override: None,
            bills: MockTradeBills::new(),
        }
    }

    pub fn build(self) -> Built {
        let refund_gateways = RefundGateways {
            openapi: Some(self.openapi_override.unwrap_or_else(|| {
                RefundRoute::new(Arc::new(self.openapi)).with_query(Arc::new(self.openapi_query))
            })),
            mapi_nopwd: legacy_route(self.mapi_nopwd, self.mapi_nopwd_batches),
            mapi_pwd: legacy_route(self.mapi_pwd, self.mapi_pwd_batches),
            notifications: self
                .refund_notifications
                .map(|v| Arc::new(v) as Arc<dyn RefundNotificationVerifier>),
        };
        let mut clock = MockClock::new();
        let now = self.now.clone();
        clock.expect_now().returning(move || *lock(&now));
        let mut ids = MockIdSource::new();
        let counter = Arc::new(AtomicU64::new(0));
        let next = move || counter.fetch_add(1, Ordering::SeqCst) + 1;
        let n1 = next.clone();
        let n2 = next.clone();
        ids.expect_out_trade_no()
            .returning(move || OutTradeNo::parse(format!("pp{}", n1())).unwrap());
        ids.expect_refund_id()
            .returning(move || RefundId::parse(format!("rf_{}", n2())).unwrap());
        ids.expect_out_request_no()
            .returning(move || OutRequestNo::parse(format!("rq{}", next())).unwrap());
        // A sequence of their own, so that events never shift the other ids tests name;
        // kept, so that tests can tell that an event's id is one freshly issued.
        let event_ids = Arc::new(Mutex::new(Vec::new()));
        let issued = event_ids.clone();
        ids.expect_event_id().returning(move || {
            let mut issued = lock(&issued);
            let id = EventId::parse(format!("evt_{}", issued.len() + 1)).unwrap();
            issued.push(id.clone());
            id
        });
        let ports = Ports {
            orders: self.orders_override.unwrap_or_else(|| self.store.clone()),
            refunds: self.refunds_override.unwrap_or_else(|| self.store.clone()),
            inbox: self.inbox_override.unwrap_or_else(|| self.store.clone()),
            work: self.store.clone(),
            payments: Arc::new(self.payments),
            refund_gateways,
            clock: Arc::new(clock),
            ids: Arc::new(ids),
        };
        let settings = Arc::new(self.settings);
        Built {
            orders: Orders::new(ports.clone(), settings.clone()),
            refunds: Refunds::new(ports.clone(), settings.clone()),
            notifications: Notifications::new(ports.clone(), settings.clone()),
            reconciliations: Reconciliations::new(
                ports,
                settings,
                self.store.clone(),
                Arc::new(self.bills),
            ),
            store: self.store,
            now: self.now,
            event_ids,
        }
    }
}

/// A legacy route (no query) from its mocked parts, when any is set.
fn legacy_route(
    submit: Option<MockRefundSubmitter>,
    batches: Option<MockRefundBatches>,
) -> Option<RefundRoute> {
    if submit.is_none() && batches.is_none() {
        return None;
    }
    let route = RefundRoute::new(Arc::new(submit.unwrap_or_default()));
    Some(match batches {
        Some(batches) => route.with_batches(Arc::new(batches)),
        None => route,
    })
}

/// A legacy no-password route that accepts every refund into `batch` and leaves its
/// outcome to Alipay's notification.
pub fn accepting(batch: &str) -> MockRefundSubmitter {
    let batch_no = payport_domain::ids::BatchNo::parse(batch).unwrap();
    let mut nopwd = MockRefundSubmitter::new();
    nopwd.expect_submit_refund().returning(move |_| {
        Ok(RefundSubmitted::Accepted {
            batch_no: Some(batch_no.clone()),
        })
    });
    nopwd
}

/// A pending order created at [`t0`], payable for 30 minutes.
pub fn pending_order(id: &str, total: &str) -> Order {
    Order::new(
        otn(id),
        "Green tea".into(),
        None,
        yuan(total),
        t0(),
        Duration::minutes(30),
    )
}

pub fn trade_no(text: &str) -> TradeNo {
    TradeNo::parse(text).unwrap()
}

/// An order paid one minute after [`t0`] as Alipay trade `T<id>`.
pub fn paid_order(id: &str, total: &str) -> Order {
    let mut order = pending_order(id, total);
    order
        .confirm_payment(
            PaymentConfirmation {
                trade_no: trade_no(&format!("T{id}")),
                paid_at: t0() + Duration::minutes(1),
                buyer_id: None,
                buyer_logon_id: None,
            },
            t0() + Duration::minutes(1),
        )
        .unwrap();
    order
}

pub fn rejected(sub_code: &str) -> payport_domain::error::GatewayError {
    payport_domain::error::GatewayError::Rejected(payport_domain::refund::GatewayFailure {
        code: "40004".into(),
        sub_code: Some(sub_code.into()),
        message: "Business Failed".into(),
    })
}
